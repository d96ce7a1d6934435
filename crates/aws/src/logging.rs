//! How every Lambda of the stack logs: JSON lines on stdout (CloudWatch Logs adds the time),
//! filtered by `RUST_LOG` (default `info`), without span context or module targets.

/// Install the Lambda's log subscriber; call once, first thing in `main`.
pub fn init_lambda_logging() {
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
