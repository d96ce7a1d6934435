//! The Athena query runner against moto's Athena server (query execution with its parameters,
//! state polling, results, the timeout that stops a query) and, for what moto cannot produce
//! (result pages with `NextToken`, a FAILED or CANCELLED state with Athena's reason), against the
//! real SDK client with `aws-smithy-mocks` answering instead of HTTP.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput;
use aws_sdk_athena::operation::get_query_results::GetQueryResultsOutput;
use aws_sdk_athena::operation::start_query_execution::StartQueryExecutionOutput;
use aws_sdk_athena::operation::stop_query_execution::StopQueryExecutionOutput;
use aws_sdk_athena::types::{
    ColumnInfo, Datum, QueryExecution, QueryExecutionState, QueryExecutionStatus,
    ResultConfiguration, ResultSet as AthenaResultSet, ResultSetMetadata, Row,
    WorkGroupConfiguration,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use serde_json::{Value, json};
use sesload_analytics::params::PARAMETERS;
use sesload_analytics::range::parse_day;
use sesload_analytics::{Catalog, DtRange, QueryParams, QueryRunner};
use sesload_aws::athena::{AthenaRunner, AthenaSettings, PAGE_SIZE};

const WORKGROUP: &str = "sesload";
const DATABASE: &str = "sesload";
const RESULTS: &str = "s3://sesload-events/athena-results/";

fn settings(timeout: Duration) -> AthenaSettings {
    AthenaSettings {
        workgroup: WORKGROUP.into(),
        database: DATABASE.into(),
        region: Some("us-east-1".into()),
        output_location: Some(RESULTS.into()),
        timeout,
    }
}

fn moto_client(url: &str) -> aws_sdk_athena::Client {
    aws_sdk_athena::Client::from_conf(
        aws_sdk_athena::Config::builder()
            .behavior_version(aws_sdk_athena::config::BehaviorVersion::latest())
            .region(aws_sdk_athena::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_athena::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .endpoint_url(url)
            .build(),
    )
}

fn params() -> QueryParams {
    let range = DtRange::new(
        parse_day("2026-11-27").unwrap(),
        parse_day("2026-11-28").unwrap(),
    )
    .unwrap();
    QueryParams::new(Some("run-1"), range)
}

/// A moto result: a header row with the column names, then `rows` (None = NULL).
fn moto_result(columns: &[(&str, &str)], rows: &[Vec<Option<String>>]) -> Value {
    let cell = |v: &Option<String>| match v {
        Some(s) => json!({"VarCharValue": s}),
        None => json!({}),
    };
    let header = json!({"Data": columns.iter().map(|(n, _)| json!({"VarCharValue": n})).collect::<Vec<_>>()});
    let mut all = vec![header];
    all.extend(
        rows.iter()
            .map(|r| json!({"Data": r.iter().map(cell).collect::<Vec<_>>()})),
    );
    json!({
        "rows": all,
        "column_info": columns.iter().map(|(n, t)| json!({
            "Name": n, "Label": n, "Type": t, "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN",
            "CaseSensitive": false
        })).collect::<Vec<_>>(),
    })
}

/// The executions started in the workgroup.
async fn execution_ids(c: &aws_sdk_athena::Client) -> Vec<String> {
    c.list_query_executions()
        .work_group(WORKGROUP)
        .send()
        .await
        .unwrap()
        .query_execution_ids()
        .to_vec()
}

/// Setup and checks go through their own client on their own runtime (the runner has its own).
fn with_setup<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn saved_queries_run_in_the_workgroup_with_parameters_and_polled_states() {
    let moto = common::start_moto();
    const THROUGHPUT_ROWS: usize = 2_500;
    with_setup(async {
        let c = moto_client(&moto.url);
        c.create_work_group()
            .name(WORKGROUP)
            .configuration(
                WorkGroupConfiguration::builder()
                    .result_configuration(
                        ResultConfiguration::builder()
                            .output_location(RESULTS)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        // Each execution stays QUEUED, then RUNNING, for 3 GetQueryExecution calls before it
        // moves on: GetQueryResults fails in moto unless the runner waited for SUCCEEDED.
        moto.moto_api(
            "/moto-api/state-manager/set-transition",
            json!({"model_name": "athena::execution", "transition": {"progression": "manual", "times": 3}}),
        )
        .await;
        // Results are handed to executions in the order they start: 01, then 03.
        let summary = moto_result(
            &[
                ("campaign", "varchar"),
                ("duration_seconds", "double"),
                ("events", "bigint"),
                ("first_event_at", "varchar"),
            ],
            &[vec![
                Some("run-1".into()),
                Some("28.5".into()),
                Some("1234".into()),
                None,
            ]],
        );
        let timeline = moto_result(
            &[("epoch_second", "bigint"), ("sends", "bigint")],
            &(0..THROUGHPUT_ROWS)
                .map(|i| {
                    vec![
                        Some((1_795_823_400 + i as i64).to_string()),
                        Some((i % 14).to_string()),
                    ]
                })
                .collect::<Vec<_>>(),
        );
        moto.moto_api(
            "/moto-api/static/athena/query-results",
            json!({"results": [summary, timeline]}),
        )
        .await;
    });

    let catalog = Catalog::embedded();
    let queries = [
        catalog.query("01_campaign_summary").unwrap(),
        catalog.query("03_throughput").unwrap(),
    ];
    let runner = AthenaRunner::new(moto_client(&moto.url), settings(Duration::from_secs(60)))
        .unwrap()
        .with_poll_interval(Duration::from_millis(10), Duration::from_millis(40));
    let t = Instant::now();
    let results = runner.run_many(&queries, &params()).unwrap();
    assert!(t.elapsed() < Duration::from_secs(30));

    // The rows, typed as the DuckDB runner gives them; the header row is not data.
    let summary = &results[0];
    assert_eq!(
        summary.columns,
        ["campaign", "duration_seconds", "events", "first_event_at"]
    );
    assert_eq!(summary.types, ["VARCHAR", "DOUBLE", "BIGINT", "VARCHAR"]);
    assert_eq!(
        summary.rows,
        vec![vec![json!("run-1"), json!(28.5), json!(1234), Value::Null]]
    );
    // Moto reports 0 bytes scanned: each query is billed Athena's 10 MB minimum.
    let usage = runner.usage().unwrap();
    assert!(
        usage.starts_with("2 queries scanned 0.0 MB, billed 20.0 MB"),
        "{usage}"
    );
    let timeline = &results[1];
    assert_eq!(timeline.rows.len(), THROUGHPUT_ROWS);
    assert_eq!(timeline.get(0, "epoch_second"), &json!(1_795_823_400_i64));
    assert_eq!(
        timeline.u64(THROUGHPUT_ROWS - 1, "sends"),
        ((THROUGHPUT_ROWS - 1) % 14) as u64
    );

    // What Athena was asked: the file's statement unchanged, the three parameters as SQL
    // literals in order, the database as context, the workgroup and the results location.
    with_setup(async {
        let c = moto_client(&moto.url);
        let ids = execution_ids(&c).await;
        assert_eq!(ids.len(), 2, "{ids:?}");
        let mut seen = Vec::new();
        for id in ids {
            let qe = c
                .get_query_execution()
                .query_execution_id(&id)
                .send()
                .await
                .unwrap()
                .query_execution
                .unwrap();
            assert_eq!(
                qe.execution_parameters(),
                ["'run-1'", "'2026-11-27'", "'2026-11-28'"]
            );
            assert_eq!(qe.execution_parameters().len(), PARAMETERS);
            assert_eq!(
                qe.query_execution_context().and_then(|c| c.database()),
                Some(DATABASE)
            );
            assert_eq!(qe.work_group(), Some(WORKGROUP));
            assert!(
                qe.result_configuration()
                    .and_then(|r| r.output_location())
                    .is_some_and(|l| l.starts_with(RESULTS))
            );
            assert_eq!(
                qe.status().and_then(|s| s.state()),
                Some(&QueryExecutionState::Succeeded)
            );
            seen.push(qe.query().unwrap_or_default().to_owned());
        }
        for q in queries {
            let text = q.sql.trim_end().trim_end_matches(';');
            assert!(
                seen.iter().any(|s| s == text),
                "{} was not sent as written",
                q.name
            );
        }
    });
}

#[test]
fn a_query_still_queued_at_the_timeout_is_stopped_and_named() {
    let moto = common::start_moto();
    with_setup(async {
        let c = moto_client(&moto.url);
        c.create_work_group().name(WORKGROUP).send().await.unwrap();
        // Never leaves QUEUED.
        moto.moto_api(
            "/moto-api/state-manager/set-transition",
            json!({"model_name": "athena::execution", "transition": {"progression": "manual", "times": 1000000}}),
        )
        .await;
    });
    let catalog = Catalog::embedded();
    let q = catalog.query("02_duplicates").unwrap();
    let runner = AthenaRunner::new(moto_client(&moto.url), settings(Duration::from_millis(800)))
        .unwrap()
        .with_poll_interval(Duration::from_millis(20), Duration::from_millis(100));
    let t = Instant::now();
    let err = runner.run(q, &params()).unwrap_err().to_string();
    assert!(
        t.elapsed() >= Duration::from_millis(800),
        "{:?}",
        t.elapsed()
    );
    assert!(
        err.contains("02_duplicates") && err.contains("still QUEUED") && err.contains("stopped"),
        "{err}"
    );
    // The runner stopped it: nothing keeps running (and billing) after the error.
    with_setup(async {
        let c = moto_client(&moto.url);
        let ids = execution_ids(&c).await;
        assert_eq!(ids.len(), 1);
        let state = c
            .get_query_execution()
            .query_execution_id(&ids[0])
            .send()
            .await
            .unwrap()
            .query_execution
            .and_then(|q| q.status)
            .and_then(|s| s.state);
        assert_eq!(state, Some(QueryExecutionState::Cancelled));
    });
}

// --- what moto cannot produce -------------------------------------------------------------

fn execution(state: QueryExecutionState, reason: Option<&str>) -> GetQueryExecutionOutput {
    GetQueryExecutionOutput::builder()
        .query_execution(
            QueryExecution::builder()
                .query_execution_id("qe-1")
                .status(
                    QueryExecutionStatus::builder()
                        .state(state)
                        .set_state_change_reason(reason.map(str::to_owned))
                        .build(),
                )
                .build(),
        )
        .build()
}

fn page(header: bool, first: usize, n: usize, token: Option<&str>) -> GetQueryResultsOutput {
    let cell = |s: String| Datum::builder().var_char_value(s).build();
    let mut rows = Vec::new();
    if header {
        rows.push(Row::builder().data(cell("n".into())).build());
    }
    rows.extend((first..first + n).map(|i| Row::builder().data(cell(i.to_string())).build()));
    GetQueryResultsOutput::builder()
        .result_set(
            AthenaResultSet::builder()
                .set_rows(Some(rows))
                .result_set_metadata(
                    ResultSetMetadata::builder()
                        .column_info(
                            ColumnInfo::builder()
                                .name("n")
                                .label("n")
                                .r#type("bigint")
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build(),
        )
        .set_next_token(token.map(str::to_owned))
        .build()
}

#[test]
fn results_are_read_page_by_page_with_next_token() {
    let start = mock!(aws_sdk_athena::Client::start_query_execution).then_output(|| {
        StartQueryExecutionOutput::builder()
            .query_execution_id("qe-1")
            .build()
    });
    let poll = mock!(aws_sdk_athena::Client::get_query_execution)
        .sequence()
        .output(|| execution(QueryExecutionState::Queued, None))
        .output(|| execution(QueryExecutionState::Running, None))
        .output(|| execution(QueryExecutionState::Succeeded, None))
        .build();
    // 2,500 rows over three pages: 999 after the header, 1,000, then 501 with no NextToken.
    let first = mock!(aws_sdk_athena::Client::get_query_results)
        .match_requests(|r| r.next_token().is_none() && r.max_results() == Some(PAGE_SIZE))
        .then_output(|| page(true, 0, 999, Some("t1")));
    let second = mock!(aws_sdk_athena::Client::get_query_results)
        .match_requests(|r| r.next_token() == Some("t1"))
        .then_output(|| page(false, 999, 1000, Some("t2")));
    let third = mock!(aws_sdk_athena::Client::get_query_results)
        .match_requests(|r| r.next_token() == Some("t2"))
        .then_output(|| page(false, 1999, 501, None));
    let client = mock_client!(
        aws_sdk_athena,
        RuleMode::MatchAny,
        [&start, &poll, &first, &second, &third]
    );
    let runner = AthenaRunner::new(client, settings(Duration::from_secs(10)))
        .unwrap()
        .with_poll_interval(Duration::from_millis(1), Duration::from_millis(2));
    let catalog = Catalog::embedded();
    let rs = runner
        .run(catalog.query("03_throughput").unwrap(), &params())
        .unwrap();
    assert_eq!(rs.rows.len(), 2_500);
    let ns: Vec<u64> = (0..rs.rows.len()).map(|i| rs.u64(i, "n")).collect();
    assert_eq!(
        ns,
        (0..2_500).collect::<Vec<u64>>(),
        "every row once, in order"
    );
    assert_eq!(poll.num_calls(), 3, "polled until SUCCEEDED");
    assert_eq!(
        (first.num_calls(), second.num_calls(), third.num_calls()),
        (1, 1, 1)
    );
}

#[test]
fn failed_and_cancelled_queries_carry_athenas_reason() {
    for (state, reason, want) in [
        (
            QueryExecutionState::Failed,
            Some("COLUMN_NOT_FOUND: line 12:5: Column 'dt' cannot be resolved"),
            "FAILED: COLUMN_NOT_FOUND: line 12:5: Column 'dt' cannot be resolved",
        ),
        (
            QueryExecutionState::Cancelled,
            None,
            "CANCELLED: Athena gave no reason",
        ),
    ] {
        let start = mock!(aws_sdk_athena::Client::start_query_execution).then_output(|| {
            StartQueryExecutionOutput::builder()
                .query_execution_id("qe-1")
                .build()
        });
        let s = state.clone();
        let poll = mock!(aws_sdk_athena::Client::get_query_execution)
            .then_output(move || execution(s.clone(), reason));
        let stop = mock!(aws_sdk_athena::Client::stop_query_execution)
            .then_output(|| StopQueryExecutionOutput::builder().build());
        let client = mock_client!(aws_sdk_athena, RuleMode::MatchAny, [&start, &poll, &stop]);
        let runner = AthenaRunner::new(client, settings(Duration::from_secs(10))).unwrap();
        let catalog = Catalog::embedded();
        let err = runner
            .run(catalog.query("06_reconciliation").unwrap(), &params())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("06_reconciliation") && err.contains("qe-1") && err.contains(want),
            "{err}"
        );
    }
}
