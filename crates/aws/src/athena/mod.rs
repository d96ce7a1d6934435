//! The Athena [`QueryRunner`]: the saved queries of `sql/` in the deployment's workgroup.
//!
//! Per call: every query is started with `StartQueryExecution` (its text unchanged, the campaign
//! and the `dt` range as `ExecutionParameters`, in the workgroup, with the database as context),
//! one after the other so they run side by side; `GetQueryExecution` is polled for each with a
//! doubling interval until SUCCEEDED (FAILED or CANCELLED is an error carrying Athena's
//! `StateChangeReason`; past the timeout the queries still running are stopped); then
//! `GetQueryResults` is read page by page (`NextToken`) into the rows the DuckDB runner produces.
//!
//! [`AthenaRunner`] owns a small Tokio runtime so the synchronous report code can use it; call
//! [`QueryRunner::run_many`] from outside an async runtime, or [`AthenaRunner::run_bound`] from
//! async code.

mod results;
pub mod settings;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_athena::error::DisplayErrorContext;
use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};
use sesload_analytics::params::{Bound, QueryParams, bind};
use sesload_analytics::{DtRange, Query, QueryRunner, ResultSet};

pub use results::Pages;
pub use settings::{AthenaSettings, PartialSettings};

/// Rows per `GetQueryResults` call (Athena's maximum).
pub const PAGE_SIZE: i32 = 1000;

/// Athena bills a query's scanned bytes rounded up to the megabyte, at least this many.
pub const MIN_BILLED_BYTES: u64 = 10_000_000;

/// Athena's price per TB scanned in most regions (us-east-1, eu-west-1), for the estimate in
/// [`QueryRunner::usage`]; the console's pricing page has your region's.
pub const USD_PER_TB: f64 = 5.0;

/// What can go wrong running queries in Athena, each naming the query and the bad value.
#[derive(Debug, thiserror::Error)]
pub enum AthenaError {
    #[error(
        "cannot read the deployment's outputs with `terraform -chdir={dir} output -json`: {detail} (or give --athena-workgroup and --athena-database)", dir = dir.display()
    )]
    Terraform { dir: PathBuf, detail: String },
    #[error("output {name} missing from {origin} (or give it as a flag)")]
    MissingOutput { name: &'static str, origin: String },
    #[error("cannot start a Tokio runtime for the Athena client: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("Athena {operation} for query {query}: {detail}")]
    Api {
        operation: &'static str,
        query: String,
        detail: String,
    },
    #[error("Athena query {query} ({execution_id}) {state}: {reason}")]
    Failed {
        query: String,
        execution_id: String,
        state: String,
        reason: String,
    },
    #[error(
        "Athena query {query} ({execution_id}) still {state} after {waited:?}: stopped (raise --athena-timeout, or narrow --from/--to)"
    )]
    Timeout {
        query: String,
        execution_id: String,
        state: String,
        waited: Duration,
    },
    #[error("unexpected Athena result for query {query}: {detail}")]
    Result { query: String, detail: String },
}

impl From<AthenaError> for sesload_analytics::Error {
    fn from(e: AthenaError) -> Self {
        sesload_analytics::Error::Runner(Box::new(e))
    }
}

/// Runs saved queries in one Athena workgroup.
#[derive(Debug)]
pub struct AthenaRunner {
    client: aws_sdk_athena::Client,
    settings: AthenaSettings,
    runtime: tokio::runtime::Runtime,
    first_poll: Duration,
    max_poll: Duration,
    scanned: AtomicU64,
    billed: AtomicU64,
    succeeded: AtomicU64,
}

impl AthenaRunner {
    /// A runner over `client` (e.g. one pointed at a test endpoint). The client must not have
    /// been used on another runtime: its pooled connections belong to the runtime that opened them.
    pub fn new(
        client: aws_sdk_athena::Client,
        settings: AthenaSettings,
    ) -> Result<Self, AthenaError> {
        Ok(Self::with_runtime(runtime()?, client, settings))
    }

    /// A runner with the SDK's default credentials chain, in `settings.region` when set.
    pub fn from_env(settings: AthenaSettings) -> Result<Self, AthenaError> {
        let runtime = runtime()?;
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(r) = &settings.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        // Loaded on the runner's own runtime: the credentials chain may open connections.
        let sdk = runtime.block_on(loader.load());
        let client = aws_sdk_athena::Client::new(&sdk);
        Ok(Self::with_runtime(runtime, client, settings))
    }

