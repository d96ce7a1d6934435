//! `sesload-sim`: a local Amazon SES v2 API that the unmodified `aws-sdk-sesv2` (and boto3
//! `sesv2`, and the AWS CLI) talk to through an endpoint URL.
//!
//! It models what a load test of SES needs: the REST-JSON operations and error shapes, the
//! mailbox simulator (`success@`, `bounce@`, `ooto@`, `complaint@`, `suppressionlist@`
//! `simulator.amazonses.com`, with `+label`), sandbox mode and verified identities, the
//! `MaxSendRate` (token bucket by recipients) and `Max24HourSend` quotas (over a rolling window
//! whose length is configurable, so a test can exhaust and regain it in seconds), paused
//! sending (account and configuration set), a suspended account, IAM permissions on
//! `ses:SendEmail`/`ses:SendBulkEmail`, a latency model, seeded fault injection (including the "accepted, then the
//! connection dropped" case), Handlebars templates rendered as SES does (a missing variable is a
//! `Rendering Failure` event, not an error), and SES event publishing into a local lake laid
//! out like the Firehose prefix. See `docs/simulator.md`.
//!
//! # Embedding (what the local stack calls)
//!
//! ```no_run
//! # async fn demo() -> Result<(), sesload_sim::SimError> {
//! use sesload_sim::{SimConfig, start};
//!
//! let mut config = SimConfig::default();             // or the `[sim]` section of sesload.toml
//! config.events.lake_dir = Some(".sesload/lake".into());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let sim = start(config, listener).await?;
//! let endpoint = sim.endpoint_url();                 // "http://127.0.0.1:PORT"
//! // ... point aws-sdk-sesv2 at `endpoint` (Config::builder().endpoint_url(endpoint)) ...
//! let stats = sim.stats();                           // counters, also at GET /_sim/stats
//! sim.flush_events(false).await;                     // make due events visible in the lake now
//! sim.shutdown().await?;                             // stop serving, write every pending event
//! # Ok(()) }
//! ```
//!
//! * [`SimConfig`] derives `serde::Deserialize` with `#[serde(default)]` on every struct, so
//!   `toml::from_str::<SimConfig>` of a `[sim]` table works with any subset of fields
//!   (`deny_unknown_fields` catches typos). [`SimConfig::unthrottled`] is no latency, no quota.
//! * [`start`] validates the config, starts the lake writer thread and serves on the given
//!   listener in a tokio task; it returns at once.
//! * [`SimHandle::shutdown`] stops accepting, lets in-flight requests finish (up to 5 s), then
//!   writes every pending event record (Deliveries scheduled in the future included) and rolls
//!   every lake file. Dropping the handle without `shutdown` also stops the server and the
//!   writer, without waiting.
//!
//! # HTTP surface
//! The SES v2 paths (`POST /v2/email/outbound-emails`, `POST /v2/email/outbound-bulk-emails`
//! (SendBulkEmail: up to 50 personalised entries, one status each), `GET /v2/email/account`,
//! `PUT /v2/email/account/sending`, `/v2/email/templates[/{name}[/render]]`,
//! `/v2/email/configuration-sets[/{name}[/event-destinations|/sending]]`,
//! `POST /v2/email/list-configuration-sets`) and, outside the AWS API, `GET /_sim/messages?limit=N`,
//! `GET /_sim/stats`, `POST /_sim/reset`, `POST /_sim/flush?all=true`, and the run-time switches
//! `POST /_sim/account/sending`, `POST /_sim/account/suspension`,
//! `POST /_sim/configuration-sets/{name}/sending`.
//! Errors are `HTTP status` + header `x-amzn-ErrorType: <Code>` + body `{"message": "..."}`,
//! which both the Rust SDK and botocore parse into the modelled error code.

mod api;
mod config;
mod conn;
mod events;
pub mod render;
mod server;
mod util;

pub use api::{
    MAX_BULK_ENTRIES, MAX_RECIPIENTS, Reply, RequestMeta, SIMULATOR_DOMAIN, SentMessage, SimState,
    SimStats,
};
pub use config::{
    BulkRefusal, EventConfig, FaultConfig, LatencyConfig, PermissionsConfig, SimConfig,
    TemplateSeed,
};
pub use server::{SimHandle, start};
pub use util::message_id;

/// Errors of starting or stopping the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A configuration value is out of range; the message names it.
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    /// Socket or lake directory problem.
    #[error("simulator I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The server task failed or panicked.
    #[error("simulator server failed: {0}")]
    Server(String),
}
