//! `docs/configuration.md` carries exactly the table generated from `ENV_VARS`.

#[test]
fn configuration_doc_matches_env_vars() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");
    let doc = std::fs::read_to_string(path).expect("docs/configuration.md exists");
    let table = sesload_core::config::env_var_reference_markdown();
    assert!(
        doc.contains(&table),
        "docs/configuration.md is out of date; replace its table with:\n\n{table}"
    );
}

#[test]
fn every_default_is_accepted() {
    // only the required variables set: defaults must validate
    let c = sesload_core::PollerConfig::from_lookup(|k| match k {
        "QUEUE_URL" | "DLQ_URL" => Some("https://sqs.eu-west-1.amazonaws.com/1/q".into()),
        "CUSTOMERS_TABLE" | "LEDGER_TABLE" => Some("t".into()),
        _ => None,
    })
    .unwrap();
    assert!(c.idempotency_enabled);
    assert_eq!(c.allowed_recipient_domains, vec!["simulator.amazonses.com"]);
}

#[test]
fn every_missing_required_variable_is_named_at_once() {
    use sesload_core::config::ConfigError;
    let e = sesload_core::PollerConfig::from_lookup(|_| None).unwrap_err();
    assert_eq!(
        e,
        ConfigError::MissingSeveral {
            names: vec!["QUEUE_URL", "DLQ_URL", "CUSTOMERS_TABLE"]
        }
    );
    assert_eq!(
        e.to_string(),
        "QUEUE_URL, DLQ_URL, CUSTOMERS_TABLE are required but not set"
    );
    let one = sesload_core::PollerConfig::from_lookup(|k| match k {
        "QUEUE_URL" | "DLQ_URL" => Some("https://sqs.eu-west-1.amazonaws.com/1/q".into()),
        _ => None,
    })
    .unwrap_err();
    assert_eq!(one.to_string(), "CUSTOMERS_TABLE is required but not set");
}
