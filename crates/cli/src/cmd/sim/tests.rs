use super::*;
use clap::Parser;

#[derive(Parser)]
struct T {
    #[command(flatten)]
    a: Args,
}

#[test]
fn flags_override_file_which_overrides_defaults() {
    let dir = std::env::temp_dir().join(format!("sesload-sim-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("s.toml");
    std::fs::write(&f, "batch_size = 3\n[sim]\nmax_send_rate = 50\nsandbox = true\n[sim.latency]\np50_ms = 5\np99_ms = 9\n").unwrap();
    let t = T::try_parse_from([
        "x",
        "--config",
        f.to_str().unwrap(),
        "--latency-p99-ms",
        "20",
        "--max-24-hour-send",
        "-1",
        "--data-dir",
        "/tmp/d",
    ])
    .unwrap();
    let c = build_config(&t.a).unwrap();
    assert_eq!(c.effective_max_send_rate(), 50.0);
    assert_eq!(c.effective_max_24_hour_send(), -1);
    assert!(c.sandbox);
    assert_eq!((c.latency.p50_ms, c.latency.p99_ms), (5.0, 20.0));
    assert_eq!(c.events.lake_dir, Some(PathBuf::from("/tmp/d/lake")));
    std::fs::write(&f, "[sim]\nmax_sendrate = 50\n").unwrap();
    let t = T::try_parse_from(["x", "--config", f.to_str().unwrap()]).unwrap();
    let e = format!("{:#}", build_config(&t.a).unwrap_err());
    assert!(e.contains("max_sendrate"), "{e}");
    let t = T::try_parse_from([
        "x",
        "--config",
        f.to_str().unwrap(),
        "--fault-error-rate",
        "2",
    ]);
    assert!(t.is_ok());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bulk_flags_and_table() {
    let dir = std::env::temp_dir().join(format!("sesload-sim-bulk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("s.toml");
    std::fs::write(
        &f,
        "[sim]\nbulk_throttle = \"call\"\n[sim.latency]\nbulk_per_entry_ms = 7\n",
    )
    .unwrap();
    let parse = |extra: &[&str]| {
        let mut argv = vec!["x", "--config", f.to_str().unwrap(), "--no-lake"];
        argv.extend_from_slice(extra);
        build_config(&T::try_parse_from(argv).unwrap().a)
    };
    let c = parse(&["--latency-ms", "3"]).unwrap();
    assert_eq!(c.bulk_throttle, BulkRefusal::Call);
    assert_eq!(c.bulk_shared_errors, BulkRefusal::Call);
    assert_eq!(
        (
            c.latency.p50_ms,
            c.latency.p99_ms,
            c.latency.bulk_per_entry_ms
        ),
        (3.0, 3.0, 7.0)
    );
    let c = parse(&[
        "--bulk-throttle",
        "entries",
        "--bulk-shared-errors",
        "entries",
        "--bulk-per-entry-ms",
        "0",
        "--fault-entry-transient-failure-rate",
        "0.25",
        "--fault-entry-failure-rate",
        "0.5",
    ])
    .unwrap();
    assert_eq!(
        (c.bulk_throttle, c.bulk_shared_errors),
        (BulkRefusal::Entries, BulkRefusal::Entries)
    );
    assert_eq!(c.latency.bulk_per_entry_ms, 0.0);
    assert_eq!(
        (
            c.faults.entry_transient_failure_rate,
            c.faults.entry_failure_rate
        ),
        (0.25, 0.5)
    );
    let e = format!(
        "{:#}",
        parse(&[
            "--fault-entry-failure-rate",
            "0.9",
            "--fault-entry-transient-failure-rate",
            "0.2"
        ])
        .unwrap_err()
    );
    assert!(
        e.contains("entry_transient_failure_rate + entry_failure_rate"),
        "{e}"
    );
    assert!(T::try_parse_from(["x", "--bulk-throttle", "sometimes"]).is_err());
    std::fs::write(&f, "[sim]\nbulk_throttle = \"sometimes\"\n").unwrap();
    let e = format!("{:#}", parse(&[]).unwrap_err());
    assert!(e.contains("sometimes"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn regime_flags_and_permissions_table() {
    let dir = std::env::temp_dir().join(format!("sesload-sim-perm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("s.toml");
    std::fs::write(
        &f,
        "[sim]\ndaily_window_seconds = 60\naccount_suspended = true\n\
         [sim.permissions]\nidentities = [\"example.com\"]\ntemplates = [\"A\"]\n",
    )
    .unwrap();
    let parse = |extra: &[&str]| {
        let mut argv = vec!["x", "--config", f.to_str().unwrap(), "--no-lake"];
        argv.extend_from_slice(extra);
        build_config(&T::try_parse_from(argv).unwrap().a).unwrap()
    };
    let c = parse(&[]);
    assert_eq!(c.daily_window_seconds, 60);
    assert!(c.account_suspended && c.account_sending_enabled);
    assert_eq!(c.permissions.identities, Some(vec!["example.com".into()]));
    assert_eq!(c.permissions.templates, Some(vec!["A".into()]));
    assert_eq!(c.permissions.configuration_sets, None);
    let c = parse(&[
        "--daily-window-seconds",
        "2",
        "--account-sending-paused",
        "--allow-template",
        "",
        "--allow-configuration-set",
        "load-test-config",
        "--allow-configuration-set",
        "arn:aws:ses:*:*:configuration-set/x*",
        "--fault-drop-after-accept-rate",
        "0.25",
    ]);
    assert_eq!(c.daily_window_seconds, 2);
    assert!(!c.account_sending_enabled);
    assert_eq!(c.permissions.templates, Some(vec![]));
    assert_eq!(
        c.permissions
            .configuration_sets
            .as_deref()
            .map(<[String]>::len),
        Some(2)
    );
    assert_eq!(c.faults.drop_after_accept_rate, 0.25);
    assert_eq!(
        (c.bulk_throttle, c.bulk_shared_errors),
        (BulkRefusal::Entries, BulkRefusal::Call)
    );
    let t = T::try_parse_from([
        "x",
        "--config",
        f.to_str().unwrap(),
        "--daily-window-seconds",
        "0",
    ])
    .unwrap();
    let e = format!("{:#}", build_config(&t.a).unwrap_err());
    assert!(e.contains("daily_window_seconds"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}
