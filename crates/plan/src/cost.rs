//! Cost per million emails, one function per AWS service. Every quantity is per million emails;
//! `docs/tuning.md` ("Cost model") says what each line counts.

use serde::Serialize;

use crate::inputs::Inputs;
use crate::limits::{
    FIREHOSE_PARQUET_BUFFER_BYTES, FIREHOSE_ROUNDING_BYTES, GIB, MILLION, SQS_BILLING_CHUNK_BYTES,
    SQS_RECORD_ENVELOPE_BYTES,
};
use crate::prices::Prices;

/// One cost line: service, what is counted, quantity per million emails, USD per million emails.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostLine {
    pub service: &'static str,
    pub item: &'static str,
    pub quantity: f64,
    pub unit: &'static str,
    pub usd: f64,
}

/// What the settings the model chose mean for the bill.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostBasis {
    /// Records per invocation.
    pub batch_size: u32,
    /// Each instance's paced rate (emails/s): an instance is billed while it paces.
    pub per_instance_rate: f64,
    pub memory_mb: u32,
}

impl CostBasis {
    /// Invocations (batches) per million emails.
    fn batches(&self) -> f64 {
        MILLION / f64::from(self.batch_size)
    }
}

/// The cost lines per million emails, in a fixed order (Lambda, SQS, DynamoDB, Firehose, S3,
/// API Gateway, CloudWatch, SES).
pub fn costs(i: &Inputs, p: &Prices, basis: &CostBasis) -> Vec<CostLine> {
    let mut lines = Lines(Vec::new());
    lambda(&mut lines, i, p, basis);
    sqs(&mut lines, i, p, basis);
    dynamodb(&mut lines, i, p);
    firehose_and_s3(&mut lines, i, p);
    api_gateway(&mut lines, i, p);
    cloudwatch(&mut lines, i, p, basis);
    ses(&mut lines, p);
    lines.0
}

struct Lines(Vec<CostLine>);

impl Lines {
    fn add(
        &mut self,
        service: &'static str,
        item: &'static str,
        quantity: f64,
        unit: &'static str,
        usd: f64,
    ) {
        self.0.push(CostLine {
            service,
            item,
            quantity,
            unit,
            usd,
        });
    }
}

/// Requests at a per-million price.
fn per_million(requests: f64, price_per_million: f64) -> f64 {
    requests / MILLION * price_per_million
}

/// Lambda: an instance is busy 1/rate s per email plus the per-batch overhead; billed per ms.
fn lambda(lines: &mut Lines, i: &Inputs, p: &Prices, basis: &CostBasis) {
    let batches = basis.batches();
    let busy_s = MILLION / basis.per_instance_rate + batches * i.per_batch_overhead_ms / 1000.0;
    let gb_s = busy_s * f64::from(basis.memory_mb) / 1024.0;
    lines.add(
        "Lambda",
        "invocations",
        batches,
        "requests",
        per_million(batches, p.lambda_per_million_requests),
    );
    lines.add(
        "Lambda",
        "duration (arm64)",
        gb_s,
        "GB-s",
        gb_s * p.lambda_gb_second,
    );
}

/// SQS: ReceiveMessage and DeleteMessageBatch carry at most 10 messages; each request is billed
/// per started 64 KiB. Retries: one ChangeMessageVisibility and one more receive each.
fn sqs(lines: &mut Lines, i: &Inputs, p: &Prices, basis: &CostBasis) {
    let batches = basis.batches();
    let per_ten_chunks = ((10 * (i.message_bytes + SQS_RECORD_ENVELOPE_BYTES)) as f64
        / SQS_BILLING_CHUNK_BYTES as f64)
        .ceil();
    let calls_per_batch = (f64::from(basis.batch_size) / 10.0).ceil();
    let receive = batches * calls_per_batch * per_ten_chunks * (1.0 + i.retry_ratio);
    let delete = batches * calls_per_batch;
    let change_visibility = MILLION * i.retry_ratio;
    let price = p.sqs_per_million_requests;
    if i.include_ingest {
        let send_chunks = (i.message_bytes as f64 / SQS_BILLING_CHUNK_BYTES as f64)
            .ceil()
            .max(1.0);
        let send = MILLION * send_chunks;
        lines.add(
            "SQS",
            "SendMessage (ingest)",
            send,
            "requests",
            per_million(send, price),
        );
    }
    lines.add(
        "SQS",
        "ReceiveMessage (ESM, 10/call)",
        receive,
        "requests",
        per_million(receive, price),
    );
    lines.add(
        "SQS",
        "DeleteMessageBatch (ESM)",
        delete,
        "requests",
        per_million(delete, price),
    );
    lines.add(
        "SQS",
        "ChangeMessageVisibility (retries)",
        change_visibility,
        "requests",
        per_million(change_visibility, price),
    );
}

