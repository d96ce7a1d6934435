//! The poller as the event-source emulator invokes it: the core `BatchProcessor` over the SQLite
//! adapters and the real SES v2 adapter, entered through the Lambda's own
//! `handle_sqs_event_reported` with the invocation's deadline.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use sesload_aws::ses::SesMailer;
use sesload_core::pacer::SEND_SCHEDULE;
use sesload_core::{BatchProcessor, BatchReport, Ports, ProcessorSettings, deadline_from_epoch_ms};
use sesload_local::{
    BatchHandler, Db, InvocationContext, LocalDeadLetterSink, LocalParking, LocalVisibility,
    Metrics, Queue, SqliteCampaignControl, SqliteCustomerStore, SqliteLedger, SqliteSchedule,
};

/// The ports of one local poller instance.
pub type LocalPorts = Ports<
    SqliteCustomerStore,
    SqliteLedger,
    SesMailer,
    LocalDeadLetterSink,
    LocalVisibility,
    LocalParking,
    SqliteSchedule,
    SqliteCampaignControl,
>;

/// The processor of one local poller instance.
pub type LocalProcessor = BatchProcessor<LocalPorts>;

/// One warm poller instance: its own processor (pacer, regime gate, customer cache), reporting
/// into the stack's metrics.
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
    /// A fresh instance (at start, and after a timed-out invocation). Every instance reserves
    /// its send slots from the one schedule row in the stack's database, as Lambda instances
    /// share the control table's item.
    pub fn instance(&self) -> Arc<PollerHandler> {
        Arc::new(PollerHandler {
            processor: BatchProcessor::new(
                Ports {
                    customers: SqliteCustomerStore::new(
                        self.db.clone(),
                        Some(Arc::clone(&self.metrics)),
                    ),
                    ledger: SqliteLedger::new(self.db.clone(), None),
                    mailer: SesMailer::new(self.ses.clone()),
                    dead_letters: LocalDeadLetterSink::new(self.queue.clone(), None),
                    visibility: LocalVisibility::new(self.queue.clone()),
                    parking: LocalParking::new(self.queue.clone()),
                    schedule: SqliteSchedule::new(self.db.clone(), SEND_SCHEDULE),
                    // The campaign states `sesload campaign` and `/_local/campaigns` steer.
                    campaigns: SqliteCampaignControl::new(self.db.clone()),
                },
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
        context: InvocationContext,
    ) -> Result<SqsBatchResponse, String> {
        // The emulator's deadline is always a real one (start + function timeout).
        let deadline = deadline_from_epoch_ms(context.deadline);
        let (resp, report) =
            sesload_aws::sqs_event::handle_sqs_event_reported(&self.processor, event, deadline)
                .await;
        count(&self.metrics, &report);
        Ok(resp)
    }
}

/// Add a batch's counters to the stack's metrics.
fn count(m: &Metrics, report: &BatchReport) {
    let add = |counter, n: usize| Metrics::add(counter, n as u64);
    add(&m.emails_sent, report.emails_sent);
    add(&m.emails_throttled, report.emails_throttled);
    add(&m.emails_dead_lettered, report.emails_dead_lettered);
    add(&m.duplicates_skipped, report.duplicates_skipped);
    add(&m.ambiguous_retries, report.ambiguous_retries);
    add(&m.emails_parked, report.emails_parked);
    add(&m.emails_cancelled, report.emails_cancelled);
    add(&m.deadline_returns, report.deadline_returns);
    add(&m.access_denied, report.access_denied);
    add(&m.quota_fetch_failures, report.quota_fetch_failures);
    add(&m.schedule_fallbacks, report.schedule_fallbacks);
    for ms in &report.ses_send_ms {
        m.observe_ses_send_ms(*ms);
    }
}
