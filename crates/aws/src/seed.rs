//! Test customers for the customers table (the seeder Lambda).
//!
//! `user_id` "1".."N" (the ids the load generator draws), deterministic attributes, written
//! with `BatchWriteItem` (25 items per call, several calls in flight, `UnprocessedItems`
//! retried with backoff). Writing the same N again rewrites the same items: idempotent.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures::StreamExt;
use sesload_core::PortError;

use crate::dynamo::{CUSTOMER_KEY, backoff, error_text};

/// BatchWriteItem takes at most 25 items.
pub const BATCH_WRITE_MAX: usize = 25;
/// BatchWriteItem calls in flight.
pub const WRITE_CONCURRENCY: usize = 8;
/// Rounds of `UnprocessedItems` retries per call.
pub const UNPROCESSED_MAX_ROUNDS: u32 = 10;

const FIRST: [&str; 16] = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Margaret",
    "Ken",
    "Radia",
    "Dennis",
    "Frances",
    "John",
    "Katherine",
    "Linus",
    "Hedy",
    "Tim",
];
const LAST: [&str; 12] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson",
    "Perlman", "Ritchie", "Allen", "Backus",
];
const CITY: [&str; 8] = [
    "Dublin",
    "Frankfurt",
    "Seattle",
    "Tokyo",
    "Sydney",
    "Sao Paulo",
    "Paris",
    "Stockholm",
];
const PLAN: [&str; 3] = ["free", "pro", "enterprise"];

/// The attributes of test customer `i` (deterministic).
pub fn customer_item(i: u64) -> HashMap<String, AttributeValue> {
    let s = |v: &str| AttributeValue::S(v.to_string());
    let ix = i as usize;
    HashMap::from([
        (CUSTOMER_KEY.to_string(), s(&i.to_string())),
        ("first_name".to_string(), s(FIRST[ix % FIRST.len()])),
        (
            "last_name".to_string(),
            s(LAST[(ix / FIRST.len()) % LAST.len()]),
        ),
        ("city".to_string(), s(CITY[(ix * 7) % CITY.len()])),
        ("plan".to_string(), s(PLAN[(ix * 5) % PLAN.len()])),
        (
            "favorite_number".to_string(),
            AttributeValue::N((i % 100).to_string()),
        ),
    ])
}

/// What a seeding run wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SeedReport {
    pub table: String,
    pub count: u64,
    pub first_user_id: String,
    pub last_user_id: String,
    pub written: u64,
    pub batch_write_calls: u64,
    pub unprocessed_retries: u64,
}

async fn write_chunk(
    client: &Client,
    table: &str,
    ids: Vec<u64>,
) -> Result<(u64, u64, u64), PortError> {
    let mut pending: Vec<WriteRequest> = ids
        .iter()
        .map(|i| {
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(customer_item(*i)))
                        .build()
                        .expect("item is set"),
                )
                .build()
        })
        .collect();
    let (mut calls, mut retries) = (0u64, 0u64);
    for round in 0..=UNPROCESSED_MAX_ROUNDS {
        calls += 1;
        let out = client
            .batch_write_item()
            .request_items(table, pending.clone())
            .send()
            .await
            .map_err(|e| {
                PortError::new(
                    "customers.seed",
                    format!("table {table:?}: {}", error_text(&e)),
                )
            })?;
        let rest: Vec<WriteRequest> = out
            .unprocessed_items()
            .and_then(|u| u.get(table))
            .cloned()
            .unwrap_or_default();
        if rest.is_empty() {
            return Ok((ids.len() as u64, calls, retries));
        }
        retries += 1;
        pending = rest;
        tokio::time::sleep(backoff(round)).await;
    }
    Err(PortError::new(
        "customers.seed",
        format!(
            "table {table:?}: {} items still unprocessed after retries",
            pending.len()
        ),
    ))
}

/// Write customers "1"..="count" into `table`.
pub async fn seed_customers(
    client: &Client,
    table: &str,
    count: u64,
) -> Result<SeedReport, PortError> {
    let ids: Vec<u64> = (1..=count).collect();
    let chunks: Vec<Vec<u64>> = ids.chunks(BATCH_WRITE_MAX).map(<[u64]>::to_vec).collect();
    let results: Vec<_> =
        futures::stream::iter(chunks.into_iter().map(|c| write_chunk(client, table, c)))
            .buffer_unordered(WRITE_CONCURRENCY)
            .collect()
            .await;
    let mut report = SeedReport {
        table: table.to_string(),
        count,
        first_user_id: if count > 0 { "1".into() } else { String::new() },
        last_user_id: if count > 0 {
            count.to_string()
        } else {
            String::new()
        },
        written: 0,
        batch_write_calls: 0,
        unprocessed_retries: 0,
    };
    for r in results {
        let (w, c, u) = r?;
        report.written += w;
        report.batch_write_calls += c;
        report.unprocessed_retries += u;
    }
    Ok(report)
}
