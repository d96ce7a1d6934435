//! AWS adapters for the sesload ports.
//!
//! - [`SesMailer`]: SES v2 `SendEmail` / `GetAccount` ([`ses_config`]: no SDK retries).
//! - [`DynamoCustomers`]: `BatchGetItem` (100 keys per call, `UnprocessedKeys` retried).
//! - [`DynamoLedger`]: conditional `PutItem` claims with a lease, TTL on `expires_at`.
//! - [`SqsDeadLetters`], [`SqsVisibility`]: `SendMessageBatch` with reason attributes,
//!   `ChangeMessageVisibility`.
//! - [`SqsParking`]: `SendMessageBatch` of delayed copies (park reason and count attributes) to
//!   the source queue.
//! - [`DynamoSchedule`]: the fleet's send schedule, an item of the control table moved with
//!   conditional writes.
//! - [`DynamoCampaigns`]: campaign states in the control table (conditional `UpdateItem` on a
//!   version), cancelled records counted once (`TransactWriteItems`); [`campaigns::redrive`] a
//!   campaign's dead letters back on the queue; [`campaigns::status`] what status reads.
//! - [`DynamoGuardCounters`]: the guardrails' per-minute counts in the control table (`ADD`);
//!   [`handle_guard_sqs_event`]: the guard Lambda's batch of SES events from EventBridge →
//!   counts → guardrail check → auto-pause.
//! - [`emf_lines`]: Embedded Metric Format lines for a batch report.
//! - [`handle_sqs_event_reported`]: Lambda SQS event → partial batch response + batch report.
//! - [`athena`] (feature `athena`): the analytics `QueryRunner` over Athena (`sesload report
//!   --athena`).

#[cfg(feature = "athena")]
pub mod athena;
pub mod campaigns;
pub mod control;
pub mod dynamo;
pub mod emf;
pub mod guard;
pub mod logging;
pub mod seed;
pub mod ses;
pub mod sqs;
pub mod sqs_event;

pub use campaigns::DynamoCampaigns;
pub use control::DynamoSchedule;
pub use dynamo::{DynamoCustomers, DynamoLedger, customer_from_item};
pub use emf::emf_lines;
pub use guard::{DynamoGuardCounters, handle_guard_sqs_event};
pub use ses::{SesMailer, ses_client_for_endpoint, ses_config};
pub use sqs::{SqsDeadLetters, SqsParking, SqsVisibility};
pub use sqs_event::{handle_sqs_event_reported, to_inbound, to_response};

/// The poller's ports on AWS.
pub type AwsPorts = sesload_core::Ports<
    DynamoCustomers,
    DynamoLedger,
    SesMailer,
    SqsDeadLetters,
    SqsVisibility,
    SqsParking,
    DynamoSchedule,
    DynamoCampaigns,
>;

/// The poller's processor over the AWS adapters.
pub type AwsProcessor = sesload_core::BatchProcessor<AwsPorts>;
