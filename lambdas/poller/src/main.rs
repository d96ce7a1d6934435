//! sesload poller Lambda: configuration from the environment → AWS adapters → the core's
//! batch processor → `lambda_runtime`. All logic lives in `sesload-core` / `sesload-aws`.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use sesload_aws::{
    AwsProcessor, DynamoCustomers, DynamoLedger, SesMailer, SqsDeadLetters, SqsVisibility,
    emf_lines, handle_sqs_event_reported, ses_config,
};
use sesload_core::{PollerConfig, ProcessorSettings};

fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .init();
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
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
        DynamoCustomers::new(dynamo.clone(), &config.customers_table),
        DynamoLedger::new(dynamo, &config.ledger_table, config.ledger_ttl),
        SesMailer::new(ses),
        SqsDeadLetters::new(sqs.clone(), &config.dlq_url),
        SqsVisibility::new(sqs, &config.queue_url),
        ProcessorSettings::from_config(&config),
    );
    let namespace = config.metrics_namespace.clone();

    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let processor = processor.clone();
        let namespace = namespace.clone();
        let function_name = function_name.clone();
        async move {
            let (response, report) = handle_sqs_event_reported(&processor, event.payload).await;
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
                duplicates = report.duplicates_skipped,
                duration_ms = report.batch_duration_ms,
                "batch done"
            );
            Ok::<SqsBatchResponse, Error>(response)
        }
    }))
    .await
}
