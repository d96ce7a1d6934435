//! sesload poller Lambda: configuration from the environment → AWS adapters → the core's
//! batch processor → `lambda_runtime`. All logic lives in `sesload-core` / `sesload-aws`.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use sesload_aws::{
    AwsPorts, AwsProcessor, DynamoCampaigns, DynamoCustomers, DynamoLedger, DynamoSchedule,
    SesMailer, SqsDeadLetters, SqsParking, SqsVisibility, emf_lines, handle_sqs_event_reported,
    ses_config,
};
use sesload_core::pacer::SEND_SCHEDULE;
use sesload_core::{PollerConfig, deadline_from_epoch_ms};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    sesload_aws::logging::init_lambda_logging();
    let config = match PollerConfig::from_lookup(|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "invalid poller configuration (see docs/configuration.md)");
            return Err(format!("invalid poller configuration: {e}").into());
        }
    };
    let function_name =
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "poller".to_string());

    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let ses = aws_sdk_sesv2::Client::from_conf(ses_config(&sdk).build());
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);

    let processor: AwsProcessor = AwsProcessor::new(
        AwsPorts {
            customers: DynamoCustomers::new(dynamo.clone(), &config.customers_table),
            ledger: DynamoLedger::new(dynamo.clone(), &config.ledger_table, config.ledger_ttl),
            mailer: SesMailer::new(ses),
            dead_letters: SqsDeadLetters::new(sqs.clone(), &config.dlq_url),
            visibility: SqsVisibility::new(sqs.clone(), &config.queue_url),
            parking: SqsParking::new(sqs, &config.queue_url),
            // The fleet's send schedule: item `schedule#ses-send` of CONTROL_TABLE.
            schedule: DynamoSchedule::new(dynamo.clone(), &config.control_table, SEND_SCHEDULE),
            // Campaign states: items `campaign#<name>` of CONTROL_TABLE (and the markers
            // `cancelled#<name>#<unique_code>` of cancelled records).
            campaigns: DynamoCampaigns::new(dynamo, &config.control_table),
        },
        config.processor.clone(),
    );
    let namespace = config.metrics_namespace.clone();

    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let processor = processor.clone();
        let namespace = namespace.clone();
        let function_name = function_name.clone();
        async move {
            // Context.deadline: epoch ms at which Lambda abandons the invocation.
            let deadline = deadline_from_epoch_ms(event.context.deadline);
            if deadline.is_none() {
                tracing::warn!(
                    deadline_ms = event.context.deadline,
                    "the invocation's deadline is not a time within Lambda's 15 minutes; processing without one"
                );
            }
            let (response, report) =
                handle_sqs_event_reported(&processor, event.payload, deadline).await;
            let ts = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as u64;
            for line in emf_lines(&report, &namespace, &function_name, ts) {
                println!("{line}");
            }
            tracing::info!(
                received = report.emails_received,
                sent = report.emails_sent,
                retried = report.emails_retried,
                dead_lettered = report.emails_dead_lettered,
                parked = report.emails_parked,
                deadline_returns = report.deadline_returns,
                duplicates = report.duplicates_skipped,
                duration_ms = report.batch_duration_ms,
                "batch done"
            );
            Ok::<SqsBatchResponse, Error>(response)
        }
    }))
    .await
}
