use super::*;

#[test]
fn precedence_file_env_flags() {
    let dir = std::env::temp_dir().join(format!("sesload-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("sesload.toml");
    std::fs::write(
        &p,
        "batch_size = 50\nmaximum_concurrency = 4\n[sim]\nmax_send_rate = 14\n",
    )
    .unwrap();
    let env = |k: &str| (k == "SESLOAD_MAXIMUM_CONCURRENCY").then(|| "8".to_string());
    let cfg = LocalConfig::load(
        Some(&p),
        true,
        env,
        &[
            ("sim.max_send_rate".into(), "200".into()),
            ("sim.latency.p50_ms".into(), "10.5".into()),
            ("allowed_recipient_domains".into(), "a.com, b.org".into()),
        ],
    )
    .unwrap();
    assert_eq!(cfg.batch_size, 50);
    assert_eq!(cfg.maximum_concurrency, 8);
    assert_eq!(
        cfg.sim.get("max_send_rate").unwrap().as_integer(),
        Some(200)
    );
    assert_eq!(cfg.allowed_recipient_domains, vec!["a.com", "b.org"]);
    let lat = cfg.sim.get("latency").and_then(|l| l.as_table()).unwrap();
    assert_eq!(lat.get("p50_ms").unwrap().as_float(), Some(10.5));
    assert_eq!(
        LocalConfig::sim_env_overrides(
            [("SESLOAD_SIM__LATENCY__P50_MS".to_string(), "3".to_string())].into_iter()
        ),
        vec![("sim.latency.p50_ms".to_string(), "3".to_string())]
    );
    let pc = cfg.poller_config().unwrap();
    assert_eq!(pc.processor.maximum_concurrency, 8);
}

#[test]
fn keys_and_defaults_are_the_settings_tables() {
    // Every field but `sim` is a key of the table, and every key of the table a field.
    let with_override = LocalConfig {
        ses_max_send_rate_override: Some(5.0),
        ..LocalConfig::default()
    };
    let fields: Vec<String> = toml::Table::try_from(&with_override)
        .unwrap()
        .keys()
        .filter(|k| *k != "sim")
        .cloned()
        .collect();
    let mut want: Vec<String> = keys().map(str::to_string).collect();
    let mut got = fields.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    // The defaults are the table's local defaults, overrides included.
    let d = LocalConfig::default();
    assert_eq!(d.batch_size, 100);
    assert_eq!(d.max_receive_count, 10);
    assert_eq!(d.configuration_set_name, "load-test-config");
    assert_eq!(d.sender_identity, "example.com");
    assert_eq!(d.park_base_delay_seconds, 10);
    assert_eq!(d.park_max_delay_seconds, 900);
    assert_eq!(d.ses_max_send_rate_override, None);
    assert!(d.validate().is_ok());
    assert_eq!(
        LocalConfig::load(None, false, |_| None, &[]).unwrap(),
        d,
        "no file, no env, no flags = the defaults"
    );
}

#[test]
fn poller_env_is_the_tables_env_vars() {
    let cfg = LocalConfig {
        park_base_delay_seconds: 3,
        allowed_recipient_domains: vec!["a.com".into(), "b.org".into()],
        ..LocalConfig::default()
    };
    let env = cfg.poller_env();
    for s in SETTINGS
        .iter()
        .filter(|s| s.read_by_function(Function::Poller))
    {
        let Some(name) = s.env else { continue };
        assert_eq!(
            env.contains_key(name),
            s.local != Local::Absent,
            "{name}: set locally iff the table gives the local stack a value"
        );
    }
    assert_eq!(env["CONTROL_TABLE"], "control");
    assert_eq!(env["CONFIGURATION_SET_NAME"], "load-test-config");
    assert_eq!(env["PARK_BASE_DELAY_SECONDS"], "3");
    assert_eq!(env["PARK_MAX_DELAY_SECONDS"], "900");
    assert_eq!(env["ALLOWED_RECIPIENT_DOMAINS"], "a.com,b.org");
    assert_eq!(env["TARGET_UTILISATION"], "0.98");
    assert_eq!(env["SES_MAX_SEND_RATE_OVERRIDE"], "");
    let pc = cfg.poller_config().unwrap();
    assert_eq!(pc.processor.park_base_delay, Duration::from_secs(3));
    assert_eq!(
        pc.processor.default_configuration_set.as_deref(),
        Some("load-test-config")
    );
    assert_eq!(pc.control_table, "control");
    // 0 means "ask GetAccount" locally.
    let zero = LocalConfig::load(
        None,
        false,
        |_| None,
        &[("ses_max_send_rate_override".into(), "0".into())],
    )
    .unwrap();
    assert_eq!(
        zero.poller_config().unwrap().processor.rate_source,
        sesload_core::RateSource::Account
    );
    let fixed = LocalConfig::load(
        None,
        false,
        |k| (k == "SESLOAD_SES_MAX_SEND_RATE_OVERRIDE").then(|| "50".to_string()),
        &[],
    )
    .unwrap();
    assert_eq!(
        fixed.poller_config().unwrap().processor.rate_source,
        sesload_core::RateSource::Fixed(50.0)
    );
}

#[test]
fn sender_identity_is_verified_and_sends() {
    let d = LocalConfig::default();
    assert_eq!(d.sender_address(), "sender@example.com");
    assert_eq!(
        d.sim_table()["verified_identities"],
        toml::Value::Array(vec!["example.com".into()])
    );
    let addr = LocalConfig {
        sender_identity: "ops@mail.test".into(),
        ..LocalConfig::default()
    };
    assert_eq!(addr.sender_address(), "ops@mail.test");
    assert!(addr.warnings().is_empty());
    // An explicit [sim] list wins, and a sender it does not verify is said at start.
    let mut unverified = addr.clone();
    unverified.sim.insert(
        "verified_identities".into(),
        toml::Value::Array(vec!["example.com".into()]),
    );
    assert_eq!(
        unverified.sim_table()["verified_identities"],
        toml::Value::Array(vec!["example.com".into()])
    );
    let w = unverified.warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("sender_identity = \"ops@mail.test\""),
        "{w:?}"
    );
    let mut domain = addr;
    domain.sim.insert(
        "verified_identities".into(),
        toml::Value::Array(vec!["MAIL.test".into()]),
    );
    assert!(
        domain.warnings().is_empty(),
        "the domain verifies the address"
    );
}

#[test]
fn bad_values_name_the_key() {
    let err =
        LocalConfig::load(None, false, |_| None, &[("batch_size".into(), "0".into())]).unwrap_err();
    assert!(err.to_string().contains("batch_size = 0"), "{err}");
    let err =
        LocalConfig::load(None, false, |_| None, &[("batchsize".into(), "3".into())]).unwrap_err();
    assert!(
        err.to_string().contains("unknown key \"batchsize\""),
        "{err}"
    );
    let err = LocalConfig::load(
        None,
        false,
        |_| None,
        &[("maximum_concurrency".into(), "lots".into())],
    )
    .unwrap_err();
    assert!(err.to_string().contains("maximum_concurrency"), "{err}");
    let short = LocalConfig {
        visibility_timeout_seconds: 10,
        ..LocalConfig::default()
    };
    assert!(short.validate().is_ok());
    assert!(short.warnings()[0].contains("visibility_timeout_seconds = 10"));
    assert!(LocalConfig::default().warnings().is_empty());
    let err = LocalConfig::load(
        None,
        false,
        |_| None,
        &[("function_timeout_seconds".into(), "0".into())],
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("function_timeout_seconds = 0"),
        "{err}"
    );
    for (key, value, says) in [
        (
            "park_max_delay_seconds",
            "901",
            "park_max_delay_seconds = 901 must be in 1..=900",
        ),
        (
            "park_base_delay_seconds",
            "0",
            "park_base_delay_seconds = 0 must be in 1..=900",
        ),
        (
            "target_utilisation",
            "1.5",
            "target_utilisation = 1.5 must be in (0, 1]",
        ),
        (
            "retry_max_delay_seconds",
            "1",
            "retry_max_delay_seconds = 1 must be >= retry_base_delay_seconds = 2",
        ),
        (
            "park_max_delay_seconds",
            "5",
            "park_max_delay_seconds = 5 must be >= park_base_delay_seconds = 10",
        ),
        (
            "send_concurrency",
            "0",
            "send_concurrency = 0 must be in 1..=1024",
        ),
        (
            "send_api",
            "batch",
            "unknown variant `batch`, expected `single` or `bulk`",
        ),
    ] {
        let err =
            LocalConfig::load(None, false, |_| None, &[(key.into(), value.into())]).unwrap_err();
        assert!(err.to_string().contains(says), "{key}={value}: {err}");
    }
    let err =
        LocalConfig::load(None, false, |_| None, &[("sender".into(), "a@b.c".into())]).unwrap_err();
    assert!(err.to_string().contains("unknown key \"sender\""), "{err}");
}

#[test]
fn guardrails_take_the_keys_and_the_tables_defaults() {
    let d = LocalConfig::default();
    assert!(d.guardrail_enabled);
    assert_eq!(
        d.guardrail_settings().unwrap(),
        GuardrailSettings::default()
    );
    let cfg = LocalConfig::load(
        None,
        false,
        |k| (k == "SESLOAD_GUARDRAIL_MIN_SENDS").then(|| "40".to_string()),
        &[
            ("guardrail_bounce_rate".into(), "0.1".into()),
            ("guardrail_window_minutes".into(), "5".into()),
        ],
    )
    .unwrap();
    let g = cfg.guardrail_settings().unwrap();
    assert_eq!(
        (
            g.bounce_rate,
            g.complaint_rate,
            g.min_sends,
            g.window_minutes()
        ),
        (0.1, 0.001, 40, 5)
    );
    assert!(!cfg.poller_env().contains_key("GUARDRAIL_BOUNCE_RATE"));
    let err = LocalConfig::load(
        None,
        false,
        |_| None,
        &[("guardrail_complaint_rate".into(), "2".into())],
    )
    .unwrap_err();
    assert!(err.to_string().contains("must be in (0, 1]"), "{err}");
}
