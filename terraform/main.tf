# sesload on AWS: API Gateway -> SQS -> Rust poller Lambda -> SES -> Firehose -> S3/Athena,
# with a CloudWatch dashboard and alarms. Every module mirrors one runtime piece.

locals {
  repo_root           = "${path.root}/.."
  poller_package_path = coalesce(var.poller_package_path, "${local.repo_root}/target/lambda/poller/bootstrap.zip")
  seeder_package_path = coalesce(var.seeder_package_path, "${local.repo_root}/target/lambda/seeder/bootstrap.zip")
  guard_package_path  = coalesce(var.guard_package_path, "${local.repo_root}/target/lambda/guard/bootstrap.zip")
  schema_path         = coalesce(var.schema_path, "${local.repo_root}/schemas/send-request.schema.json")
  sql_dir             = coalesce(var.sql_dir, "${local.repo_root}/sql")
}

module "queue" {
  source = "./modules/queue"

  name_prefix                        = var.name_prefix
  visibility_timeout_seconds         = var.visibility_timeout_seconds
  function_timeout_seconds           = var.function_timeout_seconds
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  max_receive_count                  = var.max_receive_count
}

module "customers" {
  source = "./modules/customers"

  name_prefix                 = var.name_prefix
  customer_count              = var.customer_count
  seeder_package_path         = local.seeder_package_path
  log_retention_days          = var.log_retention_days
  deletion_protection_enabled = var.dynamodb_deletion_protection
}

module "analytics" {
  source = "./modules/analytics"

  name_prefix                         = var.name_prefix
  athena_database_name                = var.athena_database_name
  bucket_name                         = var.events_bucket_name
  bucket_force_destroy                = var.events_bucket_force_destroy
  firehose_buffering_size_mb          = var.firehose_buffering_size_mb
  firehose_buffering_interval_seconds = var.firehose_buffering_interval_seconds
  athena_results_expiration_days      = var.athena_results_expiration_days
  partition_projection_start          = var.partition_projection_start
  sql_dir                             = local.sql_dir
  log_retention_days                  = var.log_retention_days
}

module "ses" {
  source = "./modules/ses"

  name_prefix              = var.name_prefix
  configuration_set_name   = var.configuration_set_name
  create_configuration_set = var.create_configuration_set
  template_name            = var.template_name
  template_subject         = var.template_subject
  template_html            = var.template_html
  template_text            = var.template_text
  firehose_arn             = module.analytics.firehose_arn
}

module "poller" {
  source = "./modules/poller"

  name_prefix                        = var.name_prefix
  package_path                       = local.poller_package_path
  function_timeout_seconds           = var.function_timeout_seconds
  function_memory_mb                 = var.function_memory_mb
  log_retention_days                 = var.log_retention_days
  queue_arn                          = module.queue.queue_arn
  queue_url                          = module.queue.queue_url
  dlq_arn                            = module.queue.dlq_arn
  dlq_url                            = module.queue.dlq_url
  customers_table_name               = module.customers.customers_table_name
  customers_table_arn                = module.customers.customers_table_arn
  ledger_table_name                  = module.customers.ledger_table_name
  ledger_table_arn                   = module.customers.ledger_table_arn
  control_table_name                 = module.customers.control_table_name
  control_table_arn                  = module.customers.control_table_arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  maximum_concurrency                = var.maximum_concurrency
  idempotency_enabled                = var.idempotency_enabled
  allowed_recipient_domains          = var.allowed_recipient_domains
  configuration_set_name             = module.ses.configuration_set_name
  template_name                      = module.ses.template_name
  sender_identity                    = var.sender_identity
  target_utilisation                 = var.target_utilisation
  ses_max_send_rate_override         = var.ses_max_send_rate_override
  send_concurrency                   = var.send_concurrency
  send_api                           = var.send_api
  quota_cache_seconds                = var.quota_cache_seconds
  claim_lease_seconds                = var.claim_lease_seconds
  ledger_ttl_days                    = var.ledger_ttl_days
  retry_base_delay_seconds           = var.retry_base_delay_seconds
  retry_max_delay_seconds            = var.retry_max_delay_seconds
  park_base_delay_seconds            = var.park_base_delay_seconds
  park_max_delay_seconds             = var.park_max_delay_seconds
  customer_cache_capacity            = var.customer_cache_capacity
  customer_cache_ttl_seconds         = var.customer_cache_ttl_seconds
  metrics_namespace                  = var.metrics_namespace
}

# The campaign guardrails: SES events -> EventBridge -> SQS -> guard Lambda -> control table.
module "guardrail" {
  source = "./modules/guardrail"
  count  = var.guardrail_enabled ? 1 : 0

