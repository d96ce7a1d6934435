//! The poller as the event-source emulator invokes it: the core `BatchProcessor` over the SQLite
//! adapters and the real SES v2 adapter, entered through the Lambda's own
//! `handle_sqs_event_reported`.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use sesload_aws::ses::SesMailer;
use sesload_core::{BatchProcessor, ProcessorSettings};
use sesload_local::{
    BatchHandler, Db, InvocationContext, LocalDeadLetterSink, LocalVisibility, Metrics, Queue,
    SqliteCustomerStore, SqliteLedger,
};

/// The processor of one local poller instance.
pub type LocalProcessor = BatchProcessor<
    SqliteCustomerStore,
    SqliteLedger,
    SesMailer,
    LocalDeadLetterSink,
    LocalVisibility,
>;

/// One warm poller instance: its own processor (pacer at its share of the quota, customer
/// cache), reporting into the stack's metrics.
pub struct PollerHandler {
    processor: LocalProcessor,
    metrics: Arc<Metrics>,
}

/// What a poller instance is built from; [`PollerFactory::instance`] builds one.
#[derive(Clone)]
pub struct PollerFactory {
    pub db: Db,
    pub queue: Queue,
    pub ses: aws_sdk_sesv2::Client,
    pub settings: ProcessorSettings,
    pub metrics: Arc<Metrics>,
}

impl PollerFactory {
    /// A fresh instance (at start, and after a timed-out invocation).
    pub fn instance(&self) -> Arc<PollerHandler> {
        Arc::new(PollerHandler {
            processor: BatchProcessor::new(
                SqliteCustomerStore::new(self.db.clone(), Some(Arc::clone(&self.metrics))),
                SqliteLedger::new(self.db.clone(), None),
                SesMailer::new(self.ses.clone()),
                LocalDeadLetterSink::new(self.queue.clone(), None),
                LocalVisibility::new(self.queue.clone()),
                self.settings.clone(),
            ),
            metrics: Arc::clone(&self.metrics),
        })
    }
}

impl BatchHandler for PollerHandler {
    async fn handle(
        &self,
        event: SqsEvent,
        // The invocation's deadline. The processor does not take one yet; the event-source
        // emulator enforces it by abandoning the invocation.
        _context: InvocationContext,
    ) -> Result<SqsBatchResponse, String> {
        let (resp, report) =
            sesload_aws::sqs_event::handle_sqs_event_reported(&self.processor, event).await;
        let m = &self.metrics;
        Metrics::add(&m.emails_sent, report.emails_sent as u64);
        Metrics::add(&m.emails_throttled, report.emails_throttled as u64);
        Metrics::add(&m.emails_dead_lettered, report.emails_dead_lettered as u64);
        Metrics::add(&m.duplicates_skipped, report.duplicates_skipped as u64);
        Metrics::add(&m.ambiguous_retries, report.ambiguous_retries as u64);
        for ms in &report.ses_send_ms {
            m.observe_ses_send_ms(*ms);
        }
        Ok(resp)
    }
}
