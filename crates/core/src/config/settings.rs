//! The settings table: every setting of the poller and of the local stack, once.
//!
//! A setting can live in three places: the poller's environment (set by the Terraform `poller`
//! module on AWS and by the local stack on one machine), `sesload.toml` (the local stack) and
//! Terraform (`terraform/variables.tf` and the modules' `variables.tf`). [`SETTINGS`] names each
//! place and holds the one default. The poller's defaults ([`super::PollerConfig::from_lookup`]),
//! the local stack's defaults (`sesload_local::LocalConfig::default`) and the reference in
//! `docs/configuration.md` ([`reference_markdown`]) come from it; a test
//! (`crates/core/tests/settings.rs`) checks that the Terraform variables, the poller module's
//! environment, `sesload.toml` and the document agree with it.

/// What values a setting takes; the poller and the local stack check the same rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `true` or `false`.
    Bool,
    /// A whole number in `min..=max`.
    Int { min: u64, max: u64 },
    /// A number in (0, 1].
    Fraction,
    /// A positive number of emails per second, or unset.
    Rate,
    /// Free text (a name, a URL, a path).
    Text,
    /// One or more domain names: a comma-separated list in the environment, a list in
    /// `sesload.toml` and Terraform.
    Domains,
    /// One of these words.
    Choice(&'static [&'static str]),
}

impl Kind {
    /// The Terraform type of a variable holding this setting.
    pub fn terraform_type(self) -> &'static str {
        match self {
            Kind::Bool => "bool",
            Kind::Int { .. } | Kind::Fraction | Kind::Rate => "number",
            Kind::Text | Kind::Choice(_) => "string",
            Kind::Domains => "list(string)",
        }
    }

    /// One line for the reference: the values the code accepts.
    pub fn summary(self) -> String {
        match self {
            Kind::Bool => "`true` / `false`".into(),
            Kind::Int { min, max } => format!("whole number {}–{}", group(min), group(max)),
            Kind::Fraction => "number in (0, 1]".into(),
            Kind::Rate => "number > 0, or unset".into(),
            Kind::Text => "text".into(),
            Kind::Domains => "list of domains (env: comma-separated)".into(),
            Kind::Choice(words) => words
                .iter()
                .map(|w| format!("`{w}`"))
                .collect::<Vec<_>>()
                .join(" / "),
        }
    }
}

/// `10000` → `10,000` (the reference's numbers read better grouped).
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The one default of a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    /// No default: the poller refuses to start without it; the Terraform variable has no
    /// `default` (the root module wires it or the user must set it).
    Required,
    /// Unset: an empty environment variable, Terraform `null`, a commented-out (absent)
    /// `sesload.toml` key. What unset means is in the setting's doc.
    Unset,
    /// A value, written as the environment variable holds it (a list comma-separated).
    Value(&'static str),
}

/// How the local stack (`sesload up`) gets a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    /// Not a local setting: the local poller runs with the default.
    Absent,
    /// The local stack sets the poller's variable to this value itself (its own queue, tables).
    Wired(&'static str),
    /// A `sesload.toml` key named like the setting, with the table's default.
    Key,
    /// A `sesload.toml` key whose local default differs from the AWS one on purpose.
    Override {
        value: &'static str,
        why: &'static str,
    },
}

/// A Lambda function of the deployment that reads settings from its environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// The poller (`lambdas/poller`): SQS batch → SES.
    Poller,
    /// The guard (`lambdas/guard`): SES events → campaign guardrails.
    Guard,
}

impl Function {
    /// Every function, in the reference's order.
    pub const ALL: [Function; 2] = [Function::Poller, Function::Guard];

    /// The function's name (`lambdas/<name>`, resource `aws_lambda_function.<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Function::Poller => "poller",
            Function::Guard => "guard",
        }
    }

    /// The Terraform module that creates it and sets its environment.
    pub fn module(self) -> &'static str {
        match self {
            Function::Poller => "poller",
            Function::Guard => "guardrail",
        }
    }
}

/// One setting: its name in every place, its default, its values and its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The setting's name: its `sesload.toml` key and its Terraform variable (root and modules).
    pub name: &'static str,
    /// The environment variable, if a Lambda function reads one ([`Setting::functions`]).
    pub env: Option<&'static str>,
    /// The functions that read [`Setting::env`] (the poller unless said otherwise).
    pub functions: &'static [Function],
    /// A former name of the environment variable the poller still accepts, with a warning.
    pub deprecated_env: Option<&'static str>,
    /// How the local stack gets it.
    pub local: Local,
    /// A variable named [`Setting::name`] in `terraform/variables.tf`.
    pub root: bool,
    /// Modules (`terraform/modules/<module>`) with a variable named [`Setting::name`].
    pub modules: &'static [&'static str],
    pub default: Default,
    pub kind: Kind,
    /// One line for the reference.
    pub doc: &'static str,
}

