//! SendBulkEmail through the unmodified `aws-sdk-sesv2` client over real HTTP: personalised
//! entries (data, tags, headers) each sent, logged and published as their own message; every
//! `BulkEmailStatus` the model defines; the limits; the quotas per entry and per call
//! (`bulk_throttle`); the shared refusals per call and per entry (`bulk_shared_errors`);
//! IAM, faults and the per-entry latency.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::SdkError;
use aws_sdk_sesv2::operation::send_bulk_email::{SendBulkEmailError, SendBulkEmailOutput};
use aws_sdk_sesv2::types::{
    BulkEmailContent, BulkEmailEntry, BulkEmailStatus, DeliveryOptions, Destination, MessageHeader,
    MessageTag, ReplacementEmailContent, ReplacementTemplate, Template,
};
use common::*;
use serde_json::Value;
use sesload_sim::{BulkRefusal, FaultConfig, PermissionsConfig, SimConfig, TemplateSeed};

const SENDER: &str = "sender@example.com";
const SET: &str = "load-test-config";
const SIM: &str = "simulator.amazonses.com";

type BulkResult = Result<
    SendBulkEmailOutput,
    SdkError<SendBulkEmailError, aws_sdk_sesv2::config::http::HttpResponse>,
>;

/// A template seeded at start: subject and text use `greeting`, `name`, `city`, `offer.code`.
fn offer_template() -> TemplateSeed {
    TemplateSeed {
        name: "Offer".into(),
        subject: "Hi {{name}}".into(),
        text: Some("{{greeting}} {{name}} from {{city}}: code {{offer.code}}".into()),
        html: Some("<p>{{name}}</p>".into()),
    }
}

fn tag(name: &str, value: &str) -> MessageTag {
    MessageTag::builder()
        .name(name)
        .value(value)
        .build()
        .unwrap()
}

/// One entry: recipients (To), optional replacement data, replacement tags.
fn entry(to: &[&str], data: Option<&str>, tags: &[(&str, &str)]) -> BulkEmailEntry {
    let dest = Destination::builder()
        .set_to_addresses(Some(to.iter().map(|s| s.to_string()).collect()))
        .build();
    let mut b = BulkEmailEntry::builder().destination(dest);
    if let Some(d) = data {
        b = b.replacement_email_content(
            ReplacementEmailContent::builder()
                .replacement_template(
                    ReplacementTemplate::builder()
                        .replacement_template_data(d)
                        .build(),
                )
                .build(),
        );
    }
    for (k, v) in tags {
        b = b.replacement_tags(tag(k, v));
    }
    b.build()
}

fn to(addr: &str) -> BulkEmailEntry {
    entry(&[addr], None, &[])
}

fn content(template: &str, data: &str) -> BulkEmailContent {
    BulkEmailContent::builder()
        .template(
            Template::builder()
                .template_name(template)
                .template_data(data)
                .build(),
        )
        .build()
}

const DEFAULT_DATA: &str =
    r#"{"greeting":"Hello","name":"friend","city":"Oslo","offer":{"code":"none"}}"#;

/// SendBulkEmail of `entries` from `from` with the `Offer` template and its default data.
async fn bulk_from(
    c: &Client,
    from: &str,
    set: Option<&str>,
    entries: Vec<BulkEmailEntry>,
) -> BulkResult {
    c.send_bulk_email()
        .from_email_address(from)
        .default_content(content("Offer", DEFAULT_DATA))
        .set_bulk_email_entries(Some(entries))
        .set_configuration_set_name(set.map(str::to_owned))
        .send()
        .await
}

async fn bulk(c: &Client, entries: Vec<BulkEmailEntry>) -> BulkResult {
    bulk_from(c, SENDER, Some(SET), entries).await
}

/// `(Status, Error, MessageId)` of each entry.
fn results(out: &SendBulkEmailOutput) -> Vec<(String, Option<String>, Option<String>)> {
    out.bulk_email_entry_results()
        .iter()
        .map(|r| {
            (
                r.status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                r.error().map(str::to_owned),
                r.message_id().map(str::to_owned),
            )
        })
        .collect()
}

