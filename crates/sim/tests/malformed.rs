//! Malformed requests get SES's error shape (4xx, `x-amzn-ErrorType`, `{"message"}`), never a
//! 5xx, a panic or a hang; the request parser is property-tested with arbitrary bytes.

mod common;

use common::*;
use proptest::prelude::*;
use serde_json::Value;
use sesload_sim::{RequestMeta, SimConfig, SimState};

fn assert_ses_error(status: u16, etype: &Option<String>, body: &str, want: &str) {
    assert!((400..500).contains(&status), "status {status} body {body}");
    assert_eq!(etype.as_deref(), Some(want), "body {body}");
    let v: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("error body is not JSON ({e}): {body}"));
    assert!(
        v["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn malformed_http_requests_get_ses_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = fast_config(dir.path());
    cfg.max_body_bytes = 1024 * 1024;
    let sim = start(cfg).await;
    let send = "/v2/email/outbound-emails";
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        ("POST", send, b"not json at all".to_vec(), "BadRequestException"),
        ("POST", send, b"[1,2,3]".to_vec(), "BadRequestException"),
        ("POST", send, b"{\"Content\": 5}".to_vec(), "BadRequestException"),
        ("POST", send, br#"{"FromEmailAddress": 7, "Content": {}}"#.to_vec(), "BadRequestException"),
        ("POST", send, br#"{"FromEmailAddress": "sender@example.com", "Destination": {"ToAddresses": "x"}}"#.to_vec(), "BadRequestException"),
        ("POST", send, br#"{"FromEmailAddress": "sender@example.com", "Content": {"Simple": {}}}"#.to_vec(), "BadRequestException"),
        ("POST", send, vec![0xff, 0xfe, 0x00, 0x7b], "BadRequestException"),
        ("POST", send, vec![b'a'; 2 * 1024 * 1024], "BadRequestException"),
        ("POST", "/v2/email/templates", br#"{"TemplateName": "bad name!", "TemplateContent": {"Subject": "s", "Text": "t"}}"#.to_vec(), "BadRequestException"),
        ("POST", "/v2/email/templates", br#"{"TemplateName": "T"}"#.to_vec(), "BadRequestException"),
        ("POST", "/v2/email/configuration-sets", b"{}".to_vec(), "BadRequestException"),
        ("POST", "/v2/email/list-configuration-sets", br#"{"PageSize": "ten"}"#.to_vec(), "BadRequestException"),
        ("GET", "/v2/email/templates?PageSize=-4", vec![], "BadRequestException"),
        ("GET", "/v2/email/templates/%ff%fe", vec![], "NotFoundException"),
        ("PATCH", send, b"{}".to_vec(), "UnknownOperationException"),
        ("GET", "/v2/email/identities", vec![], "UnknownOperationException"),
        (
            "POST",
            "/v2/email/configuration-sets/load-test-config/event-destinations",
            br#"{"EventDestinationName": "d", "EventDestination": {"MatchingEventTypes": ["NOPE"]}}"#.to_vec(),
            "BadRequestException",
        ),
    ];
    for (m, p, body, want) in cases {
        let (status, etype, text) = raw_http(&sim, m, p, &body).await;
        assert_ses_error(status, &etype, &text, want);
    }
    // The server is still healthy.
    let (status, _, body) = raw_http(&sim, "GET", "/v2/email/account", b"").await;
    assert_eq!(status, 200, "{body}");
    let stats: Value =
        serde_json::from_str(&raw_http(&sim, "GET", "/_sim/stats", b"").await.2).unwrap();
    assert_eq!(stats["sent_messages"], 0);
    assert!(stats["client_errors"].as_u64().unwrap() >= 15);
    let (status, _, _) = raw_http(&sim, "POST", "/_sim/reset", b"").await;
    assert_eq!(status, 200);
    sim.shutdown().await.unwrap();
}

fn meta<'a>(method: &'a str, path: &'a str) -> RequestMeta<'a> {
    RequestMeta {
        method,
        path,
        query: "",
        authorization: None,
        peer: "127.0.0.1".parse().unwrap(),
    }
}

static STATE: std::sync::LazyLock<SimState> = std::sync::LazyLock::new(new_state);

fn state() -> &'static SimState {
    &STATE
}

fn new_state() -> SimState {
    let mut c = SimConfig::unthrottled();
    c.events.lake_dir = None;
    c.templates = vec![sesload_sim::TemplateSeed {
        name: "SimpleEmail".into(),
        subject: "Hi {{first_name}}".into(),
        text: Some("t {{first_name}}".into()),
        html: None,
    }];
    SimState::standalone(c).unwrap()
}

/// JSON-ish values shaped like SendEmail requests, with wrong types mixed in.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z0-9@.+{}_ -]{0,40}".prop_map(Value::String),
        prop_oneof![
            Just("sender@example.com"),
            Just("success@simulator.amazonses.com"),
            Just("{\"first_name\":\"x\"}"),
            Just("SimpleEmail")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("FromEmailAddress".to_owned()),
                    Just("Destination".to_owned()),
                    Just("ToAddresses".to_owned()),
                    Just("Content".to_owned()),
                    Just("Simple".to_owned()),
                    Just("Template".to_owned()),
                    Just("Raw".to_owned()),
                    Just("Data".to_owned()),
                    Just("TemplateName".to_owned()),
                    Just("TemplateData".to_owned()),
                    Just("TemplateContent".to_owned()),
                    Just("Subject".to_owned()),
                    Just("EmailTags".to_owned()),
                    Just("DefaultContent".to_owned()),
                    Just("BulkEmailEntries".to_owned()),
                    Just("ReplacementEmailContent".to_owned()),
                    Just("ReplacementTemplate".to_owned()),
                    Just("ReplacementTemplateData".to_owned()),
                    Just("ReplacementTags".to_owned()),
                    Just("ReplacementHeaders".to_owned()),
                    Just("Headers".to_owned()),
                    Just("Name".to_owned()),
                    Just("Value".to_owned()),
                    "[A-Za-z]{1,8}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A SendBulkEmail entry with recipients, replacement data and tags drawn from valid and
/// invalid values.
fn bulk_entry() -> impl Strategy<Value = Value> {
    let addr = prop_oneof![
        Just("a@example.org"),
        Just("success@simulator.amazonses.com"),
        Just("bounce+x@simulator.amazonses.com"),
        Just("not an address"),
    ];
    let data = prop_oneof![
        Just(None),
        Just(Some("{\"first_name\":\"Ann\"}")),
        Just(Some("{}")),
        Just(Some("[1]")),
        Just(Some("{not json")),
        Just(Some("{\"first_name\":{\"x\":1}}")),
    ];
    let tag = prop_oneof![
        Just(("campaign", "c1")),
        Just(("bad tag", "x")),
        Just(("ses:reserved", "y")),
    ];
    (
        prop::collection::vec(addr, 0..4),
        data,
        prop::collection::vec(tag, 0..3),
    )
        .prop_map(|(to, data, tags)| {
            let mut e = serde_json::json!({ "Destination": { "ToAddresses": to } });
            if let Some(d) = data {
                e["ReplacementEmailContent"] =
                    serde_json::json!({ "ReplacementTemplate": { "ReplacementTemplateData": d } });
            }
            e["ReplacementTags"] = tags
                .iter()
                .map(|(n, v)| serde_json::json!({ "Name": n, "Value": v }))
                .collect();
            e
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_5xx(body in prop::collection::vec(any::<u8>(), 0..512), which in 0usize..7) {
        let st = state();
        let (m, p) = [
            ("POST", "/v2/email/outbound-emails"),
            ("POST", "/v2/email/outbound-bulk-emails"),
            ("POST", "/v2/email/templates"),
            ("PUT", "/v2/email/templates/SimpleEmail"),
            ("POST", "/v2/email/templates/SimpleEmail/render"),
            ("POST", "/v2/email/configuration-sets"),
            ("POST", "/v2/email/configuration-sets/load-test-config/event-destinations"),
        ][which];
        let r = st.dispatch(&meta(m, p), &body);
        prop_assert!(r.status < 500, "{} {}", r.status, r.body);
        let v: Value = serde_json::from_str(&r.body).unwrap();
        if r.status >= 400 {
            prop_assert!(r.error_type.is_some());
            prop_assert!(v["message"].is_string());
        }
    }

    #[test]
    fn structured_send_requests_never_5xx(v in json_value()) {
        let st = state();
        let body = serde_json::to_vec(&v).unwrap();
        let r = st.dispatch(&meta("POST", "/v2/email/outbound-emails"), &body);
        prop_assert!(r.status == 200 || (400..500).contains(&r.status), "{} {}", r.status, r.body);
        let out: Value = serde_json::from_str(&r.body).unwrap();
        if r.status == 200 {
            prop_assert!(out["MessageId"].is_string());
        } else {
            prop_assert!(out["message"].is_string());
        }
    }

    #[test]
    fn structured_bulk_requests_never_5xx(v in json_value()) {
        let st = state();
        let body = serde_json::to_vec(&v).unwrap();
        let r = st.dispatch(&meta("POST", "/v2/email/outbound-bulk-emails"), &body);
        prop_assert!(r.status == 200 || (400..500).contains(&r.status), "{} {}", r.status, r.body);
        let out: Value = serde_json::from_str(&r.body).unwrap();
        if r.status != 200 {
            prop_assert!(out["message"].is_string());
        }
    }

    #[test]
    fn bulk_answers_one_model_status_per_entry(entries in prop::collection::vec(bulk_entry(), 0..56)) {
        let st = state();
        let body = serde_json::json!({
            "FromEmailAddress": "sender@example.com",
            "DefaultContent": {"Template": {"TemplateName": "SimpleEmail", "TemplateData": "{\"first_name\":\"x\"}"}},
            "BulkEmailEntries": entries,
        });
        let r = st.dispatch(&meta("POST", "/v2/email/outbound-bulk-emails"), body.to_string().as_bytes());
        let out: Value = serde_json::from_str(&r.body).unwrap();
        let n = body["BulkEmailEntries"].as_array().unwrap().len();
        let well_formed = body["BulkEmailEntries"].as_array().unwrap().iter().all(|e| {
            e["Destination"]["ToAddresses"].as_array().is_some_and(|a| !a.is_empty())
        });
        if (1..=50).contains(&n) && well_formed {
            prop_assert_eq!(r.status, 200, "{}", r.body);
            let results = out["BulkEmailEntryResults"].as_array().unwrap();
            prop_assert_eq!(results.len(), n);
            for res in results {
                let status = res["Status"].as_str().unwrap();
                prop_assert!(["SUCCESS", "INVALID_PARAMETER"].contains(&status), "{}", res);
                prop_assert_eq!(status == "SUCCESS", res["MessageId"].is_string());
                prop_assert_eq!(status != "SUCCESS", res["Error"].is_string());
            }
        } else {
            prop_assert_eq!((r.status, r.error_type), (400, Some("BadRequestException")));
        }
    }

    #[test]
    fn arbitrary_paths_never_5xx(path in "/[a-zA-Z0-9/%_.-]{0,60}", m in prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE")]) {
        let st = state();
        let r = st.dispatch(&meta(m, &path), b"{}");
        prop_assert!(r.status < 500, "{} {} {}", path, r.status, r.body);
    }
}
