# The poller and local-stack settings here (batch_size ... metrics_namespace) are rows of the settings
# table in crates/core/src/config/settings.rs: the same names as the sesload.toml keys, the same
# defaults; `cargo test -p sesload-core --test settings` fails when a name or default here drifts.
# Reference: docs/configuration.md.

variable "region" {
  description = "AWS region to deploy into (SES production access and quotas are per region)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-\\d$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name; lower case because it is part of the event bucket's name."
  type        = string
  default     = "sesload"

  validation {
    condition     = can(regex("^[a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "name_prefix must be 1-30 characters of lower-case letters, digits or '-'."
  }
}

variable "tags" {
  description = "Tags on every resource (provider default_tags)."
  type        = map(string)
  default     = { project = "sesload" }
}

variable "sender_identity" {
  description = "Verified SES identity the poller sends from: a domain (example.com) or an email address. IAM allows SendEmail on this identity only."
  type        = string

  validation {
    condition     = can(regex("^([^@\\s]+@)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$", var.sender_identity))
    error_message = "sender_identity must be a domain (example.com) or an email address (sender@example.com)."
  }
}

# --- artefacts --------------------------------------------------------------------------------

variable "poller_package_path" {
  description = "Poller bootstrap.zip; null = <repo>/target/lambda/poller/bootstrap.zip (from `just build-lambdas`)."
  type        = string
  default     = null
}

variable "seeder_package_path" {
  description = "Seeder bootstrap.zip; null = <repo>/target/lambda/seeder/bootstrap.zip (from `just build-lambdas`)."
  type        = string
  default     = null
}

variable "guard_package_path" {
  description = "Guard bootstrap.zip; null = <repo>/target/lambda/guard/bootstrap.zip (from `just build-lambdas`). Unused when guardrail_enabled is false."
  type        = string
  default     = null
}

variable "schema_path" {
  description = "Request JSON Schema; null = <repo>/schemas/send-request.schema.json."
  type        = string
  default     = null
}

variable "sql_dir" {
  description = "Directory of the saved queries and views; null = <repo>/sql."
  type        = string
  default     = null
}

# --- ingest API -------------------------------------------------------------------------------

variable "api_name" {
  description = "Name of the REST API (seed: apiGatewayName)."
  type        = string
  default     = "ses-endpoint-queue"
}

variable "api_throttle_rate_limit" {
  description = "Usage plan rate limit, requests/s (default: the account default 10,000)."
  type        = number
  default     = 10000
}

variable "api_throttle_burst_limit" {
  description = "Usage plan burst limit (default: the account default 5,000)."
  type        = number
  default     = 5000
}

variable "api_quota_limit_per_day" {
  description = "Daily request quota of the API key; null = none."
  type        = number
  default     = null
}

variable "manage_api_gateway_account_role" {
  description = "Create a role and set it as this region's account-wide API Gateway CloudWatch Logs role (aws_api_gateway_account). Off by default: it would replace a role another stack set, and after `terraform destroy` the setting still names the deleted role. Turning it on also turns api_logging_enabled on."
  type        = bool
  default     = false
}

variable "api_logging_enabled" {
  description = "Access logs and ERROR execution logs for the API stage. API Gateway refuses both unless the region's account settings already name a CloudWatch Logs role (`aws apigateway get-account`), or manage_api_gateway_account_role sets one."
  type        = bool
  default     = false
}

# --- queue and poller -----------------------------------------------------------------------------

variable "batch_size" {
  description = "SQS records per poller invocation (seed: sqsBatchSize)."
  type        = number
  default     = 20
}

variable "maximum_batching_window_in_seconds" {
  description = "Event source mapping batching window (needed >= 1 when batch_size > 10)."
  type        = number
  default     = 1
}

variable "maximum_concurrency" {
  description = "Event source mapping maximum concurrency: parallel pollers (seed: reservedLambdaConcurrency, which this replaces; minimum 2)."
  type        = number
  default     = 2
}

variable "visibility_timeout_seconds" {
  description = "Source queue visibility timeout; must be >= 6 x function_timeout_seconds + maximum_batching_window_in_seconds."
  type        = number
  default     = 300

  # The queue module enforces the same AWS rule; checking it here names the root variables and fails
  # before any module is evaluated.
  validation {
    condition     = var.visibility_timeout_seconds >= 6 * var.function_timeout_seconds + var.maximum_batching_window_in_seconds
    error_message = "visibility_timeout_seconds (${var.visibility_timeout_seconds}) must be >= 6 x function_timeout_seconds (${var.function_timeout_seconds}) + maximum_batching_window_in_seconds (${var.maximum_batching_window_in_seconds}) = ${6 * var.function_timeout_seconds + var.maximum_batching_window_in_seconds}: AWS requires it of an SQS event source, and a shorter one lets a batch still being processed be received again."
  }
}

variable "max_receive_count" {
  description = "Receives before a message is redriven to the DLQ (>= 5)."
  type        = number
  default     = 10
}

variable "function_timeout_seconds" {
  description = "Poller Lambda timeout."
  type        = number
  default     = 30
}

variable "function_memory_mb" {
  description = "Poller Lambda memory (MB)."
  type        = number
  default     = 256
}

variable "target_utilisation" {
  description = "Fraction (0, 1] of the SES MaxSendRate the poller fleet aims for."
  type        = number
  default     = 0.98
}

variable "ses_max_send_rate_override" {
  description = "Emails/s to pace to instead of SES GetAccount's MaxSendRate; null = ask SES."
  type        = number
  default     = null
}

variable "expected_max_send_rate" {
  description = "The SES MaxSendRate (emails/s) you expect the account to have, used only by the check that batch_size fits function_timeout_seconds (and in the docs) when ses_max_send_rate_override is null; the poller itself asks SES. Default 14, the SES production default; a sandbox account has 1."
  type        = number
  default     = 14

  validation {
    condition     = var.expected_max_send_rate > 0
    error_message = "expected_max_send_rate must be greater than 0 emails/s."
  }
}

variable "allowed_recipient_domains" {
  description = "Recipient domains the poller may send to (default: only the SES mailbox simulator)."
  type        = list(string)
  default     = ["simulator.amazonses.com"]
}

variable "idempotency_enabled" {
  description = "Claim each unique_code in the DynamoDB ledger before sending (no email sent twice)."
  type        = bool
  default     = true
}

variable "send_concurrency" {
  description = "SES send calls (SendEmail or SendBulkEmail) in flight per poller instance."
  type        = number
  default     = 32
}

variable "send_api" {
  description = "SES operation the poller sends with: single (SendEmail per email) or bulk (SendBulkEmail, up to 50 emails sharing sender, template and configuration set per call)."
  type        = string
  default     = "single"
}

variable "quota_cache_seconds" {
  description = "How long the poller reuses a GetAccount answer (rate, daily quota, sending enabled)."
  type        = number
  default     = 300
}

variable "claim_lease_seconds" {
  description = "How long a ledger claim protects an in-flight send before another attempt may take it."
  type        = number
  default     = 120
}

variable "ledger_ttl_days" {
  description = "Ledger items expire (DynamoDB TTL) this many days after the send."
  type        = number
  default     = 7
}

variable "retry_base_delay_seconds" {
  description = "Base of the jittered visibility delay of throttled or transient records (doubles per receive)."
  type        = number
  default     = 2
}

variable "retry_max_delay_seconds" {
  description = "Cap of the retry visibility delay (>= retry_base_delay_seconds, <= 43200)."
  type        = number
  default     = 300
}

variable "park_base_delay_seconds" {
  description = "Base of the delay a parked record (daily quota, sending paused, deadline) waits on the source queue, growing with its park count."
  type        = number
  default     = 10
}

variable "park_max_delay_seconds" {
  description = "Cap of the park delay: at most 900 s, SQS's largest DelaySeconds."
  type        = number
  default     = 900
}

variable "customer_cache_capacity" {
  description = "Customers a warm poller instance keeps in memory across invocations."
  type        = number
  default     = 20000
}

variable "customer_cache_ttl_seconds" {
  description = "How long a cached customer is trusted."
  type        = number
  default     = 300
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the poller's EMF metrics; the dashboard and alarms read the same."
  type        = string
  default     = "sesload"
}

variable "log_retention_days" {
  description = "Retention of every log group of the stack, in days."
  type        = number
  default     = 14
}

# --- customers --------------------------------------------------------------------------------------

variable "customer_count" {
  description = "Test customers the seeder writes at apply (user_id 1..N); 0 = do not seed."
  type        = number
  default     = 10000
}

variable "dynamodb_deletion_protection" {
  description = "Protect the DynamoDB tables (customers, ledger, control) against deletion."
  type        = bool
  default     = false
}

# --- SES --------------------------------------------------------------------------------------------

variable "configuration_set_name" {
  description = "SES configuration set that publishes the events (seed: configurationSetName); null = \"<name_prefix>-config\", so the stack never shares the original sample's load-test-config."
  type        = string
  default     = null
}

variable "create_configuration_set" {
  description = "Create the configuration set (seed: newConfigurationSet = \"Yes\") or use an existing one of that name (\"No\")."
  type        = bool
  default     = true
}

variable "template_name" {
  description = "SES template name; null = \"<name_prefix>-template\", so the stack never overwrites the original sample's SimpleEmail."
  type        = string
  default     = null
}

variable "template_subject" {
  description = "Template subject (Handlebars)."
  type        = string
  default     = "Hello {{first_name}}"
}

variable "template_html" {
  description = "Template HTML body (Handlebars; must contain {{unique_code}})."
  type        = string
  default     = "<html><body><h1>Hello {{first_name}},</h1><p>This is a load-testing email sent through Amazon SES.</p><p>Unique code: {{unique_code}}</p></body></html>"
}

variable "template_text" {
  description = "Template text body (Handlebars; must contain {{unique_code}})."
  type        = string
  default     = "Hello {{first_name}},\r\nThis is a load-testing email sent through Amazon SES.\r\nUnique code: {{unique_code}}"
}

# --- analytics ----------------------------------------------------------------------------------

variable "athena_database_name" {
  description = "Glue/Athena database (seed: eventAthenaDatabaseName; '-' is not allowed, use '_')."
  type        = string
  default     = "sesload"
}

variable "events_bucket_name" {
  description = "Event bucket name; null = <name_prefix>-events-<account>-<region>."
  type        = string
  default     = null
}

variable "events_bucket_force_destroy" {
  description = "Let `terraform destroy` empty and delete the event bucket."
  type        = bool
  default     = false
}

variable "firehose_buffering_size_mb" {
  description = "Firehose buffer size (64-128 MB; Parquet conversion needs >= 64)."
  type        = number
  default     = 128
}

variable "firehose_buffering_interval_seconds" {
  description = "Firehose buffer interval (s): how soon events reach Athena."
  type        = number
  default     = 60
}

variable "athena_results_expiration_days" {
  description = "Days before Athena query results are deleted."
  type        = number
  default     = 7
}

variable "partition_projection_start" {
  description = "First dt (yyyy-MM-dd) of the partition projection range of ses_events (every event; ad-hoc queries)."
  type        = string
  default     = "2025-01-01"
}

# --- dashboard and alarms -----------------------------------------------------------------------

variable "dashboard_name" {
  description = "CloudWatch dashboard name (seed: cloudwatchDashboardName); null = \"<name_prefix>-monitoring\", so the stack never overwrites the original sample's SES-queue-monitoring."
  type        = string
  default     = null
}

variable "dlq_alarm_threshold" {
  description = "DLQ alarm: more than this many messages visible (0 = any)."
  type        = number
  default     = 0
}

variable "throttle_ratio_alarm_percent" {
  description = "Throttle alarm: emails_throttled / emails_received above this percentage."
  type        = number
  default     = 5
}

variable "oldest_message_age_alarm_seconds" {
  description = "Backlog alarm: oldest message in the source queue older than this (s)."
  type        = number
  default     = 900
}

variable "parked_alarm_minutes" {
  description = "Parked alarm: emails_parked > 0 in every minute of this many consecutive minutes (the account is paused or out of its daily quota)."
  type        = number
  default     = 15
}

variable "quota_fetch_failure_alarm_minutes" {
  description = "GetAccount alarm: quota_fetch_failures > 0 in every minute of this many consecutive minutes."
  type        = number
  default     = 5
}

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified by the alarms."
  type        = list(string)
  default     = []
}

# --- campaign guardrails (rows of the settings table: the same names as the sesload.toml keys) ---

variable "guardrail_enabled" {
  description = "Pause a campaign automatically (state auto_paused) when its bounce or complaint rate crosses its threshold: the configuration set's EventBridge destination, the rule, the guard queue and Lambda, the dashboard widget and the guardrail-pauses alarm. false = none of them."
  type        = bool
  default     = true
}

variable "guardrail_bounce_rate" {
  description = "A campaign whose hard bounces exceed this share (0, 1] of its sends in the window is paused; 0.05 is where SES warns an account (it reviews it at 0.10)."
  type        = number
  default     = 0.05

  validation {
    condition     = var.guardrail_bounce_rate > 0 && var.guardrail_bounce_rate <= 1
    error_message = "guardrail_bounce_rate must be in (0, 1], e.g. 0.05 for 5 %."
  }
}

variable "guardrail_complaint_rate" {
  description = "A campaign whose complaints exceed this share (0, 1] of its sends in the window is paused; 0.001 is where SES warns an account (it reviews it at 0.005)."
  type        = number
  default     = 0.001

  validation {
    condition     = var.guardrail_complaint_rate > 0 && var.guardrail_complaint_rate <= 1
    error_message = "guardrail_complaint_rate must be in (0, 1], e.g. 0.001 for 0.1 %."
  }
}

variable "guardrail_min_sends" {
  description = "Sends of a campaign in the window before its rates are judged (a rate is also judged only from 1 / threshold sends)."
  type        = number
  default     = 100

  validation {
    condition     = var.guardrail_min_sends >= 1 && var.guardrail_min_sends <= 1000000 && floor(var.guardrail_min_sends) == var.guardrail_min_sends
    error_message = "guardrail_min_sends must be a whole number between 1 and 1000000."
  }
}

variable "guardrail_window_minutes" {
  description = "Sliding window of the rates: the campaign's messages sent in the last N minutes, never counting from before its last resume."
  type        = number
  default     = 60

  validation {
    condition     = var.guardrail_window_minutes >= 1 && var.guardrail_window_minutes <= 1440 && floor(var.guardrail_window_minutes) == var.guardrail_window_minutes
    error_message = "guardrail_window_minutes must be a whole number between 1 and 1440."
  }
}
