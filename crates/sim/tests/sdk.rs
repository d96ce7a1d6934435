//! The real `aws-sdk-sesv2` client against a running simulator.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{
    Body, Content, Destination, EmailContent, EmailTemplateContent, EventDestinationDefinition,
    EventType, KinesisFirehoseDestination, Message, MessageTag, RawMessage, Template,
};
use common::*;
use serde_json::Value;
use sesload_sim::{FaultConfig, SimConfig};

const SENDER: &str = "sender@example.com";

fn dest(to: &str) -> Destination {
    Destination::builder().to_addresses(to).build()
}

fn template_content(name: &str, data: &str) -> EmailContent {
    EmailContent::builder()
        .template(
            Template::builder()
                .template_name(name)
                .template_data(data)
                .build(),
        )
        .build()
}

fn simple(subject: &str) -> EmailContent {
    EmailContent::builder()
        .simple(
            Message::builder()
                .subject(Content::builder().data(subject).build().unwrap())
                .body(
                    Body::builder()
                        .text(Content::builder().data("hello").build().unwrap())
                        .build(),
                )
                .build(),
        )
        .build()
}

async fn create_simple_template(c: &Client) {
    c.create_email_template()
        .template_name("SimpleEmail")
        .template_content(
            EmailTemplateContent::builder()
                .subject("Hello {{first_name}}")
                .text("Dear {{first_name}}, your code is {{unique_code}}.")
                .html("<p>Dear {{first_name}}</p>")
                .build(),
        )
        .send()
        .await
        .unwrap();
}

async fn send_to(c: &Client, to: &str, tags: &[(&str, &str)]) -> Result<String, String> {
    let mut b = c
        .send_email()
        .from_email_address(SENDER)
        .destination(dest(to))
        .content(template_content(
            "SimpleEmail",
            r#"{"first_name":"Ann","unique_code":"u1"}"#,
        ))
        .configuration_set_name("load-test-config");
    for (k, v) in tags {
        b = b.email_tags(MessageTag::builder().name(*k).value(*v).build().unwrap());
    }
    match b.send().await {
        Ok(o) => Ok(o.message_id.unwrap()),
        Err(e) => Err(code(&e)),
    }
}

