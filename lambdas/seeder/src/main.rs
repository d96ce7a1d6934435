//! sesload seeder Lambda: event `{"count": N}` (default 10,000) → customers "1".."N" in
//! `CUSTOMERS_TABLE`. Returns the seed report as JSON.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde::Deserialize;
use sesload_aws::seed::{SeedReport, seed_customers};

/// Largest count one invocation accepts (≈ 40 s of writes at on-demand capacity).
const MAX_COUNT: u64 = 1_000_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedEvent {
    #[serde(default = "default_count")]
    count: u64,
}

fn default_count() -> u64 {
    10_000
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    sesload_aws::logging::init_lambda_logging();
    let table = match std::env::var("CUSTOMERS_TABLE") {
        Ok(t) if !t.trim().is_empty() => t,
        _ => {
            tracing::error!("CUSTOMERS_TABLE is required but not set");
            return Err("CUSTOMERS_TABLE is required but not set".into());
        }
    };
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let client = client.clone();
        let table = table.clone();
        async move {
            let payload = if event.payload.is_null() {
                serde_json::json!({})
            } else {
                event.payload
            };
            let ev: SeedEvent = serde_json::from_value(payload.clone())
                .map_err(|e| format!("invalid seeder event {payload}: {e} (expected {{\"count\": N}})"))?;
            if ev.count > MAX_COUNT {
                return Err(format!("count {} is above the limit of {MAX_COUNT}", ev.count).into());
            }
            let report: SeedReport = seed_customers(&client, &table, ev.count).await?;
            tracing::info!(table = %report.table, written = report.written, calls = report.batch_write_calls,
                unprocessed_retries = report.unprocessed_retries, "seeded");
            Ok::<SeedReport, Error>(report)
        }
    }))
    .await
}
