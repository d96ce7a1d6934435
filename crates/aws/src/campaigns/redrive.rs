//! A campaign's dead letters back on the source queue, each once: receive from the DLQ, keep
//! the messages whose body has the campaign's `campaign` tag (and, if asked, whose
//! `sesload_reason` attribute is the reason), `SendMessageBatch` them to the queue and only then
//! `DeleteMessageBatch` them from the DLQ. A message is never deleted before its copy is on the
//! queue; one whose delete fails is on both (a later redrive sends it again, and the ledger keeps
//! it from being sent twice).
//!
//! The other messages stay hidden while the run lasts (so each is looked at once) and are made
//! visible again at the end. A run stops after `empty_receives` empty long polls in a row, or
//! at half the visibility timeout, before the first messages it hid could come back. A standard
//! queue lets at most about 120,000 messages be in flight: a larger DLQ needs several runs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    SendMessageBatchRequestEntry,
};
use serde::Serialize;
use sesload_core::{PortError, campaign_of_body, dlq_attributes};

use crate::dynamo::error_text;

/// SQS takes at most 10 entries per batch call…
const BATCH_MAX: usize = 10;
/// …and a batch's bodies together must stay under 256 KiB.
const BATCH_MAX_BYTES: usize = 250_000;

/// What to redrive and how.
#[derive(Debug, Clone)]
pub struct RedriveRequest {
    pub dlq_url: String,
    pub queue_url: String,
    pub campaign: String,
    /// Only dead letters with this `sesload_reason` (None: all of the campaign's, those SQS
    /// moved without a reason included).
    pub reason: Option<String>,
    /// Count what would be redriven, move nothing.
    pub dry_run: bool,
    /// How long received messages stay hidden (the run lasts at most half of it).
    pub visibility: Duration,
    /// Long-poll wait of each receive, seconds (1..=20).
    pub wait_seconds: i32,
    /// Empty receives in a row that end the run.
    pub empty_receives: u32,
}

