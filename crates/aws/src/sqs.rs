//! SQS adapters: dead-letter writes (`SendMessageBatch` with reason attributes), retry delays
//! (`ChangeMessageVisibility`) and parking (`SendMessageBatch` of delayed copies to the source
//! queue). Standard SDK retries (every call is safe to repeat; a repeated DLQ write or park
//! can at worst duplicate a dead letter or a parked copy, never lose one, and the ledger
//! dedupes a copy that comes back twice).

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use sesload_core::{
    DeadLetter, DeadLetterSink, ParkedRecord, Parking, PortError, VisibilityControl,
    dlq_attributes, park_attributes,
};

use crate::dynamo::error_text;

/// SendMessageBatch takes at most 10 entries.
pub const SEND_BATCH_MAX: usize = 10;
/// SQS visibility timeout limit (12 h).
pub const MAX_VISIBILITY_SECONDS: u64 = 43_200;
/// SQS `DelaySeconds` limit (15 min): a parked copy waits at most this long.
pub const MAX_DELAY_SECONDS: u64 = 900;
/// `sesload_detail` is cut to this many characters.
pub const DETAIL_MAX_CHARS: usize = 1024;

/// `SendMessageBatch` of `entries` whose ids are their index in `sources` (the source message
/// ids they stand for). Returns the source ids of the entries SQS did not take: those it
/// reported as failed, or all of them when the call itself failed. `what` names the write in
/// logs.
async fn send_entries(
    client: &Client,
    queue_url: &str,
    entries: Vec<SendMessageBatchRequestEntry>,
    sources: &[&str],
    what: &str,
) -> Vec<String> {
    match client
        .send_message_batch()
        .queue_url(queue_url)
        .set_entries(Some(entries))
        .send()
        .await
    {
        Ok(out) => out
            .failed()
            .iter()
            .filter_map(|f| {
                let source = *sources.get(f.id().parse::<usize>().ok()?)?;
                tracing::warn!(
                    source_message_id = %source,
                    code = f.code(),
                    message = f.message().unwrap_or_default(),
                    "{what} rejected"
                );
                Some(source.to_string())
            })
            .collect(),
        Err(e) => {
            tracing::warn!(queue = %queue_url, error = %error_text(&e), "{what} batch failed");
            sources.iter().map(|s| s.to_string()).collect()
        }
    }
}

/// [`DeadLetterSink`] writing to an SQS queue: the original body unchanged, the reason in
/// message attributes `sesload_reason`, `sesload_detail`, `sesload_source_message_id`.
#[derive(Debug, Clone)]
pub struct SqsDeadLetters {
    client: Client,
    queue_url: String,
}

fn attr(v: &str) -> MessageAttributeValue {
    typed_attr("String", v)
}

fn typed_attr(data_type: &str, v: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(v)
        .build()
        .expect("data_type is set")
}

impl SqsDeadLetters {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// Write up to 10 letters; returns the source ids that were not written.
    async fn send_chunk(&self, letters: &[DeadLetter]) -> Vec<String> {
        let mut entries = Vec::with_capacity(letters.len());
        for (i, l) in letters.iter().enumerate() {
            let detail: String = l.detail.chars().take(DETAIL_MAX_CHARS).collect();
            // SQS rejects empty attribute values
            let detail = if detail.is_empty() {
                "-".to_string()
            } else {
                detail
            };
            let source = if l.source_message_id.is_empty() {
                "-"
            } else {
                l.source_message_id.as_str()
            };
            let entry = SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(&l.body)
                .message_attributes(dlq_attributes::REASON, attr(l.reason.code()))
                .message_attributes(dlq_attributes::DETAIL, attr(&detail))
                .message_attributes(dlq_attributes::SOURCE_MESSAGE_ID, attr(source))
                .build()
                .expect("id and body are set");
            entries.push(entry);
        }
        let sources: Vec<&str> = letters
            .iter()
            .map(|l| l.source_message_id.as_str())
            .collect();
        send_entries(
            &self.client,
            &self.queue_url,
            entries,
            &sources,
            "dead-letter write",
        )
        .await
    }
}

impl DeadLetterSink for SqsDeadLetters {
    async fn send_batch(&self, letters: &[DeadLetter]) -> Vec<String> {
        futures::future::join_all(letters.chunks(SEND_BATCH_MAX).map(|c| self.send_chunk(c)))
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}

/// [`VisibilityControl`] over `ChangeMessageVisibility` on the source queue.
#[derive(Debug, Clone)]
pub struct SqsVisibility {
    client: Client,
    queue_url: String,
}

impl SqsVisibility {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

/// Whole seconds for SQS, rounded up, capped at 12 h.
pub fn visibility_seconds(delay: Duration) -> i32 {
    let s = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
    s.min(MAX_VISIBILITY_SECONDS) as i32
}

impl VisibilityControl for SqsVisibility {
    async fn delay(&self, receipt_handle: &str, delay: Duration) -> Result<(), PortError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(visibility_seconds(delay))
            .send()
            .await
            .map_err(|e| PortError::new("queue.change_visibility", error_text(&e)))?;
        Ok(())
    }
}

/// [`Parking`] over the source queue: each record's body goes back unchanged as a new message
/// (`SendMessageBatch`, 10 per call, the calls concurrent) with `DelaySeconds` = the park delay
/// ([`park_delay_seconds`]) and the message attributes `sesload_park_reason` (String) and
/// `sesload_park_count` (Number). The original is acknowledged by the processor (left out of
/// `batchItemFailures`), so a fresh message starts again at receive count 0.
#[derive(Debug, Clone)]
pub struct SqsParking {
    client: Client,
    queue_url: String,
}

/// Whole seconds for `DelaySeconds`, rounded up, capped at [`MAX_DELAY_SECONDS`].
pub fn park_delay_seconds(delay: Duration) -> i32 {
    let s = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
    s.min(MAX_DELAY_SECONDS) as i32
}

impl SqsParking {
    /// `queue_url`: the SOURCE queue (the one the poller's event source mapping reads).
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// Park up to 10 records; returns the source ids that were not parked.
    async fn park_chunk(&self, records: &[ParkedRecord]) -> Vec<String> {
        let entries = records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&r.body)
                    .delay_seconds(park_delay_seconds(r.delay))
                    .message_attributes(park_attributes::REASON, attr(r.reason.code()))
                    .message_attributes(
                        park_attributes::COUNT,
                        typed_attr("Number", &r.park_count.to_string()),
                    )
                    .build()
                    .expect("id and body are set")
            })
            .collect();
        let sources: Vec<&str> = records
            .iter()
            .map(|r| r.source_message_id.as_str())
            .collect();
        send_entries(&self.client, &self.queue_url, entries, &sources, "park").await
    }
}

impl Parking for SqsParking {
    async fn park(&self, records: &[ParkedRecord]) -> Vec<String> {
        futures::future::join_all(records.chunks(SEND_BATCH_MAX).map(|c| self.park_chunk(c)))
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn park_delays_are_whole_seconds_rounded_up_and_capped_at_15_minutes() {
        assert_eq!(park_delay_seconds(Duration::ZERO), 0);
        assert_eq!(park_delay_seconds(Duration::from_millis(1)), 1);
        assert_eq!(park_delay_seconds(Duration::from_millis(1_500)), 2);
        assert_eq!(park_delay_seconds(Duration::from_secs(900)), 900);
        assert_eq!(park_delay_seconds(Duration::from_secs(86_400)), 900);
    }
}