  name_prefix              = var.name_prefix
  package_path             = local.guard_package_path
  log_retention_days       = var.log_retention_days
  control_table_name       = module.customers.control_table_name
  control_table_arn        = module.customers.control_table_arn
  configuration_set_name   = module.ses.configuration_set_name
  metrics_namespace        = var.metrics_namespace
  guardrail_bounce_rate    = var.guardrail_bounce_rate
  guardrail_complaint_rate = var.guardrail_complaint_rate
  guardrail_min_sends      = var.guardrail_min_sends
  guardrail_window_minutes = var.guardrail_window_minutes
  alarm_actions            = var.alarm_actions
}

module "ingest_api" {
  source = "./modules/ingest_api"

  name_prefix                    = var.name_prefix
  api_name                       = var.api_name
  schema_path                    = local.schema_path
  queue_name                     = module.queue.queue_name
  queue_arn                      = module.queue.queue_arn
  throttle_rate_limit            = var.api_throttle_rate_limit
  throttle_burst_limit           = var.api_throttle_burst_limit
  quota_limit_per_day            = var.api_quota_limit_per_day
  log_retention_days             = var.log_retention_days
  manage_account_cloudwatch_role = var.manage_api_gateway_account_role
  logging_enabled                = var.api_logging_enabled
}

module "dashboard" {
  source = "./modules/dashboard"

  name_prefix                       = var.name_prefix
  dashboard_name                    = var.dashboard_name
  metrics_namespace                 = var.metrics_namespace
  function_name                     = module.poller.function_name
  function_timeout_seconds          = var.function_timeout_seconds
  queue_name                        = module.queue.queue_name
  dlq_name                          = module.queue.dlq_name
  dlq_alarm_threshold               = var.dlq_alarm_threshold
  throttle_ratio_alarm_percent      = var.throttle_ratio_alarm_percent
  oldest_message_age_alarm_seconds  = var.oldest_message_age_alarm_seconds
  parked_alarm_minutes              = var.parked_alarm_minutes
  quota_fetch_failure_alarm_minutes = var.quota_fetch_failure_alarm_minutes
  guardrail_enabled                 = var.guardrail_enabled
  guard_function_name               = one(module.guardrail[*].function_name)
  alarm_actions                     = var.alarm_actions
}

# --- the poller's batches fit its timeout ----------------------------------------------------------
#
# The formula `sesload plan` uses (crates/plan: max_batch_for_timeout, min_timeout_for_batch,
# batch_fits, with the same 3 s reserve and 1e-9 slack): the fleet paces to R_f = MaxSendRate x target_utilisation, shared
# by maximum_concurrency instances, so one instance drains a batch at r_i = R_f / maximum_concurrency
# emails/s, in batch_size / r_i seconds. The poller keeps a 3 s reserve before its deadline (margin
# plus the time to write results). A batch fits when batch_size / r_i + 3 <= function_timeout_seconds;
# one that does not is cut at the deadline on every invocation (records parked, never lost, but the
# fleet drains slower than it could).
locals {
  capacity_max_send_rate   = coalesce(var.ses_max_send_rate_override, var.expected_max_send_rate)
  capacity_rate_source     = var.ses_max_send_rate_override != null ? "ses_max_send_rate_override" : "expected_max_send_rate"
  deadline_reserve_seconds = 3
  instance_send_rate       = local.capacity_max_send_rate * var.target_utilisation / var.maximum_concurrency
  batch_drain_seconds      = var.batch_size / local.instance_send_rate
  # epsilon keeps exact boundaries exact despite binary floating point.
  epsilon               = 0.000000001
  max_batch_for_timeout = floor((var.function_timeout_seconds - local.deadline_reserve_seconds) * local.instance_send_rate + local.epsilon)
  min_timeout_for_batch = ceil(local.batch_drain_seconds + local.deadline_reserve_seconds - local.epsilon)
  batch_fix = join(" or ", compact([
    local.max_batch_for_timeout >= 1 ? "batch_size <= ${local.max_batch_for_timeout}" : "",
    local.min_timeout_for_batch <= 900 ? "function_timeout_seconds >= ${local.min_timeout_for_batch} (with visibility_timeout_seconds >= ${6 * local.min_timeout_for_batch + var.maximum_batching_window_in_seconds})" : "",
    local.max_batch_for_timeout < 1 && local.min_timeout_for_batch > 900 ? "a higher send rate per instance (lower maximum_concurrency)" : "",
  ]))
}

check "batch_fits_function_timeout" {
  assert {
    condition     = local.batch_drain_seconds + local.deadline_reserve_seconds <= var.function_timeout_seconds + local.epsilon
    error_message = "batch_size ${var.batch_size} does not fit in function_timeout_seconds ${var.function_timeout_seconds}: ${local.capacity_max_send_rate} emails/s (${local.capacity_rate_source}) x target_utilisation ${var.target_utilisation} over maximum_concurrency ${var.maximum_concurrency} is ${format("%.3g", local.instance_send_rate)} emails/s per poller instance, so a batch takes ${format("%.1f", local.batch_drain_seconds)} s + ${local.deadline_reserve_seconds} s deadline reserve. Use ${local.batch_fix}."
  }
}
