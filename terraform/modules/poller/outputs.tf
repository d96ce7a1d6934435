output "function_name" {
  description = "Name of the poller Lambda (the FunctionName dimension of its EMF metrics)."
  value       = module.lambda.function_name
}

output "function_arn" {
  description = "ARN of the poller Lambda."
  value       = module.lambda.function_arn
}

output "role_arn" {
  description = "ARN of the poller's execution role."
  value       = module.lambda.role_arn
}

output "log_group_name" {
  description = "Log group of the poller (logs and EMF metrics)."
  value       = module.lambda.log_group_name
}

output "event_source_mapping_uuid" {
  description = "UUID of the SQS event source mapping (disable it to pause sending)."
  value       = module.lambda.event_source_mapping_uuid
}

output "environment_variable_names" {
  description = "Names of the environment variables set on the poller (the env vars of the settings table, crates/core/src/config/settings.rs)."
  value       = sort(keys(local.environment))
}
