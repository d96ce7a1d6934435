//! Lambda SQS event ↔ core types.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use sesload_core::{
    BatchOutcome, BatchProcessor, BatchReport, InboundRecord, PortSet, park_attributes,
};
use tokio::time::Instant;

/// One SQS message as an [`InboundRecord`]. `ApproximateReceiveCount` defaults to 1; the park
/// count comes from the message attribute `sesload_park_count` (0 when absent).
pub fn to_inbound(m: SqsMessage) -> InboundRecord {
    let receive_count = m
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let park_count = m
        .message_attributes
        .get(park_attributes::COUNT)
        .and_then(|a| a.string_value.as_deref())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    InboundRecord {
        message_id: m.message_id.unwrap_or_default(),
        receipt_handle: m.receipt_handle.unwrap_or_default(),
        body: m.body.unwrap_or_default(),
        receive_count,
        park_count,
    }
}

/// The partial batch response: exactly the retryable records.
pub fn to_response(outcome: &BatchOutcome) -> SqsBatchResponse {
    let mut resp = SqsBatchResponse::default();
    for id in &outcome.batch_item_failures {
        resp.add_failure(id.clone());
    }
    resp
}

/// Process an SQS event before `deadline` (the invocation's, see
/// `sesload_core::deadline_from_epoch_ms`); returns the response and the report (for metrics).
pub async fn handle_sqs_event_reported<P: PortSet>(
    processor: &BatchProcessor<P>,
    event: SqsEvent,
    deadline: Option<Instant>,
) -> (SqsBatchResponse, BatchReport) {
    let records: Vec<InboundRecord> = event.records.into_iter().map(to_inbound).collect();
    // Boxed: one allocation per invocation keeps the processor's deeply nested future type out
    // of the caller's (the Lambda's runtime future otherwise exceeds rustc's layout depth).
    let outcome = Box::pin(processor.process(records, deadline)).await;
    (to_response(&outcome), outcome.report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_an_sqs_event_and_builds_the_response_json() {
        let event: SqsEvent = serde_json::from_value(json!({"Records": [{
            "messageId": "m-1", "receiptHandle": "rh-1", "body": "{}",
            "attributes": {"ApproximateReceiveCount": "3"},
            "messageAttributes": {"sesload_park_count": {"stringValue": "2", "dataType": "Number",
                "stringListValues": [], "binaryListValues": []}}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-west-1:1:q", "awsRegion": "eu-west-1"
        }]}))
        .unwrap();
        let r = to_inbound(event.records.into_iter().next().unwrap());
        assert_eq!(r.message_id, "m-1");
        assert_eq!(r.receipt_handle, "rh-1");
        assert_eq!(r.receive_count, 3);
        assert_eq!(r.park_count, 2);
        let outcome = BatchOutcome {
            batch_item_failures: vec!["m-1".into()],
            ..Default::default()
        };
        let v = serde_json::to_value(to_response(&outcome)).unwrap();
        assert_eq!(v, json!({"batchItemFailures": [{"itemIdentifier": "m-1"}]}));
        let v = serde_json::to_value(to_response(&BatchOutcome::default())).unwrap();
        assert_eq!(v, json!({"batchItemFailures": []}));
    }
}
