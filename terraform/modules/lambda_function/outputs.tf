output "function_name" {
  description = "Name of the function (the FunctionName dimension of its metrics)."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the function."
  value       = aws_lambda_function.this.arn
}

output "source_code_hash" {
  description = "Base64 SHA-256 of the deployed zip (changes whenever the code does)."
  value       = aws_lambda_function.this.source_code_hash
}

output "function" {
  description = "The aws_lambda_function resource, for attributes the other outputs do not name (runtime, environment, logging_config, ...)."
  value       = aws_lambda_function.this
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "assume_role_policy" {
  description = "The execution role's trust policy (JSON): only Lambda may assume it."
  value       = aws_iam_role.this.assume_role_policy
}

output "policy" {
  description = "The execution role's inline policy (JSON): the caller's statements, then the one on the function's own log group."
  value       = aws_iam_role_policy.this.policy
}

output "log_group_name" {
  description = "Name of the function's log group (its logs and EMF metrics)."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the function's log group."
  value       = aws_cloudwatch_log_group.this.arn
}

output "log_retention_in_days" {
  description = "Retention of the function's log group, in days."
  value       = aws_cloudwatch_log_group.this.retention_in_days
}

output "event_source_mapping_uuid" {
  description = "UUID of the SQS event source mapping (disable it to pause the function); null without sqs_event_source."
  value       = one(aws_lambda_event_source_mapping.sqs[*].uuid)
}

output "event_source_mapping" {
  description = "The aws_lambda_event_source_mapping resource (null without sqs_event_source), for its batch size, window, scaling and response types."
  value       = one(aws_lambda_event_source_mapping.sqs)
}
