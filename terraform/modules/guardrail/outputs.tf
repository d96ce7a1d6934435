output "function_name" {
  description = "Name of the guard Lambda (the FunctionName dimension of its EMF metrics: guardrail_pauses, guard_events, guard_events_invalid)."
  value       = module.lambda.function_name
}

output "function_arn" {
  description = "ARN of the guard Lambda."
  value       = module.lambda.function_arn
}

output "role_arn" {
  description = "ARN of the guard's execution role."
  value       = module.lambda.role_arn
}

output "log_group_name" {
  description = "Log group of the guard (logs and EMF metrics)."
  value       = module.lambda.log_group_name
}

output "events_queue_url" {
  description = "URL of the SQS buffer between the EventBridge rule and the guard."
  value       = aws_sqs_queue.events.url
}

output "events_queue_arn" {
  description = "ARN of the SQS buffer between the EventBridge rule and the guard."
  value       = aws_sqs_queue.events.arn
}

output "events_dlq_url" {
  description = "URL of the guard queue's DLQ (messages that are no countable SES event, or kept failing)."
  value       = aws_sqs_queue.events_dlq.url
}

output "events_dlq_arn" {
  description = "ARN of the guard queue's DLQ (aws sqs start-message-move-task --source-arn)."
  value       = aws_sqs_queue.events_dlq.arn
}

output "event_rule_name" {
  description = "Name of the EventBridge rule matching the configuration set's Send, Bounce and Complaint events."
  value       = aws_cloudwatch_event_rule.ses_events.name
}

output "event_destination_name" {
  description = "Name of the configuration set's EventBridge event destination."
  value       = aws_sesv2_configuration_set_event_destination.eventbridge.event_destination_name
}

output "alarm_names" {
  description = "Names of the module's alarms (the guard DLQ not empty)."
  value       = [aws_cloudwatch_metric_alarm.events_dlq_not_empty.alarm_name]
}

output "environment_variable_names" {
  description = "Names of the environment variables set on the guard (the guard's env vars of the settings table, crates/core/src/config/settings.rs)."
  value       = sort(keys(local.environment))
}
