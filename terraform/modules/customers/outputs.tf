output "customers_table_name" {
  description = "Name of the customers table (the poller's CUSTOMERS_TABLE)."
  value       = aws_dynamodb_table.customers.name
}

output "customers_table_arn" {
  description = "ARN of the customers table."
  value       = aws_dynamodb_table.customers.arn
}

output "ledger_table_name" {
  description = "Name of the idempotency ledger table (the poller's LEDGER_TABLE)."
  value       = aws_dynamodb_table.ledger.name
}

output "ledger_table_arn" {
  description = "ARN of the idempotency ledger table."
  value       = aws_dynamodb_table.ledger.arn
}

output "control_table_name" {
  description = "Name of the poller fleet's control table (the poller's CONTROL_TABLE)."
  value       = aws_dynamodb_table.control.name
}

output "control_table_arn" {
  description = "ARN of the control table."
  value       = aws_dynamodb_table.control.arn
}

output "seeder_function_name" {
  description = "Name of the seeder Lambda (invoke it again with {\"count\": N} to reseed)."
  value       = module.seeder.function_name
}

output "seed_result" {
  description = "The seeder's response to Terraform's invocation (null when customer_count = 0)."
  value       = one(aws_lambda_invocation.seed[*].result)
}