    fn with_runtime(
        runtime: tokio::runtime::Runtime,
        client: aws_sdk_athena::Client,
        settings: AthenaSettings,
    ) -> Self {
        AthenaRunner {
            client,
            settings,
            runtime,
            first_poll: Duration::from_millis(250),
            max_poll: Duration::from_secs(5),
            scanned: AtomicU64::new(0),
            billed: AtomicU64::new(0),
            succeeded: AtomicU64::new(0),
        }
    }

    /// Poll `GetQueryExecution` first after `first`, doubling up to `max` (default 250 ms, 5 s).
    pub fn with_poll_interval(mut self, first: Duration, max: Duration) -> Self {
        self.first_poll = first;
        self.max_poll = max.max(first);
        self
    }

    pub fn settings(&self) -> &AthenaSettings {
        &self.settings
    }

    /// Bytes the queries of this runner scanned so far (what Athena bills, per query at least
    /// 10 MB).
    pub fn scanned_bytes(&self) -> u64 {
        self.scanned.load(Ordering::Relaxed)
    }

    /// Start every query, wait for all, read their results (in the order given).
    pub async fn run_bound(&self, queries: &[Bound]) -> Result<Vec<ResultSet>, AthenaError> {
        let mut ids = Vec::with_capacity(queries.len());
        for q in queries {
            match self.start(q).await {
                Ok(id) => ids.push(id),
                Err(e) => {
                    self.stop_all(&ids).await;
                    return Err(e);
                }
            }
        }
        let deadline = Instant::now() + self.settings.timeout;
        let waits = queries
            .iter()
            .zip(&ids)
            .map(|(q, id)| self.wait(&q.name, id, deadline));
        if let Err(e) = futures::future::try_join_all(waits).await {
            // Nothing keeps running (and billing) after the call has failed.
            self.stop_all(&ids).await;
            return Err(e);
        }
        let reads = queries
            .iter()
            .zip(&ids)
            .map(|(q, id)| self.results(&q.name, id));
        futures::future::try_join_all(reads).await
    }

    async fn start(&self, q: &Bound) -> Result<String, AthenaError> {
        let mut req = self
            .client
            .start_query_execution()
            .query_string(&q.sql)
            .work_group(&self.settings.workgroup)
            .query_execution_context(
                QueryExecutionContext::builder()
                    .database(&self.settings.database)
                    .build(),
            );
        if !q.values.is_empty() {
            req = req.set_execution_parameters(Some(q.values.clone()));
        }
        if let Some(loc) = &self.settings.output_location {
            req = req
                .result_configuration(ResultConfiguration::builder().output_location(loc).build());
        }
        let out = req
            .send()
            .await
            .map_err(|e| api("StartQueryExecution", &q.name, e))?;
        let id = out.query_execution_id().unwrap_or_default().to_owned();
        if id.is_empty() {
            return Err(AthenaError::Result {
                query: q.name.clone(),
                detail: "StartQueryExecution returned no QueryExecutionId".into(),
            });
        }
        tracing::debug!(query = %q.name, execution_id = %id, "athena query started");
        Ok(id)
    }

    async fn wait(&self, name: &str, id: &str, deadline: Instant) -> Result<(), AthenaError> {
        let started = Instant::now();
        let mut delay = self.first_poll;
        loop {
            let out = self
                .client
                .get_query_execution()
                .query_execution_id(id)
                .send()
                .await
                .map_err(|e| api("GetQueryExecution", name, e))?;
            let qe = out.query_execution();
            let status = qe.and_then(|q| q.status());
            let state = status.and_then(|s| s.state()).cloned();
            match state {
                Some(QueryExecutionState::Succeeded) => {
                    let bytes = qe
                        .and_then(|q| q.statistics())
                        .and_then(|s| s.data_scanned_in_bytes())
                        .unwrap_or(0);
                    let bytes = bytes.max(0) as u64;
                    self.scanned.fetch_add(bytes, Ordering::Relaxed);
                    self.billed.fetch_add(billed(bytes), Ordering::Relaxed);
                    self.succeeded.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(query = %name, execution_id = %id, bytes, "athena query succeeded");
                    return Ok(());
                }
                Some(s @ (QueryExecutionState::Failed | QueryExecutionState::Cancelled)) => {
                    let reason = status
                        .and_then(|st| st.state_change_reason())
                        .or_else(|| {
                            status
                                .and_then(|st| st.athena_error())
                                .and_then(|e| e.error_message())
                        })
                        .unwrap_or("Athena gave no reason")
                        .to_owned();
                    return Err(AthenaError::Failed {
                        query: name.to_owned(),
                        execution_id: id.to_owned(),
                        state: s.as_str().to_owned(),
                        reason,
                    });
                }
                _ => {}
            }
            let now = Instant::now();
            if now >= deadline {
                self.stop(id).await;
                return Err(AthenaError::Timeout {
                    query: name.to_owned(),
                    execution_id: id.to_owned(),
                    state: state.map_or("UNKNOWN".into(), |s| s.as_str().to_owned()),
                    waited: now - started,
                });
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay * 2).min(self.max_poll);
        }
    }

