//! The [`Mailer`] contract.

use std::collections::HashSet;

use super::run_prefix;
use crate::classify::{FailureClass, classify};
use crate::model::{DlqReason, OutgoingEmail, Tag, UniqueCode};
use crate::ports::{Mailer, SendQuota};

/// A template name no service has.
pub const MISSING_TEMPLATE: &str = "sesload-contract-no-such-template";

async fn quota<M: Mailer>(mailer: &M, case: &str) -> SendQuota {
    let q = mailer
        .quota()
        .await
        .unwrap_or_else(|e| panic!("mailer contract, {case}: quota failed: {e}"));
    assert!(
        q.max_send_rate.is_finite() && q.max_send_rate > 0.0,
        "mailer contract, {case}: max_send_rate {}",
        q.max_send_rate
    );
    assert!(
        q.max_24_hour_send.is_none_or(|m| m.is_finite() && m > 0.0),
        "mailer contract, {case}: max_24_hour_send {:?} (None when unlimited)",
        q.max_24_hour_send
    );
    assert!(
        q.sent_last_24_hours.is_finite() && q.sent_last_24_hours >= 0.0,
        "mailer contract, {case}: sent_last_24_hours {}",
        q.sent_last_24_hours
    );
    q
}

/// Run every mailer case with emails from `sender@example.com` to the SES mailbox simulator's
/// `success@simulator.amazonses.com` using `template` (which the service must have), one
/// `unique_code` each, and one with the template [`MISSING_TEMPLATE`].
pub async fn mailer<M: Mailer>(mailer: &M, template: &str) {
    let prefix = run_prefix("mailer");
    let email = |suffix: &str, template: &str| {
        let code = format!("{prefix}-{suffix}");
        OutgoingEmail {
            from: "sender@example.com".into(),
            to: "success@simulator.amazonses.com".into(),
            template_name: template.to_string(),
            template_data: format!(r#"{{"first_name":"Ada","unique_code":"{code}"}}"#),
            configuration_set: None,
            tags: vec![Tag {
                name: "unique_code".into(),
                value: code.clone(),
            }],
            unique_code: UniqueCode(code),
        }
    };

    // The quota is usable for pacing.
    quota(mailer, "quota").await;

    // Accepted sends answer distinct, non-empty message ids.
    let case = "accepted sends";
    let mut ids = HashSet::new();
    for i in 0..3 {
        let id = mailer
            .send(&email(&format!("ok-{i}"), template))
            .await
            .unwrap_or_else(|f| panic!("mailer contract, {case}: send {i} failed: {f:?}"));
        assert!(
            !id.0.is_empty(),
            "mailer contract, {case}: empty message id"
        );
        assert!(
            ids.insert(id.0.clone()),
            "mailer contract, {case}: message id {id} answered twice"
        );
    }

    // The quota still answers after sends. (Sends to the mailbox simulator do not count in
    // `sent_last_24_hours` on SES, so the contract does not compare the two answers.)
    quota(mailer, "quota after sends").await;

    // A missing template is SES's NotFoundException: answered (404), so certainly not sent,
    // and classified as a permanent failure.
    let case = "missing template";
    let f = mailer
        .send(&email("missing", MISSING_TEMPLATE))
        .await
        .expect_err("mailer contract, missing template: the send was accepted");
    assert_eq!(
        (f.code.as_str(), f.status, f.maybe_sent),
        ("NotFoundException", Some(404), false),
        "mailer contract, {case}: {f:?}"
    );
    assert_eq!(
        classify(&f),
        FailureClass::Permanent(DlqReason::SesNotFound),
        "mailer contract, {case}"
    );
}