#[tokio::test]
async fn every_operation_round_trips_through_the_sdk() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start(fast_config(dir.path())).await;
    let c = client(&sim);

    // Templates.
    create_simple_template(&c).await;
    let dup = c
        .create_email_template()
        .template_name("SimpleEmail")
        .template_content(
            EmailTemplateContent::builder()
                .subject("x")
                .text("y")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&dup), "AlreadyExistsException");
    for n in ["A1", "B2", "C3"] {
        c.create_email_template()
            .template_name(n)
            .template_content(
                EmailTemplateContent::builder()
                    .subject("s")
                    .text("t")
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let got = c
        .get_email_template()
        .template_name("SimpleEmail")
        .send()
        .await
        .unwrap();
    assert_eq!(got.template_name, "SimpleEmail");
    assert_eq!(
        got.template_content.unwrap().subject.as_deref(),
        Some("Hello {{first_name}}")
    );
    c.update_email_template()
        .template_name("SimpleEmail")
        .template_content(
            EmailTemplateContent::builder()
                .subject("Hi {{first_name}}")
                .text("Dear {{first_name}}, code {{unique_code}}.")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let got = c
        .get_email_template()
        .template_name("SimpleEmail")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.template_content.unwrap().subject.as_deref(),
        Some("Hi {{first_name}}")
    );
    // Pagination: 4 templates, pages of 3.
    let p1 = c.list_email_templates().page_size(3).send().await.unwrap();
    let names: Vec<_> = p1
        .templates_metadata()
        .iter()
        .map(|t| t.template_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["A1", "B2", "C3"]);
    assert!(p1.templates_metadata()[0].created_timestamp().is_some());
    let p2 = c
        .list_email_templates()
        .page_size(3)
        .next_token(p1.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(p2.templates_metadata().len(), 1);
    assert!(p2.next_token().is_none());
    let r = c
        .test_render_email_template()
        .template_name("SimpleEmail")
        .template_data(r#"{"first_name":"Zoe","unique_code":"c9"}"#)
        .send()
        .await
        .unwrap();
    assert!(
        r.rendered_template.contains("Subject: Hi Zoe"),
        "{}",
        r.rendered_template
    );
    assert!(r.rendered_template.contains("Dear Zoe, code c9."));
    let e = c
        .test_render_email_template()
        .template_name("SimpleEmail")
        .template_data("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "BadRequestException");
    c.delete_email_template()
        .template_name("C3")
        .send()
        .await
        .unwrap();
    let e = c
        .get_email_template()
        .template_name("C3")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NotFoundException");
    let e = c
        .delete_email_template()
        .template_name("C3")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NotFoundException");

    // Configuration sets.
    c.create_configuration_set()
        .configuration_set_name("cs-test")
        .send()
        .await
        .unwrap();
    let e = c
        .create_configuration_set()
        .configuration_set_name("cs-test")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AlreadyExistsException");
    let g = c
        .get_configuration_set()
        .configuration_set_name("cs-test")
        .send()
        .await
        .unwrap();
    assert_eq!(g.configuration_set_name(), Some("cs-test"));
    let l = c.list_configuration_sets().send().await.unwrap();
    assert_eq!(l.configuration_sets(), ["cs-test", "load-test-config"]);
    c.create_configuration_set_event_destination()
        .configuration_set_name("cs-test")
        .event_destination_name("firehose")
        .event_destination(
            EventDestinationDefinition::builder()
                .enabled(true)
                .matching_event_types(EventType::Send)
                .matching_event_types(EventType::Delivery)
                .kinesis_firehose_destination(
                    KinesisFirehoseDestination::builder()
                        .iam_role_arn("arn:aws:iam::123456789012:role/ses")
                        .delivery_stream_arn(
                            "arn:aws:firehose:us-east-1:123456789012:deliverystream/x",
                        )
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let e = c
        .create_configuration_set_event_destination()
        .configuration_set_name("nope")
        .event_destination_name("d")
        .event_destination(
            EventDestinationDefinition::builder()
                .matching_event_types(EventType::Send)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NotFoundException");

    // GetAccount.
    let a = c.get_account().send().await.unwrap();
    let q = a.send_quota().unwrap();
    assert_eq!(q.max24_hour_send(), -1.0);
    assert_eq!(q.max_send_rate(), 0.0);
    assert!(a.production_access_enabled());
    assert!(a.sending_enabled());

    // SendEmail: by name, by ARN, inline, simple, raw; through the new config set.
    let by_name = send_to(&c, "success@simulator.amazonses.com", &[("campaign", "c1")])
        .await
        .unwrap();
    assert!(
        by_name.starts_with("0100") && by_name.ends_with("-000000"),
        "{by_name}"
    );
    let by_arn = c
        .send_email()
        .from_email_address(SENDER)
        .destination(dest("success@simulator.amazonses.com"))
        .content(
            EmailContent::builder()
                .template(
                    Template::builder()
                        .template_arn("arn:aws:ses:us-east-1:123456789012:template/SimpleEmail")
                        .template_data(r#"{"first_name":"B","unique_code":"2"}"#)
                        .build(),
                )
                .build(),
        )
        .configuration_set_name("cs-test")
        .send()
        .await
        .unwrap();
    assert!(by_arn.message_id.is_some());
    c.send_email()
        .from_email_address(SENDER)
        .destination(dest("success@simulator.amazonses.com"))
        .content(
            EmailContent::builder()
                .template(
                    Template::builder()
                        .template_content(
                            EmailTemplateContent::builder()
                                .subject("Inline {{x}}")
                                .text("t {{x}}")
                                .build(),
                        )
                        .template_data(r#"{"x":"yes"}"#)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    c.send_email()
        .from_email_address(SENDER)
        .destination(dest("success@simulator.amazonses.com"))
        .content(simple("plain subject"))
        .send()
        .await
        .unwrap();
    let raw = "From: sender@example.com\r\nTo: success@simulator.amazonses.com\r\nSubject: raw one\r\n\r\nbody\r\n";
    c.send_email()
        .content(
            EmailContent::builder()
                .raw(RawMessage::builder().data(Blob::new(raw)).build().unwrap())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let e = c
        .send_email()
        .from_email_address(SENDER)
        .destination(dest("success@simulator.amazonses.com"))
        .content(template_content("Missing", "{}"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NotFoundException");
    let e = c
        .send_email()
        .from_email_address(SENDER)
        .destination(dest("success@simulator.amazonses.com"))
        .content(simple("x"))
        .configuration_set_name("no-such-set")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NotFoundException");

    let msgs = sim.messages(100);
    let subjects: Vec<_> = msgs.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        subjects,
        ["Hi Ann", "Hi B", "Inline yes", "plain subject", "raw one"]
    );
    assert_eq!(msgs[0].tags.get("campaign").map(String::as_str), Some("c1"));
    assert_eq!(msgs[4].content_kind, "Raw");

    c.delete_configuration_set()
        .configuration_set_name("cs-test")
        .send()
        .await
        .unwrap();
    let e = c
        .get_configuration_set()
        .configuration_set_name("cs-test")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NotFoundException");
    let s = sim.stats();
    assert_eq!(s.sent_messages, 5);
    assert_eq!(s.requests.get("SendEmail"), Some(&7));
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn mailbox_simulator_addresses_publish_ses_events() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start(fast_config(dir.path())).await;
    let c = client(&sim);
    create_simple_template(&c).await;
    let addrs = [
        ("success@simulator.amazonses.com", &["Send", "Delivery"][..]),
        ("success+a1@simulator.amazonses.com", &["Send", "Delivery"]),
        ("bounce@simulator.amazonses.com", &["Send", "Bounce"]),
        ("bounce+x@simulator.amazonses.com", &["Send", "Bounce"]),
        ("ooto@simulator.amazonses.com", &["Send", "Delivery"]),
        (
            "complaint+z@simulator.amazonses.com",
            &["Send", "Delivery", "Complaint"],
        ),
        (
            "suppressionlist@simulator.amazonses.com",
            &["Send", "Bounce"],
        ),
    ];
    let mut ids = BTreeMap::new();
    for (a, _) in &addrs {
        let id = send_to(&c, a, &[("campaign", "camp-1")]).await.unwrap();
        ids.insert(id, *a);
    }
    sim.flush_events(true).await;
    let recs = lake_records(dir.path());
    let mut per_type: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_addr: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for r in &recs {
        let t = r["eventType"].as_str().unwrap().to_owned();
        check_schema(r);
        let mail = &r["mail"];
        assert_eq!(mail["tags"]["campaign"][0], "camp-1");
        assert_eq!(mail["tags"]["ses:configuration-set"][0], "load-test-config");
        assert_eq!(mail["tags"]["ses:from-domain"][0], "example.com");
        assert_eq!(mail["tags"]["ses:caller-identity"][0], "AKIDSIMTEST");
        assert_eq!(mail["tags"]["ses:source-ip"][0], "127.0.0.1");
        assert_eq!(mail["commonHeaders"]["subject"], "Hello Ann");
        let addr = ids[mail["messageId"].as_str().unwrap()];
        per_addr.entry(addr).or_default().push(t.clone());
        *per_type.entry(t).or_default() += 1;
        match r["eventType"].as_str().unwrap() {
            "Delivery" => {
                assert!(mail["tags"]["ses:outgoing-ip"][0].is_string());
                assert_eq!(r["delivery"]["recipients"][0], addr);
                assert!(r["delivery"]["processingTimeMillis"].is_u64());
            }
            "Bounce" => {
                let b = &r["bounce"];
                assert_eq!(b["bounceType"], "Permanent");
                let sub = if addr.starts_with("suppressionlist") {
                    "Suppressed"
                } else {
                    "General"
                };
                assert_eq!(b["bounceSubType"], sub);
                assert_eq!(b["bouncedRecipients"][0]["emailAddress"], addr);
            }
            "Complaint" => {
                assert_eq!(
                    r["complaint"]["complainedRecipients"][0]["emailAddress"],
                    addr
                );
                assert_eq!(r["complaint"]["complaintFeedbackType"], "abuse");
            }
            _ => {}
        }
    }
    for (a, want) in &addrs {
        let mut got = per_addr.remove(a).unwrap_or_default();
        got.sort();
        let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "events of {a}");
    }
    assert_eq!(per_type.get("Send"), Some(&7));
    assert_eq!(per_type.get("Delivery"), Some(&4));
    assert_eq!(per_type.get("Bounce"), Some(&3));
    assert_eq!(per_type.get("Complaint"), Some(&1));
    let s = sim.stats();
    assert_eq!(s.events.get("Send"), Some(&7));
    assert_eq!(s.events.get("Bounce"), Some(&3));
    sim.shutdown().await.unwrap();
}

/// One record has the SES event shape: `eventType`, full `mail`, exactly one detail object.
fn check_schema(r: &Value) {
    let t = r["eventType"].as_str().unwrap();
    let detail = match t {
        "Send" => "send",
        "Delivery" => "delivery",
        "Bounce" => "bounce",
        "Complaint" => "complaint",
        "Rendering Failure" => "failure",
        other => panic!("unexpected eventType {other}"),
    };
    let obj = r.as_object().unwrap();
    assert_eq!(obj.len(), 3, "eventType, mail and one detail object: {r}");
    assert!(obj[detail].is_object(), "{r}");
    let m = &r["mail"];
    for k in [
        "timestamp",
        "messageId",
        "source",
        "sourceArn",
        "sendingAccountId",
    ] {
        assert!(m[k].is_string(), "mail.{k} in {r}");
    }
    let ts = m["timestamp"].as_str().unwrap();
    assert_eq!(ts.len(), 24, "{ts}");
    assert!(ts.ends_with('Z'));
    assert!(m["destination"].is_array());
    assert_eq!(m["headersTruncated"], false);
    assert!(
        m["headers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["name"].is_string() && h["value"].is_string())
    );
    let ch = &m["commonHeaders"];
    assert!(
        ch["from"].is_array()
            && ch["to"].is_array()
            && ch["messageId"].is_string()
            && ch["subject"].is_string()
    );
    for (_, v) in m["tags"].as_object().unwrap() {
        assert!(v.as_array().unwrap().iter().all(Value::is_string));
    }
}

#[tokio::test]
async fn rendering_failure_is_200_plus_event_and_no_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start(fast_config(dir.path())).await;
    let c = client(&sim);
    create_simple_template(&c).await;
    let id = c
        .send_email()
        .from_email_address(SENDER)
        .destination(dest("success@simulator.amazonses.com"))
        .content(template_content("SimpleEmail", r#"{"unique_code":"u1"}"#))
        .configuration_set_name("load-test-config")
        .send()
        .await
        .unwrap()
        .message_id
        .unwrap();
    // Malformed TemplateData is a BadRequestException, not an event.
    let e = c
        .send_email()
        .from_email_address(SENDER)
        .destination(dest("success@simulator.amazonses.com"))
        .content(template_content("SimpleEmail", "{not json"))
        .configuration_set_name("load-test-config")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "BadRequestException");
    sim.flush_events(true).await;
    let recs = lake_records(dir.path());
    assert_eq!(recs.len(), 1, "{recs:?}");
    check_schema(&recs[0]);
    assert_eq!(recs[0]["eventType"], "Rendering Failure");
    assert_eq!(recs[0]["mail"]["messageId"], id.as_str());
    assert_eq!(recs[0]["failure"]["templateName"], "SimpleEmail");
    assert_eq!(
        recs[0]["failure"]["errorMessage"],
        "Attribute 'first_name' is not present in the rendering data."
    );
    let m = sim.messages(10);
    assert_eq!(m[0].status, "rendering_failure");
    assert_eq!(sim.stats().rendering_failures, 1);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn burst_above_max_send_rate_is_throttled_and_paced_stream_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = fast_config(dir.path());
    cfg.max_send_rate = Some(10.0);
    let sim = start(cfg).await;
    let c = client(&sim);
    // Paced at 8/s (below 10/s) for 2 s: never throttled.
    let t0 = Instant::now();
    for i in 0..16u32 {
        let due = t0 + Duration::from_millis(125 * u64::from(i));
        tokio::time::sleep_until(due.into()).await;
        c.send_email()
            .from_email_address(SENDER)
            .destination(dest("success@simulator.amazonses.com"))
            .content(simple("paced"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("paced send {i} failed: {}", code(&e)));
    }
    // A burst of 40 at once: at most ~10 pass, the rest get 429 TooManyRequestsException.
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.send_email()
                .from_email_address(SENDER)
                .destination(dest("success@simulator.amazonses.com"))
                .content(simple("burst"))
                .send()
                .await
                .map_err(|e| {
                    let status = e.raw_response().map(|r| r.status().as_u16());
                    (code(&e), status)
                })
        }));
    }
    let mut ok = 0;
    let mut throttled = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err((c, s)) => {
                assert_eq!(c, "TooManyRequestsException");
                assert_eq!(s, Some(429));
                throttled += 1;
            }
        }
    }
    assert!((1..=12).contains(&ok), "ok={ok}");
    assert_eq!(ok + throttled, 40);
    assert_eq!(sim.stats().throttled, throttled);
    // Recipients count, not calls: a message to 11 recipients cannot pass a bucket of 10
    // unless the bucket is full.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let many = Destination::builder()
        .set_to_addresses(Some(
            (0..5)
                .map(|i| format!("success+{i}@simulator.amazonses.com"))
                .collect(),
        ))
        .build();
    for _ in 0..2 {
        c.send_email()
            .from_email_address(SENDER)
            .destination(many.clone())
            .content(simple("five"))
            .send()
            .await
            .unwrap();
    }
    let e = c
        .send_email()
        .from_email_address(SENDER)
        .destination(many)
        .content(simple("five"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "TooManyRequestsException");
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn daily_quota_counts_real_recipients_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = fast_config(dir.path());
    cfg.max_24_hour_send = Some(3);
    let sim = start(cfg).await;
    let c = client(&sim);
    for i in 0..3 {
        c.send_email()
            .from_email_address(SENDER)
            .destination(dest(&format!("user{i}@example.org")))
            .content(simple("q"))
            .send()
            .await
            .unwrap();
    }
    let e = c
        .send_email()
        .from_email_address(SENDER)
        .destination(dest("user9@example.org"))
        .content(simple("q"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "LimitExceededException");
    // Simulator recipients are exempt.
    for _ in 0..5 {
        c.send_email()
            .from_email_address(SENDER)
            .destination(dest("success@simulator.amazonses.com"))
            .content(simple("q"))
            .send()
            .await
            .unwrap();
    }
    let q = c.get_account().send().await.unwrap().send_quota.unwrap();
    assert_eq!(q.max24_hour_send(), 3.0);
    assert_eq!(q.sent_last24_hours(), 3.0);
    assert_eq!(sim.stats().daily_quota_exceeded, 1);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn sandbox_rejects_unverified_recipients_and_senders() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = fast_config(dir.path());
    cfg.sandbox = true;
    cfg.max_send_rate = None;
    cfg.max_24_hour_send = None;
    cfg.verified_identities = vec!["example.com".into(), "friend@example.org".into()];
    let sim = start(cfg).await;
    let c = client(&sim);
    let a = c.get_account().send().await.unwrap();
    assert!(!a.production_access_enabled());
    let q = a.send_quota.unwrap();
    assert_eq!((q.max_send_rate(), q.max24_hour_send()), (1.0, 200.0));
    let e = c
        .send_email()
        .from_email_address(SENDER)
        .destination(dest("stranger@example.org"))
        .content(simple("x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "MessageRejected");
    assert!(e.to_string().contains("service error") || e.to_string().contains("MessageRejected"));
    use aws_sdk_sesv2::error::ProvideErrorMetadata;
    assert!(
        e.message().unwrap().contains("stranger@example.org"),
        "{:?}",
        e.message()
    );
    c.send_email()
        .from_email_address(SENDER)
        .destination(dest("friend@example.org"))
        .content(simple("x"))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1050)).await;
    c.send_email()
        .from_email_address(SENDER)
        .destination(dest("bounce@simulator.amazonses.com"))
        .content(simple("x"))
        .send()
        .await
        .unwrap();
    // Unverified sender, even to the simulator.
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let e = c
        .send_email()
        .from_email_address("someone@unverified.test")
        .destination(dest("success@simulator.amazonses.com"))
        .content(simple("x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "MessageRejected");
    assert!(
        e.message()
            .unwrap()
            .contains("Email address is not verified"),
        "{:?}",
        e.message()
    );
    assert_eq!(sim.stats().rejected, 2);
    sim.shutdown().await.unwrap();
}

/// Outcome of each of `n` sequential SendEmail calls.
async fn fault_run(seed: u64, n: usize) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = fast_config(dir.path());
    cfg.faults = FaultConfig {
        seed,
        error_rate: 0.2,
        throttle_rate: 0.1,
        slow_rate: 0.05,
        slow_ms: 1500,
        ..FaultConfig::default()
    };
    let sim = start(cfg).await;
    let c = client_with_timeout(&sim, Duration::from_millis(700));
    let mut out = Vec::new();
    for _ in 0..n {
        let r = c
            .send_email()
            .from_email_address(SENDER)
            .destination(dest("success@simulator.amazonses.com"))
            .content(simple("f"))
            .send()
            .await;
        out.push(match r {
            Ok(_) => "ok".to_owned(),
            Err(aws_sdk_sesv2::error::SdkError::TimeoutError(_)) => "timeout".to_owned(),
            Err(e) => format!(
                "{}:{}",
                code(&e),
                e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0)
            ),
        });
    }
    sim.shutdown().await.unwrap();
    out
}

#[tokio::test]
async fn fault_injection_is_reproducible_with_a_seed() {
    let a = fault_run(42, 40).await;
    let b = fault_run(42, 40).await;
    let c = fault_run(7, 40).await;
    assert_eq!(a, b);
    assert_ne!(a, c);
    let count = |k: &str| a.iter().filter(|x| x.starts_with(k)).count();
    assert!(count("ok") > 10, "{a:?}");
    assert!(
        count("InternalFailure:500") + count("ServiceUnavailable:503") > 0,
        "{a:?}"
    );
    assert!(count("TooManyRequestsException:429") > 0, "{a:?}");
    for x in &a {
        assert!(
            [
                "ok",
                "timeout",
                "InternalFailure:500",
                "ServiceUnavailable:503",
                "TooManyRequestsException:429"
            ]
            .contains(&x.as_str()),
            "{x}"
        );
    }
}

#[tokio::test]
async fn latency_is_applied_without_blocking_other_calls() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = fast_config(dir.path());
    cfg.latency = sesload_sim::LatencyConfig::fixed(300.0);
    let sim = start(cfg).await;
    let c = client(&sim);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.get_account().send().await.map(|_| ())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let el = t0.elapsed();
    assert!(el >= Duration::from_millis(300), "{el:?}");
    assert!(
        el < Duration::from_millis(2500),
        "50 concurrent 300 ms calls took {el:?}"
    );
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn limits_and_validation_give_ses_errors() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start(fast_config(dir.path())).await;
    let c = client(&sim);
    let fifty_one = Destination::builder()
        .set_to_addresses(Some(
            (0..51)
                .map(|i| format!("success+{i}@simulator.amazonses.com"))
                .collect(),
        ))
        .build();
    let e = c
        .send_email()
        .from_email_address(SENDER)
        .destination(fifty_one)
        .content(simple("x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "BadRequestException");
    for (name, value) in [
        ("bad name", "v"),
        ("ok", "bad:value"),
        ("ses:mine", "v"),
        (&*"n".repeat(257), "v"),
    ] {
        let e = c
            .send_email()
            .from_email_address(SENDER)
            .destination(dest("success@simulator.amazonses.com"))
            .content(simple("x"))
            .email_tags(
                MessageTag::builder()
                    .name(name)
                    .value(value)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&e), "BadRequestException", "tag {name}={value}");
    }
    let e = c
        .send_email()
        .from_email_address("not-an-address")
        .destination(dest("success@simulator.amazonses.com"))
        .content(simple("x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "BadRequestException");
    let e = c
        .create_email_template()
        .template_name("Bad")
        .template_content(
            EmailTemplateContent::builder()
                .subject("{{#if}}")
                .text("t")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "BadRequestException");
    assert_eq!(sim.stats().sent_messages, 0);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn events_follow_after_the_configured_delay_and_shutdown_flushes_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = fast_config(dir.path());
    cfg.events.delivery_delay_ms_min = 60_000;
    cfg.events.delivery_delay_ms_max = 60_000;
    let sim = start(cfg).await;
    let c = client(&sim);
    send_simple_to_sim(&c).await;
    sim.flush_events(false).await;
    let now: Vec<_> = lake_records(dir.path());
    assert_eq!(now.len(), 1);
    assert_eq!(now[0]["eventType"], "Send");
    assert_eq!(sim.stats().events_pending, 1);
    sim.shutdown().await.unwrap();
    let all = lake_records(dir.path());
    assert_eq!(all.len(), 2);
    let d = all.iter().find(|r| r["eventType"] == "Delivery").unwrap();
    assert_eq!(d["delivery"]["processingTimeMillis"], 60_000);
    // No temporary files left behind.
    let mut leftovers = Vec::new();
    find_tmp(dir.path(), &mut leftovers);
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

async fn send_simple_to_sim(c: &Client) {
    c.send_email()
        .from_email_address(SENDER)
        .destination(dest("success@simulator.amazonses.com"))
        .content(simple("x"))
        .configuration_set_name("load-test-config")
        .send()
        .await
        .unwrap();
}

fn find_tmp(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            find_tmp(&p, out);
        } else if p.to_string_lossy().ends_with(".tmp") {
            out.push(p);
        }
    }
}

#[tokio::test]
async fn config_sets_without_a_lake_destination_publish_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg: SimConfig = fast_config(dir.path());
    cfg.configuration_sets.clear();
    let sim = start(cfg).await;
    let c = client(&sim);
    c.create_configuration_set()
        .configuration_set_name("load-test-config")
        .send()
        .await
        .unwrap();
    send_simple_to_sim(&c).await;
    sim.flush_events(true).await;
    assert!(lake_records(dir.path()).is_empty());
    sim.shutdown().await.unwrap();
}