fn statuses(out: &SendBulkEmailOutput) -> Vec<String> {
    results(out).into_iter().map(|r| r.0).collect()
}

/// No lake, no latency, no quota, the `Offer` template.
fn quiet_config() -> SimConfig {
    let mut c = SimConfig::unthrottled();
    c.events.lake_dir = None;
    c.templates = vec![offer_template()];
    c
}

#[tokio::test]
async fn entries_are_personalised_and_sent_logged_and_published_on_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = fast_config(dir.path());
    cfg.templates = vec![offer_template()];
    let sim = start(cfg).await;
    let c = client(&sim);
    let header = |n: &str, v: &str| MessageHeader::builder().name(n).value(v).build().unwrap();
    let entries = vec![
        entry(
            &[&format!("success@{SIM}")],
            Some(r#"{"name":"Ann","offer":{"code":"A1"}}"#),
            &[("campaign", "c2")],
        ),
        BulkEmailEntry::builder()
            .destination(
                Destination::builder()
                    .to_addresses(format!("bounce@{SIM}"))
                    .cc_addresses(format!("success+cc@{SIM}"))
                    .build(),
            )
            .replacement_email_content(
                ReplacementEmailContent::builder()
                    .replacement_template(
                        ReplacementTemplate::builder()
                            .replacement_template_data(
                                r#"{"name":"Bob","city":"Rome","offer":{"code":"B2"}}"#,
                            )
                            .build(),
                    )
                    .build(),
            )
            .replacement_tags(tag("user", "u1"))
            .replacement_headers(header("X-Offer", "bob"))
            .build(),
        // No replacement data: the defaults alone.
        to(&format!("complaint@{SIM}")),
        // The merge is shallow: this `offer` replaces the default's whole, so `offer.code` is
        // missing — accepted, then a Rendering Failure.
        entry(
            &[&format!("success+rf@{SIM}")],
            Some(r#"{"offer":{"pct":5}}"#),
            &[],
        ),
    ];
    let out = c
        .send_bulk_email()
        .from_email_address(SENDER)
        .reply_to_addresses("replies@example.com")
        .default_content(
            BulkEmailContent::builder()
                .template(
                    Template::builder()
                        .template_name("Offer")
                        .template_data(DEFAULT_DATA)
                        .headers(header("X-Offer", "default"))
                        .headers(header("List-Id", "offers"))
                        .build(),
                )
                .build(),
        )
        .default_email_tags(tag("campaign", "c1"))
        .default_email_tags(tag("kind", "promo"))
        .set_bulk_email_entries(Some(entries))
        .configuration_set_name(SET)
        .send()
        .await
        .unwrap();
    let res = results(&out);
    assert_eq!(res.len(), 4);
    assert!(
        res.iter().all(|r| r.0 == "SUCCESS" && r.1.is_none()),
        "{res:?}"
    );
    let ids: Vec<String> = res.iter().map(|r| r.2.clone().unwrap()).collect();
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        4,
        "one message id per entry"
    );

    // The message log: one message per entry, in entry order, rendered with its own data.
    let log = sim.messages(10);
    assert_eq!(
        log.iter().map(|m| m.message_id.clone()).collect::<Vec<_>>(),
        ids
    );
    let text = |i: usize| log[i].text.clone().unwrap_or_default();
    assert_eq!(log[0].subject, "Hi Ann");
    assert_eq!(text(0), "Hello Ann from Oslo: code A1");
    assert_eq!(log[0].to, [format!("success@{SIM}")]);
    assert_eq!(log[1].subject, "Hi Bob");
    assert_eq!(text(1), "Hello Bob from Rome: code B2");
    assert_eq!(log[1].cc, [format!("success+cc@{SIM}")]);
    assert_eq!(text(2), "Hello friend from Oslo: code none");
    assert_eq!(log[3].status, "rendering_failure");
    assert_eq!(
        log[3].error.as_deref(),
        Some("Attribute 'offer.code' is not present in the rendering data.")
    );
    let tags = |i: usize| {
        log[i]
            .tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(tags(0), ["campaign=c2", "kind=promo"]);
    assert_eq!(tags(1), ["campaign=c1", "kind=promo", "user=u1"]);
    assert_eq!(tags(2), ["campaign=c1", "kind=promo"]);
    assert!(
        log.iter()
            .all(|m| m.template_name.as_deref() == Some("Offer"))
    );

    // The lake: each entry's own events, with its own tags and headers.
    sim.flush_events(true).await;
    let recs = lake_records(dir.path());
    let of = |id: &str| -> Vec<&Value> {
        recs.iter()
            .filter(|r| r["mail"]["messageId"] == id)
            .collect()
    };
    let kinds = |id: &str| -> BTreeSet<String> {
        of(id)
            .iter()
            .map(|r| r["eventType"].as_str().unwrap().to_owned())
            .collect()
    };
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(kinds(&ids[0]), set(&["Send", "Delivery"]));
    assert_eq!(kinds(&ids[1]), set(&["Send", "Bounce", "Delivery"]));
    assert_eq!(kinds(&ids[2]), set(&["Send", "Delivery", "Complaint"]));
    assert_eq!(kinds(&ids[3]), set(&["Rendering Failure"]));
    for r in of(&ids[0]) {
        assert_eq!(r["mail"]["tags"]["campaign"], serde_json::json!(["c2"]));
        assert_eq!(r["mail"]["tags"]["kind"], serde_json::json!(["promo"]));
        assert_eq!(r["mail"]["commonHeaders"]["subject"], "Hi Ann");
    }
    let bob = of(&ids[1]);
    for r in &bob {
        assert_eq!(r["mail"]["tags"]["campaign"], serde_json::json!(["c1"]));
        assert_eq!(r["mail"]["tags"]["user"], serde_json::json!(["u1"]));
        let headers: BTreeMap<String, String> = r["mail"]["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["name"].as_str().unwrap().to_owned(),
                    h["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(headers["Reply-To"], "replies@example.com");
        assert_eq!(
            headers["X-Offer"], "bob",
            "the entry's header replaces the template's"
        );
        assert_eq!(headers["List-Id"], "offers");
    }
    let bounce = bob.iter().find(|r| r["eventType"] == "Bounce").unwrap();
    assert_eq!(
        bounce["bounce"]["bouncedRecipients"][0]["emailAddress"],
        format!("bounce@{SIM}")
    );
    let delivery = bob.iter().find(|r| r["eventType"] == "Delivery").unwrap();
    assert_eq!(
        delivery["delivery"]["recipients"],
        serde_json::json!([format!("success+cc@{SIM}")])
    );

    let stats = sim.stats();
    assert_eq!(stats.requests.get("SendBulkEmail"), Some(&1));
    assert_eq!((stats.bulk_calls, stats.bulk_entries), (1, 4));
    assert_eq!(stats.bulk_entry_statuses["SUCCESS"], 4);
    assert_eq!(stats.bulk_entry_statuses.len(), 14);
    assert_eq!((stats.sent_messages, stats.sent_recipients), (4, 5));
    assert_eq!(stats.rendering_failures, 1);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn every_bulk_status_of_the_model_is_reachable() {
    let mut seen = BTreeSet::new();
    let mut note = |out: &SendBulkEmailOutput| {
        for r in results(out) {
            assert!(
                r.0 == "SUCCESS" || (r.1.is_some() && r.2.is_none()),
                "a failed entry has an Error and no MessageId: {r:?}"
            );
            seen.insert(r.0);
        }
    };

    // Per-entry checks, and the shared refusals given per entry.
    let mut cfg = quiet_config();
    cfg.sandbox = true;
    cfg.verified_identities = vec!["example.com".into(), "friend@example.org".into()];
    cfg.bulk_shared_errors = BulkRefusal::Entries;
    let sim = start(cfg).await;
    let c = client(&sim);
    let out = bulk(
        &c,
        vec![
            to("friend@example.org"),
            to("stranger@example.org"),
            to("not-an-address"),
            entry(&["friend@example.org"], Some("[1]"), &[]),
            entry(&["friend@example.org"], None, &[("bad tag", "x")]),
        ],
    )
    .await
    .unwrap();
    note(&out);
    let r = results(&out);
    assert_eq!(
        statuses(&out),
        [
            "SUCCESS",
            "MESSAGE_REJECTED",
            "INVALID_PARAMETER",
            "INVALID_PARAMETER",
            "INVALID_PARAMETER"
        ]
    );
    assert!(
        r[1].1
            .as_deref()
            .unwrap()
            .ends_with("US-EAST-1: stranger@example.org")
    );
    assert!(
        r[2].1.as_deref().unwrap().contains("\"not-an-address\""),
        "{r:?}"
    );
    assert!(
        r[3].1
            .as_deref()
            .unwrap()
            .contains("ReplacementTemplateData"),
        "{r:?}"
    );
    assert!(r[4].1.as_deref().unwrap().contains("bad tag"), "{r:?}");

    let shared_refusal = |from: &'static str, set: Option<&'static str>, template: &'static str| {
        let c = c.clone();
        async move {
            let out = c
                .send_bulk_email()
                .from_email_address(from)
                .default_content(content(template, DEFAULT_DATA))
                .bulk_email_entries(to("friend@example.org"))
                .bulk_email_entries(to("not-an-address"))
                .set_configuration_set_name(set.map(str::to_owned))
                .send()
                .await
                .unwrap();
            let s = statuses(&out);
            assert_eq!(
                s[1], "INVALID_PARAMETER",
                "an invalid entry keeps its own status"
            );
            (s[0].clone(), out)
        }
    };
    c.create_configuration_set()
        .configuration_set_name("pooled")
        .delivery_options(
            DeliveryOptions::builder()
                .sending_pool_name("pool-x")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (s, out) = shared_refusal(SENDER, Some("pooled"), "Offer").await;
    assert_eq!(s, "INVALID_SENDING_POOL_NAME");
    note(&out);
    let (s, out) = shared_refusal(SENDER, Some("nope"), "Offer").await;
    assert_eq!(s, "CONFIGURATION_SET_NOT_FOUND");
    note(&out);
    let (s, out) = shared_refusal("x@unverified.org", None, "Offer").await;
    assert_eq!(s, "MAIL_FROM_DOMAIN_NOT_VERIFIED");
    note(&out);
    let (s, out) = shared_refusal(SENDER, None, "Missing").await;
    assert_eq!(s, "TEMPLATE_NOT_FOUND");
    assert_eq!(
        results(&out)[0].1.as_deref(),
        Some("Template Missing does not exist.")
    );
    note(&out);
    c.put_configuration_set_sending_options()
        .configuration_set_name(SET)
        .sending_enabled(false)
        .send()
        .await
        .unwrap();
    let (s, out) = shared_refusal(SENDER, Some(SET), "Offer").await;
    assert_eq!(s, "CONFIGURATION_SET_SENDING_PAUSED");
    note(&out);
    c.put_account_sending_attributes()
        .sending_enabled(false)
        .send()
        .await
        .unwrap();
    let (s, out) = shared_refusal(SENDER, None, "Offer").await;
    assert_eq!(s, "ACCOUNT_SENDING_PAUSED");
    note(&out);
    let (status, _, text) = raw_http(
        &sim,
        "POST",
        "/_sim/account/suspension",
        br#"{"suspended": true}"#,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let (s, out) = shared_refusal(SENDER, None, "Offer").await;
    assert_eq!(s, "ACCOUNT_SUSPENDED");
    note(&out);
    let stats = sim.stats();
    assert_eq!(stats.bulk_entry_statuses["SUCCESS"], 1);
    assert_eq!(stats.sent_messages, 1, "refused entries send nothing");
    assert_eq!(
        (stats.account_suspended, stats.sending_paused),
        (0, 0),
        "no HTTP errors"
    );
    sim.shutdown().await.unwrap();

    // The quotas, entry by entry: a bucket of 2 and a daily quota of 1. The second real
    // recipient is over the daily quota (and takes no token), the simulator recipient is exempt
    // from it and takes the last token, the fourth entry finds the bucket empty.
    let mut cfg = quiet_config();
    cfg.max_send_rate = Some(2.0);
    cfg.max_24_hour_send = Some(1);
    let sim = start(cfg).await;
    let c = client(&sim);
    let out = bulk(
        &c,
        vec![
            to("a@example.org"),
            to("b@example.org"),
            to(&format!("success@{SIM}")),
            to("d@example.org"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        statuses(&out),
        [
            "SUCCESS",
            "ACCOUNT_DAILY_QUOTA_EXCEEDED",
            "SUCCESS",
            "ACCOUNT_THROTTLED"
        ]
    );
    assert_eq!(
        results(&out)[1].1.as_deref(),
        Some("Daily message quota exceeded.")
    );
    assert_eq!(
        results(&out)[3].1.as_deref(),
        Some("Maximum sending rate exceeded.")
    );
    note(&out);
    sim.shutdown().await.unwrap();

    // Entry-level faults: seeded, so the same call gives the same statuses every run.
    let mut cfg = quiet_config();
    cfg.faults = FaultConfig {
        seed: 7,
        entry_transient_failure_rate: 0.4,
        entry_failure_rate: 0.4,
        ..FaultConfig::default()
    };
    let sim = start(cfg).await;
    let c = client(&sim);
    let entries = (0..20).map(|i| to(&format!("u{i}@example.org"))).collect();
    let out = bulk(&c, entries).await.unwrap();
    let s = statuses(&out);
    assert!(s.iter().any(|s| s == "TRANSIENT_FAILURE"), "{s:?}");
    assert!(s.iter().any(|s| s == "FAILED"), "{s:?}");
    let sent = s.iter().filter(|s| *s == "SUCCESS").count() as u64;
    assert_eq!(
        sim.stats().sent_messages,
        sent,
        "failed entries are not sent"
    );
    note(&out);
    sim.shutdown().await.unwrap();

    let model: BTreeSet<String> = BulkEmailStatus::values()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(seen, model);
}

#[tokio::test]
async fn shared_refusals_fail_the_whole_call_by_default() {
    let mut cfg = quiet_config();
    cfg.configuration_sets = vec![SET.into(), "paused".into()];
    let sim = start(cfg).await;
    let c = client(&sim);
    c.put_configuration_set_sending_options()
        .configuration_set_name("paused")
        .sending_enabled(false)
        .send()
        .await
        .unwrap();
    let two = || vec![to("a@example.org"), to("b@example.org")];
    let cases = [
        (
            bulk_from(&c, SENDER, Some("nope"), two()).await,
            (
                "NotFoundException",
                404,
                "Configuration set <nope> does not exist.",
            ),
        ),
        (
            bulk_from(&c, SENDER, Some("paused"), two()).await,
            (
                "SendingPausedException",
                400,
                "Sending is paused for configuration set paused.",
            ),
        ),
        (
            bulk_from(&c, "x@unverified.org", None, two()).await,
            (
                "MessageRejected",
                400,
                "Email address is not verified. The following identities failed the check in region US-EAST-1: x@unverified.org",
            ),
        ),
    ];
    for (r, (code_, status, message)) in cases {
        let e = r.unwrap_err();
        assert_eq!(service_error(&e), (code_.into(), status, message.into()));
    }
    let e = c
        .send_bulk_email()
        .from_email_address(SENDER)
        .default_content(content("Missing", "{}"))
        .bulk_email_entries(to("a@example.org"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        service_error(&e),
        (
            "NotFoundException".into(),
            404,
            "Template Missing does not exist.".into()
        )
    );
    let (status, _, _) = raw_http(
        &sim,
        "POST",
        "/_sim/account/suspension",
        br#"{"suspended": true}"#,
    )
    .await;
    assert_eq!(status, 200);
    let e = bulk(&c, two()).await.unwrap_err();
    assert!(
        matches!(
            e.as_service_error(),
            Some(SendBulkEmailError::AccountSuspendedException(_))
        ),
        "{e:?}"
    );
    let stats = sim.stats();
    assert_eq!((stats.bulk_calls, stats.sent_messages), (0, 0));
    assert_eq!(
        (
            stats.sending_paused,
            stats.rejected,
            stats.account_suspended
        ),
        (1, 1, 1)
    );
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn limits_are_400s_that_name_the_value() {
    let mut cfg = quiet_config();
    cfg.max_body_bytes = 64 * 1024;
    let sim = start(cfg).await;
    let c = client(&sim);
    let expect_400 = |r: BulkResult, needle: &str| {
        let e = r.unwrap_err();
        let (code_, status, message) = service_error(&e);
        assert_eq!(
            (code_.as_str(), status),
            ("BadRequestException", 400),
            "{message}"
        );
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    };
    let entries = (0..51).map(|i| to(&format!("u{i}@example.org"))).collect();
    expect_400(bulk(&c, entries).await, "has 51 entries; at most 50");
    let many: Vec<String> = (0..51).map(|i| format!("u{i}@example.org")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    expect_400(
        bulk(&c, vec![to("a@example.org"), entry(&many, None, &[])]).await,
        "BulkEmailEntries[1]: Recipient count exceeds 50: the message has 51 recipients",
    );
    expect_400(bulk(&c, vec![]).await, "at least one entry");
    let headers = (0..16).map(|i| {
        MessageHeader::builder()
            .name(format!("X-H{i}"))
            .value("v")
            .build()
            .unwrap()
    });
    let e = BulkEmailEntry::builder()
        .destination(Destination::builder().to_addresses("a@example.org").build())
        .set_replacement_headers(Some(headers.collect()))
        .build();
    expect_400(
        bulk(&c, vec![e]).await,
        "ReplacementHeaders has 16 headers; at most 15",
    );
    let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(70 * 1024));
    expect_400(
        bulk(&c, vec![entry(&["a@example.org"], Some(&big), &[])]).await,
        "exceeds the limit of 65536 bytes",
    );
    expect_400(
        c.send_bulk_email()
            .from_email_address(SENDER)
            .default_content(
                BulkEmailContent::builder()
                    .template(Template::builder().template_name("Offer").build())
                    .build(),
            )
            .bulk_email_entries(to("a@example.org"))
            .send()
            .await,
        "Missing required field DefaultContent.Template.TemplateData",
    );
    expect_400(
        c.send_bulk_email()
            .from_email_address(SENDER)
            .default_content(content("Offer", "[1]"))
            .bulk_email_entries(to("a@example.org"))
            .send()
            .await,
        "Template data must be a JSON object",
    );
    // Shapes the SDK would not send.
    for (body, needle) in [
        (
            r#"{"FromEmailAddress":"sender@example.com","BulkEmailEntries":[{"Destination":{"ToAddresses":["a@example.org"]}}]}"#,
            "Missing required field DefaultContent.",
        ),
        (
            r#"{"FromEmailAddress":"sender@example.com","DefaultContent":{},"BulkEmailEntries":[{"Destination":{"ToAddresses":["a@example.org"]}}]}"#,
            "Missing required field DefaultContent.Template",
        ),
        (
            r#"{"FromEmailAddress":"sender@example.com","DefaultContent":{"Template":{"TemplateName":"Offer","TemplateData":"{}"}}}"#,
            "Missing required field BulkEmailEntries.",
        ),
        (
            r#"{"FromEmailAddress":"sender@example.com","DefaultContent":{"Template":{"TemplateName":"Offer","TemplateData":"{}"}},"BulkEmailEntries":[{}]}"#,
            "Missing required field BulkEmailEntries[0].Destination.",
        ),
        (
            r#"{"FromEmailAddress":"sender@example.com","DefaultContent":{"Template":{"TemplateName":"Offer","TemplateData":"{}"}},"BulkEmailEntries":[{"Destination":{}}]}"#,
            "BulkEmailEntries[0]: Missing required field Destination: at least one recipient",
        ),
        (
            r#"{"DefaultContent":{"Template":{"TemplateName":"Offer","TemplateData":"{}"}},"BulkEmailEntries":[{"Destination":{"ToAddresses":["a@example.org"]}}]}"#,
            "Missing required field FromEmailAddress.",
        ),
        (
            r#"{"FromEmailAddress":"sender@example.com","DefaultContent":{"Template":{"TemplateName":"Offer","TemplateData":"{}"}},"BulkEmailEntries":"x"}"#,
            "Invalid request",
        ),
    ] {
        let (status, etype, text) = raw_http(
            &sim,
            "POST",
            "/v2/email/outbound-bulk-emails",
            body.as_bytes(),
        )
        .await;
        assert_eq!(
            (status, etype.as_deref()),
            (400, Some("BadRequestException")),
            "{text}"
        );
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
    let stats = sim.stats();
    assert_eq!((stats.bulk_calls, stats.sent_messages), (0, 0));
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn rate_is_taken_entry_by_entry_in_entries_mode() {
    let mut cfg = quiet_config();
    cfg.max_send_rate = Some(5.0);
    let sim = start(cfg).await;
    let c = client(&sim);
    // A full bucket of 5: the first five entries go, the rest are throttled, in entry order.
    let entries = (0..8).map(|i| to(&format!("u{i}@example.org"))).collect();
    let out = bulk(&c, entries).await.unwrap();
    assert_eq!(
        statuses(&out),
        [
            "SUCCESS",
            "SUCCESS",
            "SUCCESS",
            "SUCCESS",
            "SUCCESS",
            "ACCOUNT_THROTTLED",
            "ACCOUNT_THROTTLED",
            "ACCOUNT_THROTTLED"
        ]
    );
    let logged: Vec<String> = sim.messages(10).into_iter().flat_map(|m| m.to).collect();
    assert_eq!(
        logged,
        [
            "u0@example.org",
            "u1@example.org",
            "u2@example.org",
            "u3@example.org",
            "u4@example.org"
        ]
    );
    // The bucket refills at 5/s; an entry bigger than the bucket goes through when it is full,
    // as a SendEmail to that many recipients would.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let seven: Vec<String> = (0..7).map(|i| format!("v{i}@example.org")).collect();
    let seven: Vec<&str> = seven.iter().map(String::as_str).collect();
    let out = bulk(&c, vec![entry(&seven, None, &[]), to("w@example.org")])
        .await
        .unwrap();
    assert_eq!(statuses(&out), ["SUCCESS", "ACCOUNT_THROTTLED"]);
    let stats = sim.stats();
    assert_eq!(stats.throttled, 0, "no call was answered 429");
    assert_eq!(stats.bulk_entry_statuses["ACCOUNT_THROTTLED"], 4);
    assert_eq!(stats.sent_recipients, 12);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn rate_and_daily_quota_refuse_the_whole_call_in_call_mode() {
    let mut cfg = quiet_config();
    cfg.max_send_rate = Some(10.0);
    cfg.max_24_hour_send = Some(12);
    cfg.bulk_throttle = BulkRefusal::Call;
    let sim = start(cfg).await;
    let c = client(&sim);
    let n = |k: usize, p: &str| -> Vec<BulkEmailEntry> {
        (0..k).map(|i| to(&format!("{p}{i}@example.org"))).collect()
    };
    // 8 of the 10 tokens: all sent.
    let out = bulk(&c, n(8, "a")).await.unwrap();
    assert!(statuses(&out).iter().all(|s| s == "SUCCESS"));
    // 9 more need 9 tokens; about 2 are left (the bucket refills 10/s, so this holds for the
    // first 0.7 s): the whole call is refused and nothing of it is sent or counted.
    let e = bulk(&c, n(9, "b")).await.unwrap_err();
    assert_eq!(
        service_error(&e),
        (
            "TooManyRequestsException".into(),
            429,
            "Maximum sending rate exceeded.".into()
        )
    );
    assert_eq!(sim.messages(100).len(), 8);
    // Once the bucket is full again: 4 real recipients would pass the daily 12 (8 + 4): refused
    // as a whole with LimitExceededException; 4 simulator recipients and 4 real ones, fine.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut five = n(4, "c");
    five.push(to("d@example.org"));
    let e = bulk(&c, five).await.unwrap_err();
    assert_eq!(
        service_error(&e),
        (
            "LimitExceededException".into(),
            400,
            "Daily message quota exceeded.".into()
        )
    );
    let mut mixed = n(4, "e");
    mixed.extend((0..4).map(|i| to(&format!("success+{i}@{SIM}"))));
    let out = bulk(&c, mixed).await.unwrap();
    assert!(statuses(&out).iter().all(|s| s == "SUCCESS"));
    let a = c.get_account().send().await.unwrap();
    assert_eq!(a.send_quota.unwrap().sent_last24_hours(), 12.0);
    let stats = sim.stats();
    assert_eq!((stats.throttled, stats.daily_quota_exceeded), (1, 1));
    assert_eq!(
        (stats.bulk_calls, stats.bulk_entries, stats.sent_messages),
        (2, 16, 16)
    );
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn daily_quota_counts_each_entrys_real_recipients() {
    let mut cfg = quiet_config();
    cfg.max_24_hour_send = Some(5);
    let sim = start(cfg).await;
    let c = client(&sim);
    let out = bulk(
        &c,
        vec![
            entry(&["a@example.org", "b@example.org"], None, &[]),
            entry(
                &["c@example.org", "d@example.org", "e@example.org"],
                None,
                &[],
            ),
            to("f@example.org"),
            to(&format!("success@{SIM}")),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        statuses(&out),
        [
            "SUCCESS",
            "SUCCESS",
            "ACCOUNT_DAILY_QUOTA_EXCEEDED",
            "SUCCESS"
        ]
    );
    let q = c.get_account().send().await.unwrap().send_quota.unwrap();
    assert_eq!(q.sent_last24_hours(), 5.0);
    assert_eq!(sim.stats().sent_recipients, 6);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn iam_faults_and_latency_apply_to_the_call() {
    // IAM: ses:SendBulkEmail on the template, 403 before anything else.
    let mut cfg = quiet_config();
    cfg.permissions = PermissionsConfig {
        templates: Some(vec!["Other".into()]),
        ..PermissionsConfig::default()
    };
    let sim = start(cfg).await;
    let c = client(&sim);
    let e = bulk(&c, vec![to("a@example.org")]).await.unwrap_err();
    let (code_, status, message) = service_error(&e);
    assert_eq!((code_.as_str(), status), ("AccessDeniedException", 403));
    assert_eq!(
        message,
        "User: arn:aws:sts::123456789012:assumed-role/sesload-sim/AKIDSIMTEST is not authorized to perform: ses:SendBulkEmail on resource: arn:aws:ses:us-east-1:123456789012:template/Offer because no identity-based policy allows the ses:SendBulkEmail action"
    );
    assert_eq!(sim.stats().access_denied, 1);
    sim.shutdown().await.unwrap();

    // A call-level fault fails the whole call; a drop after accept sends every entry.
    let mut cfg = quiet_config();
    cfg.faults.error_rate = 1.0;
    let sim = start(cfg).await;
    let e = bulk(&client(&sim), vec![to("a@example.org")])
        .await
        .unwrap_err();
    let status = service_error(&e).1;
    assert!(status == 500 || status == 503, "{e:?}");
    assert_eq!(sim.stats().sent_messages, 0);
    sim.shutdown().await.unwrap();
    let mut cfg = quiet_config();
    cfg.faults.drop_after_accept_rate = 1.0;
    let sim = start(cfg).await;
    let e = bulk(
        &client(&sim),
        vec![to("a@example.org"), to("b@example.org")],
    )
    .await
    .unwrap_err();
    assert!(e.raw_response().is_none(), "no HTTP response: {e:?}");
    let stats = sim.stats();
    assert_eq!((stats.dropped_after_accept, stats.sent_messages), (1, 2));
    sim.shutdown().await.unwrap();

    // Latency: the per-call model plus bulk_per_entry_ms for each entry.
    let mut cfg = quiet_config();
    cfg.latency.bulk_per_entry_ms = 25.0;
    let sim = start(cfg).await;
    let c = client(&sim);
    let t = Instant::now();
    let entries = (0..10).map(|i| to(&format!("u{i}@example.org"))).collect();
    bulk(&c, entries).await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
    sim.shutdown().await.unwrap();
}
