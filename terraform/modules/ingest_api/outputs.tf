output "invoke_url" {
  description = "Stage URL (https://<id>.execute-api.<region>.amazonaws.com/send_messages); POST <invoke_url>/events."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "events_url" {
  description = "Full URL of the ingest endpoint (POST, header x-api-key)."
  value       = "${aws_api_gateway_stage.this.invoke_url}/${aws_api_gateway_resource.events.path_part}"
}

output "api_key_value" {
  description = "Value of the API key (send it as x-api-key). Sensitive: read with `terraform output -raw api_key_value`."
  value       = aws_api_gateway_api_key.this.value
  sensitive   = true
}

output "api_key_id" {
  description = "Id of the API key (not its value)."
  value       = aws_api_gateway_api_key.this.id
}

output "rest_api_id" {
  description = "Id of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "stage_name" {
  description = "Stage name."
  value       = aws_api_gateway_stage.this.stage_name
}

output "access_log_group_name" {
  description = "Log group of the stage's access logs; null when logging is off."
  value       = one(aws_cloudwatch_log_group.access[*].name)
}

output "logging_enabled" {
  description = "Whether the stage writes access logs and ERROR execution logs (logging_enabled or manage_account_cloudwatch_role)."
  value       = local.logging_enabled
}

output "account_cloudwatch_role_arn" {
  description = "ARN of the role this stack set as the region's API Gateway CloudWatch role; null when it leaves the account setting alone (the default)."
  value       = one(aws_api_gateway_account.this[*].cloudwatch_role_arn)
}

output "deployment_trigger" {
  description = "Hash of the API's resources (method, model, validator, integration, responses); when it changes, Terraform creates a new deployment."
  value       = aws_api_gateway_deployment.this.triggers["redeployment"]
}
