//! The rows of the settings table, one [`Setting`] per setting, in the order of the reference
//! (`docs/configuration.md`). Adding a setting means adding its row here; the poller, the local
//! stack, the reference and the agreement tests pick it up.

use super::*;

const SECS_12H: u64 = 43_200;

const POLLER: &[&str] = &["poller"];
/// Settings both Lambda functions read.
const POLLER_AND_GUARD: &[Function] = &[Function::Poller, Function::Guard];
const GUARD: &[Function] = &[Function::Guard];

/// Every setting, in the order of the reference.
pub const SETTINGS: &[Setting] = &[
    // --- resources the Terraform root module creates and hands to the poller ----------------
    Setting::new(
        "queue_url",
        Kind::Text,
        Default::Required,
        "URL of the source queue: ChangeMessageVisibility for retries, SendMessage for parked records.",
    )
    .env("QUEUE_URL")
    .wired(POLLER, "sqlite://local/queue"),
    Setting::new(
        "dlq_url",
        Kind::Text,
        Default::Required,
        "URL of the dead-letter queue permanent failures are written to.",
    )
    .env("DLQ_URL")
    .wired(POLLER, "sqlite://local/dlq"),
    Setting::new(
        "customers_table_name",
        Kind::Text,
        Default::Required,
        "DynamoDB table with customer attributes, key `user_id` (S).",
    )
    .env("CUSTOMERS_TABLE")
    .wired(POLLER, "customers"),
    Setting::new(
        "ledger_table_name",
        Kind::Text,
        Default::Value(""),
        "DynamoDB idempotency ledger, key `unique_code` (S); required when `idempotency_enabled`.",
    )
    .env("LEDGER_TABLE")
    .wired(POLLER, "ledger"),
    Setting::new(
        "control_table_name",
        Kind::Text,
        Default::Required,
        "DynamoDB control table, key `pk` (S), TTL on `expires_at`: the fleet's shared send schedule, campaign states and the guardrails' window counters. Locally these rows live in the SQLite database.",
    )
    .env("CONTROL_TABLE")
    .read_by(POLLER_AND_GUARD)
    .wired(&["poller", "guardrail"], "control"),
    // --- event source mapping, function and queue ----------------------------------------------
    Setting::new(
        "batch_size",
        Kind::Int { min: 1, max: 10_000 },
        Default::Value("20"),
        "Records per poller invocation (event source mapping `BatchSize`); above 10 needs `maximum_batching_window_in_seconds` >= 1.",
    )
    .terraform(POLLER)
    .local_override(
        "100",
        "a local poller idles about one SES latency between invocations, so larger batches keep each instance busy; the simulated account (50 emails/s) drains 100 records in about 4 s. On AWS 20 fits `function_timeout_seconds` with room at the production default of 14 emails/s (`sesload plan` sizes it).",
    ),
    Setting::new(
        "maximum_batching_window_in_seconds",
        Kind::Int { min: 0, max: 300 },
        Default::Value("1"),
        "How long the event source mapping gathers records before invoking.",
    )
    .terraform(&["poller", "queue"])
    .key(),
    Setting::new(
        "maximum_concurrency",
        Kind::Int { min: 1, max: 1000 },
        Default::Value("2"),
        "Concurrent poller invocations (`ScalingConfig.MaximumConcurrency`, at least 2 on AWS); each instance paces to its share of the rate.",
    )
    .env("MAXIMUM_CONCURRENCY")
    .terraform(POLLER)
    .key(),
    Setting::new(
        "function_timeout_seconds",
        Kind::Int { min: 1, max: 900 },
        Default::Value("30"),
        "The poller function's timeout; an invocation still running then is abandoned (locally the event-source emulator enforces it).",
    )
    .terraform(&["poller", "queue", "dashboard"])
    .key(),
    Setting::new(
        "visibility_timeout_seconds",
        Kind::Int { min: 0, max: SECS_12H },
        Default::Value("300"),
        "A received record stays hidden this long; AWS requires >= 6 × `function_timeout_seconds` + the batching window (the local stack only warns).",
    )
    .terraform(&["queue"])
    .key(),
    Setting::new(
        "max_receive_count",
        Kind::Int { min: 1, max: 1000 },
        Default::Value("10"),
        "Receives before the redrive policy moves a message to the DLQ (Terraform requires >= 5). Parked records start again at 0.",
    )
    .terraform(&["queue"])
    .key(),
    // --- pacing ----------------------------------------------------------------------------
    Setting::new(
        "target_utilisation",
        Kind::Fraction,
        Default::Value("0.98"),
        "Fraction of the account's MaxSendRate the whole fleet aims for.",
    )
    .env("TARGET_UTILISATION")
    .terraform(POLLER)
    .key(),
    Setting::new(
        "ses_max_send_rate_override",
        Kind::Rate,
        Default::Unset,
        "Emails/s to pace to instead of GetAccount's MaxSendRate; unset = ask SES (locally 0 also means unset).",
    )
    .env("SES_MAX_SEND_RATE_OVERRIDE")
    .terraform(POLLER)
    .key(),
    Setting::new(
        "send_concurrency",
        Kind::Int { min: 1, max: 1024 },
        Default::Value("32"),
        "Maximum SES send calls (SendEmail or SendBulkEmail) in flight per poller instance.",
    )
    .env("SEND_CONCURRENCY")
    .terraform(POLLER)
    .key(),
    Setting::new(
        "send_api",
        Kind::Choice(&crate::processor::SendApi::NAMES),
        Default::Value("single"),
        "SES operation the poller sends with: `single` = one SendEmail per email; `bulk` = SendBulkEmail, the emails of a batch that share sender, template and configuration set in one call (up to 50 entries, fewer below 50 emails/s). See docs/tuning.md.",
    )
    .env("SEND_API")
    .terraform(POLLER)
    .key(),
    Setting::new(
        "quota_cache_seconds",
        Kind::Int { min: 0, max: 86_400 },
        Default::Value("300"),
        "How long a GetAccount answer (rate, daily quota, sending enabled) is reused.",
    )
    .env("QUOTA_CACHE_SECONDS")
    .terraform(POLLER)
    .key(),
    // --- what may be sent --------------------------------------------------------------------
    Setting::new(
        "allowed_recipient_domains",
        Kind::Domains,
        Default::Value("simulator.amazonses.com"),
        "Recipient domains the poller may send to (exact match after `@`); any other recipient is dead-lettered.",
    )
    .env("ALLOWED_RECIPIENT_DOMAINS")
    .terraform(POLLER)
    .key(),
    Setting::new(
        "configuration_set_name",
        Kind::Text,
        Default::Unset,
        "SES configuration set used when a request names none, the only one IAM lets the poller use, and the set publishing the events. Terraform: unset = `<name_prefix>-config`; poller: unset = requests must name one.",
    )
    .env("CONFIGURATION_SET_NAME")
    .deprecated_env("DEFAULT_CONFIGURATION_SET")
    .terraform(&["poller", "ses", "guardrail"])
    .local_override(
        "load-test-config",
        "the original sample's name, which the Artillery generator and the test harness send; on AWS the name derives from `name_prefix` so a deployment never shares the sample's set in one account.",
    ),
    Setting::new(
        "template_name",
        Kind::Text,
        Default::Unset,
        "SES template the stack creates and the poller may send with. Terraform: unset = `<name_prefix>-template`.",
    )
    .terraform(&["poller", "ses"])
    .local_override(
        "SimpleEmail",
        "the original sample's template name, which the Artillery generator and the test harness send; on AWS the name derives from `name_prefix`.",
    ),
    Setting::new(
        "sender_identity",
        Kind::Text,
        Default::Required,
        "Verified SES identity the poller sends from: a domain (example.com) or an address; IAM allows SendEmail on it only. Locally the simulator verifies it (unless `[sim] verified_identities` is set) and the stack's generators send from it (an address, or `sender@<domain>`).",
    )
    .terraform(POLLER)
    .local_override(
        "example.com",
        "the simulator verifies any identity it is given; on AWS it must be an identity verified in your account, so Terraform has no default.",
    ),
    // --- idempotency ---------------------------------------------------------------------------
    Setting::new(
        "idempotency_enabled",
        Kind::Bool,
        Default::Value("true"),
        "Claim each unique_code in the ledger before sending; codes already sent are skipped. Off: the ledger is never called.",
    )
    .env("IDEMPOTENCY_ENABLED")
    .terraform(POLLER)
    .key(),
    Setting::new(
        "claim_lease_seconds",
        Kind::Int { min: 1, max: SECS_12H },
        Default::Value("120"),
        "How long a claim protects an in-flight send before another attempt may take it.",
    )
    .env("CLAIM_LEASE_SECONDS")
    .terraform(POLLER)
    .key(),
    Setting::new(
        "ledger_ttl_days",
        Kind::Int { min: 1, max: 365 },
        Default::Value("7"),
        "Ledger items expire (DynamoDB TTL) this many days after the send (the local ledger keeps its rows).",
    )
    .env("LEDGER_TTL_DAYS")
    .terraform(POLLER),
    // --- retries and parking -------------------------------------------------------------------
    Setting::new(
        "retry_base_delay_seconds",
        Kind::Int { min: 0, max: SECS_12H },
        Default::Value("2"),
        "Base of the jittered visibility delay for throttled or transient records (doubles per receive).",
    )
    .env("RETRY_BASE_DELAY_SECONDS")
    .terraform(POLLER)
    .key(),
    Setting::new(
        "retry_max_delay_seconds",
        Kind::Int { min: 0, max: SECS_12H },
        Default::Value("300"),
        "Cap of the retry delay; at least `retry_base_delay_seconds`.",
    )
    .env("RETRY_MAX_DELAY_SECONDS")
    .terraform(POLLER)
    .key(),
    Setting::new(
        "park_base_delay_seconds",
        Kind::Int { min: 1, max: MAX_DELAY_SECONDS },
        Default::Value("10"),
        "Base of the delay a parked record waits on the source queue (daily quota, sending paused, deadline, ...), growing with its park count.",
    )
    .env("PARK_BASE_DELAY_SECONDS")
    .terraform(POLLER)
    .key(),
    Setting::new(
        "park_max_delay_seconds",
        Kind::Int { min: 1, max: MAX_DELAY_SECONDS },
        Default::Value("900"),
        "Cap of the park delay; at least `park_base_delay_seconds` and at most 900 (SQS's largest DelaySeconds).",
    )
    .env("PARK_MAX_DELAY_SECONDS")
    .terraform(POLLER)
    .key(),
    // --- caches and metrics ---------------------------------------------------------------------
    Setting::new(
        "customer_cache_capacity",
        Kind::Int { min: 0, max: 10_000_000 },
        Default::Value("20000"),
        "Customers kept in memory across invocations of a warm poller instance.",
    )
    .env("CUSTOMER_CACHE_CAPACITY")
    .terraform(POLLER)
    .key(),
    Setting::new(
        "customer_cache_ttl_seconds",
        Kind::Int { min: 0, max: 86_400 },
        Default::Value("300"),
        "How long a cached customer is trusted.",
    )
    .env("CUSTOMER_CACHE_TTL_SECONDS")
    .terraform(POLLER)
    .key(),
    Setting::new(
        "metrics_namespace",
        Kind::Text,
        Default::Value("sesload"),
        "CloudWatch namespace of the Embedded Metric Format lines of the poller and the guard (the dashboard and the alarms read the same; locally metrics go to `/metrics`).",
    )
    .env("METRICS_NAMESPACE")
    .read_by(POLLER_AND_GUARD)
    .terraform(&["poller", "guardrail", "dashboard"]),
    // --- campaign guardrails ------------------------------------------------------------------
    Setting::new(
        "guardrail_enabled",
        Kind::Bool,
        Default::Value("true"),
        "Pause a campaign automatically (state `auto_paused`) when its bounce or complaint rate crosses its threshold. Off: Terraform creates no guard Lambda, EventBridge path or guardrail alarm; the local stack runs no guardrail task.",
    )
    .terraform(&["dashboard"])
    .key(),
    Setting::new(
        "guardrail_bounce_rate",
        Kind::Fraction,
        Default::Value("0.05"),
        "A campaign whose hard bounces exceed this share of its sends in the window is paused; 0.05 is the level at which SES warns an account (it reviews it at 0.10).",
    )
    .env("GUARDRAIL_BOUNCE_RATE")
    .read_by(GUARD)
    .terraform(&["guardrail"])
    .key(),
    Setting::new(
        "guardrail_complaint_rate",
        Kind::Fraction,
        Default::Value("0.001"),
        "A campaign whose complaints exceed this share of its sends in the window is paused; 0.001 is the level at which SES warns an account (it reviews it at 0.005).",
    )
    .env("GUARDRAIL_COMPLAINT_RATE")
    .read_by(GUARD)
    .terraform(&["guardrail"])
    .key(),
    Setting::new(
        "guardrail_min_sends",
        Kind::Int { min: 1, max: 1_000_000 },
        Default::Value("100"),
        "Sends of a campaign in the window before its rates are judged; a rate is also judged only once one event is no more than its threshold (from 1 / threshold sends: 1,000 for complaints at 0.001).",
    )
    .env("GUARDRAIL_MIN_SENDS")
    .read_by(GUARD)
    .terraform(&["guardrail"])
    .key(),
    Setting::new(
        "guardrail_window_minutes",
        Kind::Int { min: 1, max: 1440 },
        Default::Value("60"),
        "The sliding window of the rates: the campaign's messages sent in the last N minutes (by send time, in one-minute buckets), never counting from before its last resume.",
    )
    .env("GUARDRAIL_WINDOW_MINUTES")
    .read_by(GUARD)
    .terraform(&["guardrail"])
    .key(),
    // --- the local stack only ---------------------------------------------------------------------
    Setting::new(
        "api_key",
        Kind::Text,
        Default::Value(""),
        "API key required in `x-api-key`; empty = generate one at start, kept in `<data_dir>/api_key`.",
    )
    .key(),
    Setting::new(
        "host",
        Kind::Text,
        Default::Value("127.0.0.1"),
        "Address the HTTP server (ingest API, stats, dashboard) listens on.",
    )
    .key(),
    Setting::new(
        "port",
        Kind::Int { min: 0, max: 65_535 },
        Default::Value("8787"),
        "Port of the HTTP server; 0 = any free port.",
    )
    .key(),
    Setting::new(
        "sim_port",
        Kind::Int { min: 0, max: 65_535 },
        Default::Value("0"),
        "Port of the SES simulator; 0 = any free port.",
    )
    .key(),
    Setting::new(
        "data_dir",
        Kind::Text,
        Default::Value(".sesload"),
        "Directory of the database, the event lake and the generated API key.",
    )
    .key(),
];