/// DynamoDB: BatchGetItem reads are eventually consistent (0.5 RRU per item ≤ 4 KB); the ledger
/// claim (conditional PutItem) and record (UpdateItem) are 1 WRU each (items ≤ 1 KB).
fn dynamodb(lines: &mut Lines, i: &Inputs, p: &Prices) {
    let rru = MILLION * (1.0 - i.customer_cache_hit_ratio) * 0.5 * (1.0 + i.retry_ratio);
    lines.add(
        "DynamoDB",
        "BatchGetItem customers",
        rru,
        "RRU",
        per_million(rru, p.dynamodb_per_million_rru),
    );
    if i.ledger_enabled {
        let wru = MILLION * 2.0 * (1.0 + i.retry_ratio);
        lines.add(
            "DynamoDB",
            "ledger claim + record",
            wru,
            "WRU",
            per_million(wru, p.dynamodb_per_million_wru),
        );
    }
}

/// Firehose: each SES event is one record, billed rounded up to 5 KB, for ingestion and again for
/// the Parquet conversion. S3: one object per 64 MB buffer of raw JSON (at least one), storage of
/// the Parquet for a month.
fn firehose_and_s3(lines: &mut Lines, i: &Inputs, p: &Prices) {
    let events = MILLION * i.events_per_email;
    let rounded = (i.event_bytes as f64 / FIREHOSE_ROUNDING_BYTES as f64)
        .ceil()
        .max(1.0)
        * FIREHOSE_ROUNDING_BYTES as f64;
    let billed_gb = events * rounded / GIB;
    lines.add(
        "Firehose",
        "ingestion (5 KB-rounded)",
        billed_gb,
        "GB",
        billed_gb * p.firehose_per_gb,
    );
    lines.add(
        "Firehose",
        "format conversion",
        billed_gb,
        "GB",
        billed_gb * p.firehose_format_conversion_per_gb,
    );

    let raw_bytes = events * i.event_bytes as f64;
    let objects = (raw_bytes / FIREHOSE_PARQUET_BUFFER_BYTES as f64)
        .ceil()
        .max(1.0);
    lines.add(
        "S3",
        "PUT (Firehose objects)",
        objects,
        "requests",
        objects / 1000.0 * p.s3_per_thousand_puts,
    );
    let stored_gb = raw_bytes * i.parquet_compression_ratio / GIB;
    lines.add(
        "S3",
        "storage, one month",
        stored_gb,
        "GB-month",
        stored_gb * p.s3_gb_month,
    );
}

/// API Gateway: one REST request per email, when the ingest is counted.
fn api_gateway(lines: &mut Lines, i: &Inputs, p: &Prices) {
    if i.include_ingest {
        lines.add(
            "API Gateway",
            "REST requests",
            MILLION,
            "requests",
            p.apigw_rest_per_million,
        );
    }
}

/// CloudWatch Logs: the EMF line and START/END/REPORT of every invocation.
fn cloudwatch(lines: &mut Lines, i: &Inputs, p: &Prices, basis: &CostBasis) {
    let log_gb = basis.batches() * i.log_bytes_per_invocation as f64 / GIB;
    lines.add(
        "CloudWatch",
        "Logs ingestion (EMF)",
        log_gb,
        "GB",
        log_gb * p.cloudwatch_logs_per_gb,
    );
}

/// SES: the outbound emails themselves.
fn ses(lines: &mut Lines, p: &Prices) {
    lines.add(
        "SES",
        "outbound email",
        MILLION,
        "emails",
        MILLION / 1000.0 * p.ses_per_thousand_emails,
    );
}
