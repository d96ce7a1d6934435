//! The regimes a real SES account meets, through the unmodified `aws-sdk-sesv2` client over real
//! HTTP: a daily quota over a (compressed) rolling window, sending paused at run time for the
//! account or a configuration set, a suspended account, IAM permissions, the maybe-sent
//! transport fault, and slow responses.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::SdkError;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, Template};
use common::*;
use serde_json::Value;
use sesload_sim::{FaultConfig, PermissionsConfig, SimConfig, SimHandle, TemplateSeed};

const SENDER: &str = "sender@example.com";
const SET: &str = "load-test-config";

type SendResult =
    Result<String, SdkError<SendEmailError, aws_sdk_sesv2::config::http::HttpResponse>>;

fn simple() -> EmailContent {
    EmailContent::builder()
        .simple(
            Message::builder()
                .subject(Content::builder().data("s").build().unwrap())
                .body(
                    Body::builder()
                        .text(Content::builder().data("b").build().unwrap())
                        .build(),
                )
                .build(),
        )
        .build()
}

fn template(name: Option<&str>, arn: Option<&str>) -> EmailContent {
    let t = Template::builder()
        .set_template_name(name.map(str::to_owned))
        .set_template_arn(arn.map(str::to_owned))
        .template_data(r#"{"first_name":"Ann"}"#)
        .build();
    EmailContent::builder().template(t).build()
}

/// SendEmail from `from` to `to`, with `content` and optionally a configuration set.
async fn send(
    c: &Client,
    from: &str,
    to: &[&str],
    content: EmailContent,
    set: Option<&str>,
) -> SendResult {
    let dest = Destination::builder()
        .set_to_addresses(Some(to.iter().map(|s| s.to_string()).collect()))
        .build();
    c.send_email()
        .from_email_address(from)
        .destination(dest)
        .content(content)
        .set_configuration_set_name(set.map(str::to_owned))
        .send()
        .await
        .map(|o| o.message_id.unwrap())
}

async fn send_simple(c: &Client, to: &[&str], set: Option<&str>) -> SendResult {
    send(c, SENDER, to, simple(), set).await
}

async fn sim_post(sim: &SimHandle, path: &str, body: &str) -> Value {
    let (status, etype, text) = raw_http(sim, "POST", path, body.as_bytes()).await;
    assert_eq!(status, 200, "{path}: {etype:?} {text}");
    serde_json::from_str(&text).unwrap()
}

async fn sent_last_24_hours(c: &Client) -> f64 {
    let a = c.get_account().send().await.unwrap();
    a.send_quota.unwrap().sent_last24_hours()
}

fn quiet_config() -> SimConfig {
    let mut cfg = SimConfig::unthrottled();
    cfg.events.lake_dir = None;
    cfg
}

#[tokio::test]
async fn daily_quota_rolls_over_a_compressed_window() {
    let mut cfg = quiet_config();
    cfg.max_24_hour_send = Some(5);
    cfg.daily_window_seconds = 2;
    let sim = start(cfg).await;
    let c = client(&sim);
    let q = c.get_account().send().await.unwrap().send_quota.unwrap();
    assert_eq!((q.max24_hour_send(), q.sent_last24_hours()), (5.0, 0.0));

    send_simple(
        &c,
        &["a@example.org", "b@example.org", "c@example.org"],
        None,
    )
    .await
    .unwrap();
    // The first three are in the window no later than now: they leave by t0 + 2 s.
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // The next two are recorded no earlier than now: they stay until at least t1 + 2 s.
    let t1 = Instant::now();
    send_simple(&c, &["d@example.org", "e@example.org"], None)
        .await
        .unwrap();
    assert_eq!(sent_last_24_hours(&c).await, 5.0);
    let e = send_simple(&c, &["f@example.org"], None).await.unwrap_err();
    assert_eq!(
        service_error(&e),
        (
            "LimitExceededException".into(),
            400,
            "Daily message quota exceeded.".into()
        )
    );
    // Mailbox-simulator recipients do not count against the daily quota.
    send_simple(&c, &["success@simulator.amazonses.com"], None)
        .await
        .unwrap();

    // The window rolls: the first three leave, the last two stay.
    tokio::time::sleep(
        (t0 + Duration::from_millis(2100)).saturating_duration_since(Instant::now()),
    )
    .await;
    assert_eq!(sent_last_24_hours(&c).await, 2.0);
    send_simple(
        &c,
        &["g@example.org", "h@example.org", "i@example.org"],
        None,
    )
    .await
    .unwrap();
    let e = send_simple(&c, &["j@example.org"], None).await.unwrap_err();
    assert_eq!(code(&e), "LimitExceededException");
    assert!(
        t1.elapsed() < Duration::from_secs(2),
        "the checks above must run while the last two are still in the window"
    );
    let stats = sim.stats();
    assert_eq!(stats.daily_quota_exceeded, 2);
    assert_eq!(stats.sent_last_24_hours, 5);
    assert_eq!(stats.client_errors, 0);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn account_sending_pauses_and_resumes_through_ses_and_sim() {
    let sim = start(quiet_config()).await;
    let c = client(&sim);
    assert!(c.get_account().send().await.unwrap().sending_enabled());

    c.put_account_sending_attributes()
        .sending_enabled(false)
        .send()
        .await
        .unwrap();
    assert!(!c.get_account().send().await.unwrap().sending_enabled());
    let e = send_simple(&c, &["success@simulator.amazonses.com"], None)
        .await
        .unwrap_err();
    let (code_, status, message) = service_error(&e);
    assert_eq!((code_.as_str(), status), ("SendingPausedException", 400));
    assert!(
        message.contains("Sending paused for this account"),
        "{message}"
    );
    assert!(
        matches!(
            e.as_service_error(),
            Some(SendEmailError::SendingPausedException(_))
        ),
        "the SDK models it: {e:?}"
    );
    c.put_account_sending_attributes()
        .sending_enabled(true)
        .send()
        .await
        .unwrap();
    send_simple(&c, &["success@simulator.amazonses.com"], None)
        .await
        .unwrap();

    // The same switch outside the AWS API.
    let v = sim_post(&sim, "/_sim/account/sending", r#"{"enabled": false}"#).await;
    assert_eq!(v["enabled"], false);
    assert!(!c.get_account().send().await.unwrap().sending_enabled());
    let e = send_simple(&c, &["x@example.org"], Some(SET))
        .await
        .unwrap_err();
    assert_eq!(code(&e), "SendingPausedException");
    sim_post(&sim, "/_sim/account/sending", r#"{"enabled": true}"#).await;
    assert!(c.get_account().send().await.unwrap().sending_enabled());
    send_simple(&c, &["x@example.org"], Some(SET))
        .await
        .unwrap();

    // A bad switch body is a 400 naming the problem.
    let (status, etype, body) = raw_http(
        &sim,
        "POST",
        "/_sim/account/sending",
        br#"{"enable": false}"#,
    )
    .await;
    assert_eq!(
        (status, etype.as_deref()),
        (400, Some("BadRequestException"))
    );
    assert!(body.contains("enable"), "{body}");

    let stats = sim.stats();
    assert_eq!((stats.sending_paused, stats.sent_messages), (2, 2));
    assert_eq!(stats.requests["PutAccountSendingAttributes"], 2);
    assert_eq!(sim.messages(10).len(), 2);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn configuration_set_sending_pauses_and_resumes_through_ses_and_sim() {
    let mut cfg = quiet_config();
    cfg.configuration_sets = vec![SET.into(), "other-set".into()];
    let sim = start(cfg).await;
    let c = client(&sim);
    let enabled = |c: Client, set: &'static str| async move {
        let s = c
            .get_configuration_set()
            .configuration_set_name(set)
            .send()
            .await
            .unwrap();
        s.sending_options().unwrap().sending_enabled()
    };
    assert!(enabled(c.clone(), SET).await);

    c.put_configuration_set_sending_options()
        .configuration_set_name(SET)
        .sending_enabled(false)
        .send()
        .await
        .unwrap();
    assert!(!enabled(c.clone(), SET).await);
    let e = send_simple(&c, &["x@example.org"], Some(SET))
        .await
        .unwrap_err();
    let (code_, status, message) = service_error(&e);
    assert_eq!((code_.as_str(), status), ("SendingPausedException", 400));
    assert!(
        message.contains("configuration set load-test-config"),
        "{message}"
    );
    // Other sets, and sends without a set, are not affected.
    send_simple(&c, &["x@example.org"], Some("other-set"))
        .await
        .unwrap();
    send_simple(&c, &["x@example.org"], None).await.unwrap();
    c.put_configuration_set_sending_options()
        .configuration_set_name(SET)
        .sending_enabled(true)
        .send()
        .await
        .unwrap();
    send_simple(&c, &["x@example.org"], Some(SET))
        .await
        .unwrap();

    let v = sim_post(
        &sim,
        "/_sim/configuration-sets/other-set/sending",
        r#"{"enabled":false}"#,
    )
    .await;
    assert_eq!(v["enabled"], false);
    assert!(!enabled(c.clone(), "other-set").await);
    let e = send_simple(&c, &["x@example.org"], Some("other-set"))
        .await
        .unwrap_err();
    assert_eq!(code(&e), "SendingPausedException");
    sim_post(
        &sim,
        "/_sim/configuration-sets/other-set/sending",
        r#"{"enabled":true}"#,
    )
    .await;
    send_simple(&c, &["x@example.org"], Some("other-set"))
        .await
        .unwrap();

    // Unknown sets: 404 through both.
    let e = c
        .put_configuration_set_sending_options()
        .configuration_set_name("nope")
        .sending_enabled(false)
        .send()
        .await
        .unwrap_err();
    assert_eq!(service_error(&e).0, "NotFoundException");
    assert_eq!(service_error(&e).1, 404);
    let (status, etype, _) = raw_http(
        &sim,
        "POST",
        "/_sim/configuration-sets/nope/sending",
        br#"{"enabled":true}"#,
    )
    .await;
    assert_eq!((status, etype.as_deref()), (404, Some("NotFoundException")));

    let stats = sim.stats();
    assert_eq!((stats.sending_paused, stats.sent_messages), (2, 4));
    assert_eq!(stats.requests["PutConfigurationSetSendingOptions"], 3);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn suspended_account_cannot_send_until_reinstated() {
    let mut cfg = quiet_config();
    cfg.account_suspended = true;
    let sim = start(cfg).await;
    let c = client(&sim);
    let a = c.get_account().send().await.unwrap();
    assert_eq!(a.enforcement_status(), Some("SHUTDOWN"));
    let e = send_simple(&c, &["success@simulator.amazonses.com"], None)
        .await
        .unwrap_err();
    let (code_, status, message) = service_error(&e);
    assert_eq!((code_.as_str(), status), ("AccountSuspendedException", 400));
    assert!(message.contains("permanently restricted"), "{message}");
    assert!(matches!(
        e.as_service_error(),
        Some(SendEmailError::AccountSuspendedException(_))
    ));
    // Resuming sending does not lift a suspension.
    c.put_account_sending_attributes()
        .sending_enabled(true)
        .send()
        .await
        .unwrap();
    let e = send_simple(&c, &["x@example.org"], None).await.unwrap_err();
    assert_eq!(code(&e), "AccountSuspendedException");

    let v = sim_post(&sim, "/_sim/account/suspension", r#"{"suspended": false}"#).await;
    assert_eq!(v["suspended"], false);
    assert_eq!(
        c.get_account().send().await.unwrap().enforcement_status(),
        Some("HEALTHY")
    );
    send_simple(&c, &["x@example.org"], None).await.unwrap();
    sim_post(&sim, "/_sim/account/suspension", r#"{"suspended": true}"#).await;
    let e = send_simple(&c, &["x@example.org"], None).await.unwrap_err();
    assert_eq!(code(&e), "AccountSuspendedException");
    // Suspension comes before a pause.
    sim_post(&sim, "/_sim/account/sending", r#"{"enabled": false}"#).await;
    let e = send_simple(&c, &["x@example.org"], None).await.unwrap_err();
    assert_eq!(code(&e), "AccountSuspendedException");

    let stats = sim.stats();
    assert_eq!((stats.account_suspended, stats.sending_paused), (4, 0));
    assert_eq!((stats.sent_messages, stats.sent_last_24_hours), (1, 1));

    // Reset clears the counters and puts the account back as configured (suspended, sending).
    sim.reset();
    let stats = sim.stats();
    assert_eq!(
        (
            stats.account_suspended,
            stats.sending_paused,
            stats.sent_messages
        ),
        (0, 0, 0)
    );
    let a = c.get_account().send().await.unwrap();
    assert!(a.sending_enabled());
    assert_eq!(a.enforcement_status(), Some("SHUTDOWN"));
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn permissions_deny_resources_outside_the_policy_with_a_403() {
    let mut cfg = quiet_config();
    cfg.verified_identities = vec!["example.com".into(), "other.org".into()];
    cfg.configuration_sets = vec![SET.into(), "other-set".into()];
    cfg.templates = ["Allowed1", "Other"]
        .into_iter()
        .map(|n| TemplateSeed {
            name: n.into(),
            subject: "Hi {{first_name}}".into(),
            text: Some("t".into()),
            html: None,
        })
        .collect();
    cfg.permissions = PermissionsConfig {
        identities: Some(vec!["example.com".into()]),
        templates: Some(vec!["arn:aws:ses:*:123456789012:template/Allowed*".into()]),
        configuration_sets: Some(vec![SET.into()]),
        principal: None,
    };
    let sim = start(cfg).await;
    let c = client(&sim);

    // Allowed: identity, template (by name and by ARN), configuration set.
    send(
        &c,
        SENDER,
        &["x@example.org"],
        template(Some("Allowed1"), None),
        Some(SET),
    )
    .await
    .unwrap();
    let arn = "arn:aws:ses:us-east-1:123456789012:template/Allowed1";
    send(
        &c,
        SENDER,
        &["x@example.org"],
        template(None, Some(arn)),
        None,
    )
    .await
    .unwrap();
    send(&c, SENDER, &["x@example.org"], simple(), None)
        .await
        .unwrap();

    let denied = [
        (
            send(
                &c,
                SENDER,
                &["x@example.org"],
                template(Some("Other"), None),
                Some(SET),
            )
            .await,
            "arn:aws:ses:us-east-1:123456789012:template/Other",
        ),
        (
            send(&c, "x@other.org", &["x@example.org"], simple(), None).await,
            "arn:aws:ses:us-east-1:123456789012:identity/other.org",
        ),
        (
            send_simple(&c, &["x@example.org"], Some("other-set")).await,
            "arn:aws:ses:us-east-1:123456789012:configuration-set/other-set",
        ),
        // IAM answers before SES looks: a template outside the policy is denied even if it
        // does not exist.
        (
            send(
                &c,
                SENDER,
                &["x@example.org"],
                template(Some("Nope"), None),
                None,
            )
            .await,
            "arn:aws:ses:us-east-1:123456789012:template/Nope",
        ),
    ];
    for (r, resource) in denied {
        let e = r.unwrap_err();
        let (code_, status, message) = service_error(&e);
        assert_eq!(
            (code_.as_str(), status),
            ("AccessDeniedException", 403),
            "{message}"
        );
        assert_eq!(
            message,
            format!(
                "User: arn:aws:sts::123456789012:assumed-role/sesload-sim/AKIDSIMTEST is not authorized to perform: ses:SendEmail on resource: {resource} because no identity-based policy allows the ses:SendEmail action"
            )
        );
    }
    let stats = sim.stats();
    assert_eq!((stats.access_denied, stats.client_errors), (4, 0));
    assert_eq!(stats.sent_messages, 3);
    assert_eq!(sim.messages(10).len(), 3);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn drop_after_accept_records_the_send_and_closes_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = fast_config(dir.path());
    cfg.max_24_hour_send = Some(100);
    cfg.faults = FaultConfig {
        drop_after_accept_rate: 1.0,
        ..FaultConfig::default()
    };
    let sim = start(cfg).await;
    let c = client(&sim);
    let e = send_simple(&c, &["someone@example.org"], Some(SET))
        .await
        .unwrap_err();
    assert!(
        matches!(e, SdkError::DispatchFailure(_) | SdkError::ResponseError(_)),
        "a transport error, not an answer: {e:?}"
    );
    assert!(e.raw_response().is_none(), "no HTTP response: {e:?}");
    // The message went out all the same: logged, counted, published.
    let logged = sim.messages(10);
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].to, ["someone@example.org"]);
    assert_eq!(sent_last_24_hours(&c).await, 1.0);
    sim.flush_events(true).await;
    let recs = lake_records(dir.path());
    let id = &logged[0].message_id;
    let kinds: Vec<&str> = recs
        .iter()
        .filter(|r| r["mail"]["messageId"] == id.as_str())
        .map(|r| r["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Send", "Delivery"]);
    // A call that is refused is answered as usual, not dropped.
    let e = send(&c, "x@unverified.test", &["a@example.org"], simple(), None)
        .await
        .unwrap_err();
    assert_eq!(service_error(&e).0, "MessageRejected");
    let stats = sim.stats();
    assert_eq!((stats.dropped_after_accept, stats.sent_messages), (1, 1));
    sim.reset();
    assert_eq!(sim.stats().dropped_after_accept, 0);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn slow_fault_delays_a_seeded_tenth_of_sends_past_the_client_timeout() {
    let mut cfg = quiet_config();
    cfg.faults = FaultConfig {
        seed: 11,
        slow_rate: 0.1,
        slow_ms: 1500,
        ..FaultConfig::default()
    };
    let sim = start(cfg).await;
    let c = client_with_timeout(&sim, Duration::from_millis(700));
    let calls = (0..40).map(|i| {
        let c = c.clone();
        tokio::spawn(async move {
            let to = format!("user{i}@example.org");
            send_simple(&c, &[to.as_str()], None).await
        })
    });
    let mut timeouts = 0;
    for call in calls.collect::<Vec<_>>() {
        match call.await.unwrap() {
            Ok(_) => {}
            Err(SdkError::TimeoutError(_)) => timeouts += 1,
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    let stats = sim.stats();
    assert!(stats.fault_slow > 0 && stats.fault_slow <= 10, "{stats:?}");
    assert_eq!(
        timeouts, stats.fault_slow,
        "exactly the slow calls time out"
    );
    // A slow call is still served: every send is in the log.
    assert_eq!(sim.messages(100).len(), 40);
    sim.shutdown().await.unwrap();
}
