//! `docs/configuration.md` carries exactly the reference generated from the settings table, and
//! the poller's defaults (from the same table) are accepted.

use sesload_core::config::settings;

#[test]
fn configuration_doc_matches_the_settings_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");
    let doc = std::fs::read_to_string(path).expect("docs/configuration.md exists");
    let reference = settings::reference_markdown();
    assert!(
        doc.contains(&reference),
        "docs/configuration.md is out of date; replace its generated reference with:\n\n{reference}"
    );
}

fn required(k: &str) -> Option<String> {
    match k {
        "QUEUE_URL" | "DLQ_URL" => Some("https://sqs.eu-west-1.amazonaws.com/1/q".into()),
        "CUSTOMERS_TABLE" | "LEDGER_TABLE" | "CONTROL_TABLE" => Some("t".into()),
        _ => None,
    }
}

#[test]
fn every_default_is_accepted() {
    // only the required variables set: defaults must validate
    let c = sesload_core::PollerConfig::from_lookup(required).unwrap();
    assert!(c.processor.idempotency_enabled);
    assert_eq!(
        c.processor.policy.allowed_recipient_domains,
        vec!["simulator.amazonses.com"]
    );
    // Setting a variable to the table's default changes nothing: the defaults the poller
    // applies are the table's.
    for s in settings::SETTINGS
        .iter()
        .filter(|s| s.read_by_function(settings::Function::Poller))
    {
        let (Some(name), settings::Default::Value(v)) = (s.env, s.default) else {
            continue;
        };
        if v.is_empty() {
            continue;
        }
        let explicit = sesload_core::PollerConfig::from_lookup(|k| {
            if k == name {
                Some(v.to_string())
            } else {
                required(k)
            }
        });
        assert_eq!(
            explicit,
            Ok(c.clone()),
            "{name}={v:?} set explicitly differs from its default"
        );
    }
}

#[test]
fn every_missing_required_variable_is_named_at_once() {
    use sesload_core::config::ConfigError;
    let e = sesload_core::PollerConfig::from_lookup(|_| None).unwrap_err();
    assert_eq!(
        e,
        ConfigError::MissingSeveral {
            names: vec!["QUEUE_URL", "DLQ_URL", "CUSTOMERS_TABLE", "CONTROL_TABLE"]
        }
    );
    assert_eq!(
        e.to_string(),
        "QUEUE_URL, DLQ_URL, CUSTOMERS_TABLE, CONTROL_TABLE are required but not set"
    );
    let one = sesload_core::PollerConfig::from_lookup(|k| match k {
        "QUEUE_URL" | "DLQ_URL" | "CONTROL_TABLE" => {
            Some("https://sqs.eu-west-1.amazonaws.com/1/q".into())
        }
        _ => None,
    })
    .unwrap_err();
    assert_eq!(one.to_string(), "CUSTOMERS_TABLE is required but not set");
}

#[test]
fn every_guard_default_is_accepted() {
    use sesload_core::campaign::guardrail::GuardConfig;
    let control = |k: &str| (k == "CONTROL_TABLE").then(|| "control".to_string());
    let c = GuardConfig::from_lookup(control).unwrap();
    for s in settings::SETTINGS
        .iter()
        .filter(|s| s.read_by_function(settings::Function::Guard))
    {
        let (Some(name), settings::Default::Value(v)) = (s.env, s.default) else {
            continue;
        };
        let explicit = GuardConfig::from_lookup(|k| {
            if k == name {
                Some(v.into())
            } else {
                control(k)
            }
        });
        assert_eq!(
            explicit,
            Ok(c.clone()),
            "{name}={v:?} set explicitly differs from its default"
        );
    }
}
