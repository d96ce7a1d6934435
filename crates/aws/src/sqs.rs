//! SQS adapters: dead-letter writes (`SendMessageBatch` with reason attributes) and retry
//! delays (`ChangeMessageVisibility`). Standard SDK retries (both calls are safe to repeat;
//! a repeated DLQ write can at worst duplicate a dead letter, never lose one).

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use sesload_core::{DeadLetter, DeadLetterSink, PortError, VisibilityControl, dlq_attributes};

use crate::dynamo::error_text;

/// SendMessageBatch takes at most 10 entries.
pub const SEND_BATCH_MAX: usize = 10;
/// SQS visibility timeout limit (12 h).
pub const MAX_VISIBILITY_SECONDS: u64 = 43_200;
/// `sesload_detail` is cut to this many characters.
pub const DETAIL_MAX_CHARS: usize = 1024;

/// [`DeadLetterSink`] writing to an SQS queue: the original body unchanged, the reason in
/// message attributes `sesload_reason`, `sesload_detail`, `sesload_source_message_id`.
#[derive(Debug, Clone)]
pub struct SqsDeadLetters {
    client: Client,
    queue_url: String,
}

fn attr(v: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
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
        match self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) => out
                .failed()
                .iter()
                .filter_map(|f| {
                    let i: usize = f.id().parse().ok()?;
                    tracing::warn!(
                        source_message_id = %letters[i].source_message_id,
                        code = f.code(),
                        message = f.message().unwrap_or_default(),
                        "dead-letter write rejected"
                    );
                    Some(letters[i].source_message_id.clone())
                })
                .collect(),
            Err(e) => {
                tracing::warn!(queue = %self.queue_url, error = %error_text(&e), "dead-letter batch failed");
                letters
                    .iter()
                    .map(|l| l.source_message_id.clone())
                    .collect()
            }
        }
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
