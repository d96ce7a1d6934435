//! sesload guard Lambda: configuration from the environment (`CONTROL_TABLE`,
//! `METRICS_NAMESPACE`, `GUARDRAIL_*`) → the control table's adapters → the guard's batch handler
//! (`sesload_aws::handle_guard_sqs_event`) → `lambda_runtime`. Its SQS queue is filled by the
//! EventBridge rule matching the configuration set's Send, Bounce and Complaint events.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use sesload_aws::guard::guard_emf_line;
use sesload_aws::{DynamoCampaigns, DynamoGuardCounters, handle_guard_sqs_event};
use sesload_core::campaign::guardrail::GuardConfig;
use sesload_core::clock::unix_ms;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    sesload_aws::logging::init_lambda_logging();
    let config = match GuardConfig::from_lookup(|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "invalid guard configuration (see docs/configuration.md)");
            return Err(format!("invalid guard configuration: {e}").into());
        }
    };
    let function_name =
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "guard".to_string());
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let control = DynamoCampaigns::new(dynamo.clone(), &config.control_table);
    let counters = DynamoGuardCounters::new(dynamo, &config.control_table);
    let settings = config.guardrails;
    let namespace = config.metrics_namespace.clone();

    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let (control, counters) = (control.clone(), counters.clone());
        let (namespace, function_name) = (namespace.clone(), function_name.clone());
        async move {
            let now = unix_ms();
            let (response, report) =
                handle_guard_sqs_event(&control, &counters, &settings, event.payload, now).await;
            println!(
                "{}",
                guard_emf_line(&report, &namespace, &function_name, now)
            );
            tracing::info!(
                received = report.received,
                counted = report.counted,
                ignored = report.ignored,
                invalid = report.invalid,
                buckets = report.buckets_written,
                bucket_failures = report.bucket_failures,
                campaigns_checked = report.campaigns_checked,
                paused = ?report.paused,
                check_failures = report.check_failures,
                "guard batch done"
            );
            Ok::<SqsBatchResponse, Error>(response)
        }
    }))
    .await
}
