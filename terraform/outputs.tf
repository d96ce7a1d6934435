output "api_invoke_url" {
  description = "Stage URL to load-test: POST <api_invoke_url>/events with header x-api-key (Artillery target)."
  value       = module.ingest_api.invoke_url
}

output "api_events_url" {
  description = "Full URL of the ingest endpoint."
  value       = module.ingest_api.events_url
}

output "api_key_value" {
  description = "The API key's value (x-api-key). Read with `terraform output -raw api_key_value`."
  value       = module.ingest_api.api_key_value
  sensitive   = true
}

output "queue_url" {
  description = "Source queue URL."
  value       = module.queue.queue_url
}

output "dlq_url" {
  description = "Dead-letter queue URL (inspect and redrive: docs/operations.md)."
  value       = module.queue.dlq_url
}

output "dlq_arn" {
  description = "Dead-letter queue ARN (aws sqs start-message-move-task --source-arn)."
  value       = module.queue.dlq_arn
}

output "poller_function_name" {
  description = "Poller Lambda name."
  value       = module.poller.function_name
}

output "poller_event_source_mapping_uuid" {
  description = "Event source mapping UUID (disable to pause sending)."
  value       = module.poller.event_source_mapping_uuid
}

output "customers_table_name" {
  description = "Customers table."
  value       = module.customers.customers_table_name
}

output "ledger_table_name" {
  description = "Idempotency ledger table."
  value       = module.customers.ledger_table_name
}

output "control_table_name" {
  description = "The control table (CONTROL_TABLE): the fleet's shared send schedule, campaign states and the guardrails' per-minute counts."
  value       = module.customers.control_table_name
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms (docs/operations.md says what each means and what to do)."
  value       = concat(module.dashboard.alarm_names, flatten(module.guardrail[*].alarm_names))
}

output "seeder_function_name" {
  description = "Seeder Lambda (invoke with {\"count\": N} to reseed)."
  value       = module.customers.seeder_function_name
}

output "configuration_set_name" {
  description = "SES configuration set publishing the events (config_set in requests)."
  value       = module.ses.configuration_set_name
}

output "template_name" {
  description = "SES template name (template_name in requests)."
  value       = module.ses.template_name
}

output "events_bucket_name" {
  description = "Event lake bucket."
  value       = module.analytics.bucket_name
}

output "athena_database_name" {
  description = "Athena database with the ses_events table."
  value       = module.analytics.athena_database_name
}

output "athena_workgroup_name" {
  description = "Athena workgroup holding the named queries (sesload report --athena runs the saved queries there)."
  value       = module.analytics.athena_workgroup_name
}

output "athena_results_location" {
  description = "S3 location where the workgroup writes query results (enforced by the workgroup)."
  value       = module.analytics.athena_results_location
}

output "region" {
  description = "Region of the deployment (sesload report --athena calls Athena there)."
  value       = module.analytics.region
}

output "athena_report_policy_json" {
  description = "IAM policy (JSON) for whoever runs the saved queries or sesload report --athena: attach it to your own user or role; the stack grants it to no one (the poller never queries Athena)."
  value       = module.analytics.athena_report_policy_json
}

output "dashboard_url" {
  description = "CloudWatch dashboard."
  value       = module.dashboard.dashboard_url
}

output "athena_named_query_ids" {
  description = "Athena named query ids by name (one per file in sql/queries; sql/views are created as Athena views)."
  value       = module.analytics.named_queries
}

output "poller_batch_capacity" {
  description = "What one poller instance drains per invocation at the configured rate (the check batch_fits_function_timeout and `sesload plan` use the same formula): its send rate (emails/s), the seconds a batch takes, the largest batch_size that fits function_timeout_seconds and the smallest function_timeout_seconds that fits batch_size."
  value = {
    max_send_rate         = local.capacity_max_send_rate
    instance_send_rate    = local.instance_send_rate
    batch_drain_seconds   = local.batch_drain_seconds
    max_batch_for_timeout = local.max_batch_for_timeout
    min_timeout_for_batch = local.min_timeout_for_batch
  }
}

output "api_logging_enabled" {
  description = "Whether the API stage writes access logs and ERROR execution logs (api_logging_enabled or manage_api_gateway_account_role)."
  value       = module.ingest_api.logging_enabled
}

output "guard_function_name" {
  description = "The guard Lambda (campaign guardrails); null when guardrail_enabled is false."
  value       = one(module.guardrail[*].function_name)
}

output "guard_events_queue_url" {
  description = "The SQS buffer of SES events for the guard; null when guardrail_enabled is false."
  value       = one(module.guardrail[*].events_queue_url)
}

output "guard_events_dlq_arn" {
  description = "ARN of the guard queue's DLQ (aws sqs start-message-move-task --source-arn); null when guardrail_enabled is false."
  value       = one(module.guardrail[*].events_dlq_arn)
}

output "guard_events_dlq_url" {
  description = "The guard queue's DLQ (events the guard could not count); null when guardrail_enabled is false."
  value       = one(module.guardrail[*].events_dlq_url)
}
