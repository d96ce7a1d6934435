//! Setup shared by the processor tests: in-memory ports, request bodies, records.

#![allow(dead_code)]

use std::time::Duration;

use serde_json::json;
use sesload_core::memory::{Answer, MemoryCustomers, MemoryMailer, MemoryPorts};
use sesload_core::*;

/// A mailer answering by recipient local part: `success...` sends; `fail-<Code>-<status>`
/// fails with that code; `throttle-N` is throttled on its first N attempts; `panic` panics;
/// `timeout` times out after the request may have reached SES.
pub fn mailer(latency_ms: u64) -> MemoryMailer {
    MemoryMailer::new()
        .with_latency(Duration::from_millis(latency_ms))
        .with_rule(|email, attempt| {
            let local = email.to.split('@').next().unwrap_or_default();
            if local == "panic" {
                return Answer::Panic;
            }
            if local == "timeout" {
                return Answer::timeout();
            }
            if let Some(n) = local.strip_prefix("throttle-") {
                let n: u32 = n.parse().unwrap();
                if attempt <= n {
                    return Answer::throttled();
                }
            }
            if let Some(rest) = local.strip_prefix("fail-") {
                let (code, status) = rest.rsplit_once('-').unwrap();
                return Answer::error(code, status.parse().unwrap());
            }
            Answer::Accept
        })
}

pub fn customers() -> MemoryCustomers {
    MemoryCustomers::numbered(1..=1000)
}

/// The in-memory ports of one processor.
pub type MemPorts = MemoryPorts<MemoryMailer>;

pub type Proc = BatchProcessor<MemPorts>;

/// Fresh in-memory ports around `mailer`.
pub fn ports(mailer: MemoryMailer) -> MemPorts {
    sesload_core::memory::ports(customers(), mailer)
}

pub fn settings() -> ProcessorSettings {
    ProcessorSettings {
        rate_source: RateSource::Unlimited,
        send_concurrency: 8,
        ..Default::default()
    }
}

pub fn processor(mailer: MemoryMailer, s: ProcessorSettings) -> Proc {
    BatchProcessor::new(ports(mailer), s)
}

pub fn body(to_local: &str, user_id: u32, code: &str) -> String {
    body_to(
        &format!("{to_local}@simulator.amazonses.com"),
        user_id,
        code,
    )
}

pub fn body_to(to: &str, user_id: u32, code: &str) -> String {
    json!({
        "from": "sender@example.com",
        "to": to,
        "template_name": "SimpleEmail",
        "user_id": user_id.to_string(),
        "tags": [{"Name": "campaign", "Value": "t1"}],
        "unique_code": code,
    })
    .to_string()
}

pub fn rec(id: &str, body: String) -> InboundRecord {
    InboundRecord {
        message_id: id.into(),
        receipt_handle: format!("rh-{id}"),
        body,
        receive_count: 1,
        park_count: 0,
    }
}

pub fn successes(n: usize) -> Vec<InboundRecord> {
    (0..n)
        .map(|i| {
            rec(
                &format!("m{i}"),
                body("success", (i % 1000) as u32 + 1, &format!("c{i}")),
            )
        })
        .collect()
}

pub fn outcome<'a>(o: &'a BatchOutcome, id: &str) -> &'a RecordOutcome {
    &o.report.outcomes.iter().find(|(m, _)| m == id).unwrap().1
}

/// The park reason of record `id`, if it was parked.
pub fn parked(o: &BatchOutcome, id: &str) -> Option<ParkReason> {
    match outcome(o, id) {
        RecordOutcome::Parked { reason, .. } => Some(*reason),
        _ => None,
    }
}

/// Campaign `a` (20 records) was paused at `paused_at` while its batch with campaign `b` (20)
/// was sending: `a` sent something before, nothing later than the state cache allows, the rest
/// of `a` parked `campaign_paused` (nothing lost), `b` untouched, no batch item failed.
pub fn assert_a_paused_mid_batch(
    mailer: &MemoryMailer,
    out: &BatchOutcome,
    paused_at: tokio::time::Instant,
    cache: Duration,
) {
    let sent = mailer.sent();
    let a_sent = sent
        .iter()
        .filter(|s| s.email.unique_code.0.starts_with("a-"))
        .collect::<Vec<_>>();
    assert!(!a_sent.is_empty(), "a sent before the pause");
    assert!(
        a_sent
            .iter()
            .all(|s| s.at <= paused_at + cache + Duration::from_millis(500)),
        "no send of a later than the cache time after the pause"
    );
    let a_parked = out
        .report
        .outcomes
        .iter()
        .filter(|(_, o)| {
            matches!(
                o,
                RecordOutcome::Parked {
                    reason: ParkReason::CampaignPaused,
                    ..
                }
            )
        })
        .map(|(id, _)| id)
        .collect::<Vec<_>>();
    assert!(a_parked.iter().all(|id| id.starts_with("a-")));
    assert_eq!(a_sent.len() + a_parked.len(), 20, "nothing of a lost");
    assert_eq!(sent.len() - a_sent.len(), 20, "b is unaffected");
    assert!(out.batch_item_failures.is_empty());
}