impl Setting {
    const fn new(name: &'static str, kind: Kind, default: Default, doc: &'static str) -> Self {
        Self {
            name,
            env: None,
            functions: &[Function::Poller],
            deprecated_env: None,
            local: Local::Absent,
            root: false,
            modules: &[],
            default,
            kind,
            doc,
        }
    }
    /// The poller reads it from `env`.
    const fn env(mut self, env: &'static str) -> Self {
        self.env = Some(env);
        self
    }
    /// `functions` (instead of the poller alone) read it from its env var.
    const fn read_by(mut self, functions: &'static [Function]) -> Self {
        self.functions = functions;
        self
    }
    const fn deprecated_env(mut self, env: &'static str) -> Self {
        self.deprecated_env = Some(env);
        self
    }
    /// A root variable that is passed to `modules`.
    const fn terraform(mut self, modules: &'static [&'static str]) -> Self {
        self.root = true;
        self.modules = modules;
        self
    }
    /// Module variables only (resources the root module creates and wires in).
    const fn wired(mut self, modules: &'static [&'static str], local: &'static str) -> Self {
        self.modules = modules;
        self.local = Local::Wired(local);
        self
    }
    const fn key(mut self) -> Self {
        self.local = Local::Key;
        self
    }
    const fn local_override(mut self, value: &'static str, why: &'static str) -> Self {
        self.local = Local::Override { value, why };
        self
    }

    /// The `sesload.toml` key, if the local stack has one.
    pub fn toml_key(&self) -> Option<&'static str> {
        matches!(self.local, Local::Key | Local::Override { .. }).then_some(self.name)
    }

    /// Whether `function` reads this setting from its environment.
    pub fn read_by_function(&self, function: Function) -> bool {
        self.env.is_some() && self.functions.contains(&function)
    }

    /// The local stack's default: the override when there is one, else the table default.
    pub fn local_default(&self) -> Default {
        match self.local {
            Local::Override { value, .. } | Local::Wired(value) => Default::Value(value),
            Local::Key | Local::Absent => self.default,
        }
    }
}

const SECS_12H: u64 = 43_200;
/// SQS's largest `DelaySeconds`.
pub const MAX_DELAY_SECONDS: u64 = 900;

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

/// The setting read from environment variable `env` (current or deprecated name).
pub fn by_env(env: &str) -> Option<&'static Setting> {
    SETTINGS
        .iter()
        .find(|s| s.env == Some(env) || s.deprecated_env == Some(env))
}

/// The setting named `name`.
pub fn by_name(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// Every environment variable `function` reads, in table order.
pub fn env_vars(function: Function) -> impl Iterator<Item = &'static str> {
    SETTINGS
        .iter()
        .filter(move |s| s.read_by_function(function))
        .filter_map(|s| s.env)
}

fn show_default(d: Default) -> String {
    match d {
        Default::Required => "*required*".into(),
        Default::Unset => "*unset*".into(),
        Default::Value("") => "*(empty)*".into(),
        Default::Value(v) => format!("`{v}`"),
    }
}

fn code(v: Option<&str>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("`{v}`"))
}

/// The reference tables of `docs/configuration.md`, generated from [`SETTINGS`]; a test keeps
/// the document and this text identical.
pub fn reference_markdown() -> String {
    let mut s = String::from(
        "| Setting | Lambda env var | `sesload.toml` | Terraform | Default | Values | Meaning |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for st in SETTINGS {
        let local = match st.local {
            Local::Absent => "—".to_string(),
            Local::Wired(v) => format!("set by the stack: `{v}`"),
            Local::Key => "key".to_string(),
            Local::Override { value, .. } => format!("key, default `{value}`"),
        };
        let mut tf: Vec<String> = Vec::new();
        if st.root {
            tf.push("root".into());
        }
        tf.extend(st.modules.iter().map(|m| format!("`{m}`")));
        let tf = if tf.is_empty() {
            "—".to_string()
        } else {
            tf.join(", ")
        };
        let mut env = match (st.env, st.deprecated_env) {
            (Some(e), Some(old)) => format!("`{e}` (was `{old}`)"),
            (e, _) => code(e),
        };
        if st.env.is_some() && st.functions != [Function::Poller] {
            let names: Vec<&str> = st.functions.iter().map(|f| f.name()).collect();
            env.push_str(&format!(" ({})", names.join(", ")));
        }
        s.push_str(&format!(
            "| `{}` | {env} | {local} | {tf} | {} | {} | {} |\n",
            st.name,
            show_default(st.default),
            st.kind.summary(),
            st.doc
        ));
    }
    s.push_str(
        "\nLocal defaults that differ from the AWS (Terraform) ones on purpose:\n\n\
         | Setting | AWS default | Local default | Why |\n|---|---|---|---|\n",
    );
    for st in SETTINGS {
        if let Local::Override { value, why } = st.local {
            s.push_str(&format!(
                "| `{}` | {} | `{value}` | {why} |\n",
                st.name,
                show_default(st.default)
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_env_vars_are_unique() {
        let mut names: Vec<_> = SETTINGS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SETTINGS.len(), "duplicate setting name");
        let mut envs: Vec<_> = SETTINGS
            .iter()
            .flat_map(|s| s.env.into_iter().chain(s.deprecated_env))
            .collect();
        let n = envs.len();
        envs.sort_unstable();
        envs.dedup();
        assert_eq!(envs.len(), n, "duplicate environment variable");
    }

    #[test]
    fn every_setting_is_somewhere_and_env_vars_come_from_the_poller_module() {
        for s in SETTINGS {
            assert!(
                s.env.is_some() || s.toml_key().is_some() || s.root,
                "{} lives nowhere",
                s.name
            );
            for f in s.functions.iter().filter(|_| s.env.is_some()) {
                assert!(
                    s.modules.contains(&f.module()),
                    "{}: env var of the {} function without a `{}` module variable",
                    s.name,
                    f.name(),
                    f.module()
                );
            }
            if let Default::Value(v) = s.local_default()
                && let Kind::Int { min, max } = s.kind
            {
                let n: u64 = v.parse().unwrap();
                assert!(
                    (min..=max).contains(&n),
                    "{}: default {n} outside its range",
                    s.name
                );
            }
        }
    }

    #[test]
    fn grouped_numbers() {
        assert_eq!(group(0), "0");
        assert_eq!(group(900), "900");
        assert_eq!(group(10_000), "10,000");
        assert_eq!(group(10_000_000), "10,000,000");
    }
}
