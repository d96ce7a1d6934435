output "function_name" {
  description = "Name of the poller Lambda (the FunctionName dimension of its EMF metrics)."
  value       = aws_lambda_function.poller.function_name
}

output "function_arn" {
  description = "ARN of the poller Lambda."
  value       = aws_lambda_function.poller.arn
}

output "role_arn" {
  description = "ARN of the poller's execution role."
  value       = aws_iam_role.poller.arn
}

output "log_group_name" {
  description = "Log group of the poller (logs and EMF metrics)."
  value       = aws_cloudwatch_log_group.poller.name
}

output "event_source_mapping_uuid" {
  description = "UUID of the SQS event source mapping (disable it to pause sending)."
  value       = aws_lambda_event_source_mapping.poller.uuid
}

output "environment_variable_names" {
  description = "Names of the environment variables set on the poller (the env vars of the settings table, crates/core/src/config/settings.rs)."
  value       = sort(keys(local.environment))
}