impl RedriveRequest {
    pub fn new(dlq_url: &str, queue_url: &str, campaign: &str, reason: Option<String>) -> Self {
        Self {
            dlq_url: dlq_url.to_string(),
            queue_url: queue_url.to_string(),
            campaign: campaign.to_string(),
            reason,
            dry_run: false,
            visibility: Duration::from_secs(300),
            wait_seconds: 2,
            empty_receives: 3,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RedriveReport {
    /// DLQ messages looked at.
    pub received: u64,
    /// The campaign's dead letters matching the request, by `sesload_reason` (`""`: none).
    pub matched_by_reason: BTreeMap<String, u64>,
    /// Sent to the queue and deleted from the DLQ.
    pub redriven: u64,
    /// Could not be sent to the queue: left in the DLQ.
    pub not_sent: u64,
    /// Sent to the queue but not deleted from the DLQ (on both now).
    pub not_deleted: u64,
}

impl RedriveReport {
    pub fn matched(&self) -> u64 {
        self.matched_by_reason.values().sum()
    }
}

fn reason_of(m: &Message) -> String {
    m.message_attributes()
        .and_then(|a| a.get(dlq_attributes::REASON))
        .and_then(|v| v.string_value())
        .unwrap_or_default()
        .to_string()
}

fn sqs_err(op: &'static str, url: &str, detail: String) -> PortError {
    PortError::new(op, format!("{url}: {detail}"))
}

/// Run one redrive (see the module documentation).
pub async fn redrive_campaign(
    sqs: &Client,
    req: &RedriveRequest,
) -> Result<RedriveReport, PortError> {
    let mut report = RedriveReport::default();
    let mut hidden: Vec<String> = Vec::new();
    let started = Instant::now();
    let mut empty = 0;
    while empty < req.empty_receives && started.elapsed() < req.visibility / 2 {
        let out = sqs
            .receive_message()
            .queue_url(&req.dlq_url)
            .max_number_of_messages(BATCH_MAX as i32)
            .wait_time_seconds(req.wait_seconds)
            .visibility_timeout(req.visibility.as_secs().min(43_200) as i32)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| sqs_err("dlq.receive", &req.dlq_url, error_text(&e)))?;
        let messages = out.messages();
        if messages.is_empty() {
            empty += 1;
            continue;
        }
        empty = 0;
        report.received += messages.len() as u64;
        let mut matched = Vec::new();
        for m in messages {
            let (Some(body), Some(receipt)) = (m.body(), m.receipt_handle()) else {
                continue;
            };
            let reason = reason_of(m);
            let ours = campaign_of_body(body).as_deref() == Some(req.campaign.as_str())
                && req.reason.as_ref().is_none_or(|r| *r == reason);
            if ours {
                *report.matched_by_reason.entry(reason).or_default() += 1;
            }
            if ours && !req.dry_run {
                matched.push((body, receipt));
            } else {
                hidden.push(receipt.to_string());
            }
        }
        for chunk in batches(&matched) {
            move_batch(sqs, req, chunk, &mut report, &mut hidden).await;
        }
    }
    release(sqs, &req.dlq_url, &hidden).await;
    Ok(report)
}

/// Chunks of ≤ 10 messages whose bodies stay under the batch size limit.
fn batches<'a>(msgs: &'a [(&'a str, &'a str)]) -> Vec<&'a [(&'a str, &'a str)]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, (body, _)) in msgs.iter().enumerate() {
        if i > start && (i - start == BATCH_MAX || bytes + body.len() > BATCH_MAX_BYTES) {
            out.push(&msgs[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += body.len();
    }
    if start < msgs.len() {
        out.push(&msgs[start..]);
    }
    out
}

/// Send a chunk to the queue, then delete from the DLQ what was sent.
async fn move_batch(
    sqs: &Client,
    req: &RedriveRequest,
    chunk: &[(&str, &str)],
    report: &mut RedriveReport,
    hidden: &mut Vec<String>,
) {
    let entries = chunk
        .iter()
        .enumerate()
        .map(|(i, (body, _))| {
            SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(*body)
                .build()
                .expect("id and body are set")
        })
        .collect();
    let sent: Vec<usize> = match sqs
        .send_message_batch()
        .queue_url(&req.queue_url)
        .set_entries(Some(entries))
        .send()
        .await
    {
        Ok(out) => out
            .successful()
            .iter()
            .filter_map(|s| s.id().parse().ok())
            .collect(),
        Err(e) => {
            tracing::warn!(queue = %req.queue_url, error = %error_text(&e), "redrive send failed; left in the DLQ");
            Vec::new()
        }
    };
    for (i, (_, receipt)) in chunk.iter().enumerate() {
        if !sent.contains(&i) {
            report.not_sent += 1;
            hidden.push(receipt.to_string());
        }
    }
    if sent.is_empty() {
        return;
    }
    let deletes = sent
        .iter()
        .map(|i| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(chunk[*i].1)
                .build()
                .expect("id and receipt handle are set")
        })
        .collect();
    let deleted = match sqs
        .delete_message_batch()
        .queue_url(&req.dlq_url)
        .set_entries(Some(deletes))
        .send()
        .await
    {
        Ok(out) => out.successful().len() as u64,
        Err(e) => {
            tracing::warn!(dlq = %req.dlq_url, error = %error_text(&e), "redrive delete failed; the messages are on the queue and still in the DLQ");
            0
        }
    };
    report.redriven += deleted;
    report.not_deleted += sent.len() as u64 - deleted;
}

/// Make hidden messages visible again (best effort: they come back after their visibility
/// timeout anyway).
async fn release(sqs: &Client, dlq_url: &str, receipts: &[String]) {
    for chunk in receipts.chunks(BATCH_MAX) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, r)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(r)
                    .visibility_timeout(0)
                    .build()
                    .expect("id and receipt handle are set")
            })
            .collect();
        if let Err(e) = sqs
            .change_message_visibility_batch()
            .queue_url(dlq_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            tracing::warn!(dlq = %dlq_url, error = %error_text(&e), "could not make DLQ messages visible again; they return after their visibility timeout");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_at_most_ten_messages_and_256_kib() {
        let small: Vec<(&str, &str)> = (0..23).map(|_| ("body", "r")).collect();
        let sizes: Vec<usize> = batches(&small).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![10, 10, 3]);
        let big = "x".repeat(100_000);
        let large: Vec<(&str, &str)> = (0..5).map(|_| (big.as_str(), "r")).collect();
        let sizes: Vec<usize> = batches(&large).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
        assert!(batches(&[]).is_empty());
    }
}