    async fn results(&self, name: &str, id: &str) -> Result<ResultSet, AthenaError> {
        let mut pages = Pages::default();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .get_query_results()
                .query_execution_id(id)
                .max_results(PAGE_SIZE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| api("GetQueryResults", name, e))?;
            let rs = out.result_set();
            let columns = rs
                .and_then(|r| r.result_set_metadata())
                .map(|m| m.column_info())
                .unwrap_or_default();
            pages.push(name, columns, rs.map(|r| r.rows()).unwrap_or_default())?;
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(pages.finish()),
            }
        }
    }

    async fn stop(&self, id: &str) {
        if let Err(e) = self
            .client
            .stop_query_execution()
            .query_execution_id(id)
            .send()
            .await
        {
            tracing::warn!(execution_id = %id, error = %DisplayErrorContext(&e), "could not stop the Athena query");
        }
    }

    async fn stop_all(&self, ids: &[String]) {
        futures::future::join_all(ids.iter().map(|id| self.stop(id))).await;
    }
}

/// What Athena bills for a query that scanned `bytes`: rounded up to the MB, 10 MB at least.
pub fn billed(bytes: u64) -> u64 {
    bytes
        .div_ceil(1_000_000)
        .saturating_mul(1_000_000)
        .max(MIN_BILLED_BYTES)
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn runtime() -> Result<tokio::runtime::Runtime, AthenaError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(AthenaError::Runtime)
}

fn api<E: std::error::Error + 'static>(operation: &'static str, query: &str, e: E) -> AthenaError {
    AthenaError::Api {
        operation,
        query: query.to_owned(),
        detail: DisplayErrorContext(&e).to_string(),
    }
}

impl QueryRunner for AthenaRunner {
    fn describe(&self) -> String {
        let region = self
            .settings
            .region
            .clone()
            .or_else(|| self.client.config().region().map(|r| r.to_string()))
            .unwrap_or_else(|| "the default region".into());
        format!(
            "Athena workgroup {}, database {}, {region}",
            self.settings.workgroup, self.settings.database
        )
    }

    fn usage(&self) -> Option<String> {
        let queries = self.succeeded.load(Ordering::Relaxed);
        let billed = self.billed.load(Ordering::Relaxed);
        (queries > 0).then(|| {
            format!(
                "{queries} queries scanned {}, billed {} (about ${:.4} at ${USD_PER_TB} per TB)",
                megabytes(self.scanned_bytes()),
                megabytes(billed),
                billed as f64 / 1e12 * USD_PER_TB
            )
        })
    }

    /// The last [`sesload_analytics::range::DEFAULT_DAYS`] days: Athena bills what a query
    /// scans, so an unbounded default would cost more every day the deployment lives.
    fn default_range(&self) -> DtRange {
        DtRange::recent()
    }

    fn run_many(
        &self,
        queries: &[&Query],
        params: &QueryParams,
    ) -> sesload_analytics::Result<Vec<ResultSet>> {
        let bound = queries
            .iter()
            .map(|q| bind(q, params))
            .collect::<sesload_analytics::Result<Vec<_>>>()?;
        Ok(self.runtime.block_on(self.run_bound(&bound))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn athena_bills_whole_megabytes_and_ten_at_least() {
        assert_eq!(billed(0), 10_000_000);
        assert_eq!(billed(10_000_001), 11_000_000);
        assert_eq!(billed(123_000_000), 123_000_000);
    }
}
