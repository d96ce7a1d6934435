# The DynamoDB tables: customer data (personalisation), the idempotency ledger and the poller
# fleet's control table, plus the seeder Lambda that Terraform invokes once to fill the customers
# table.

resource "aws_dynamodb_table" "customers" {
  # checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS managed KMS key aws/dynamodb (server_side_encryption enabled without kms_key_arn). A customer managed key would add a key to pay for and a key policy granting the poller, the seeder and operators, for test customers that hold no personal data.
  name                        = "${var.name_prefix}-customers"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "user_id"
  deletion_protection_enabled = var.deletion_protection_enabled

  attribute {
    name = "user_id"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  # enabled = true without kms_key_arn: the AWS managed KMS key aws/dynamodb (false = AWS owned key).
  server_side_encryption {
    enabled = true
  }

  tags = var.tags
}

resource "aws_dynamodb_table" "ledger" {
  # checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS managed KMS key aws/dynamodb (server_side_encryption enabled without kms_key_arn). A customer managed key would add a key to pay for and a key policy granting the poller and operators, for items that hold only codes and message ids.
  name                        = "${var.name_prefix}-ledger"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "unique_code"
  deletion_protection_enabled = var.deletion_protection_enabled

  attribute {
    name = "unique_code"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  # enabled = true without kms_key_arn: the AWS managed KMS key aws/dynamodb (false = AWS owned key).
  server_side_encryption {
    enabled = true
  }

  tags = var.tags
}

# The poller fleet's control state, one item per key `pk`: the shared send schedule (the next
# free send slot, reserved with a conditional write so the instances never collide in SES's
# one-second bucket), the campaign states (`campaign#<name>`), the markers of a cancelled
# campaign's records (`cancelled#<name>#<unique_code>`, expired by TTL on `expires_at` once
# SQS could no longer redeliver the record) and the guardrails' per-minute counts
# (`guard#<campaign>#<minute>`, expired by the same TTL). Small and hot: on-demand billing.
resource "aws_dynamodb_table" "control" {
  # checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS managed KMS key aws/dynamodb (server_side_encryption enabled without kms_key_arn). A customer managed key would add a key to pay for and a key policy granting the poller and operators, for items that hold only send-slot times and counters.
  name                        = "${var.name_prefix}-control"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  deletion_protection_enabled = var.deletion_protection_enabled

  attribute {
    name = "pk"
    type = "S"
  }

  # Cancelled-record markers and guardrail buckets carry expires_at (epoch seconds); the other
  # items have none.
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  # enabled = true without kms_key_arn: the AWS managed KMS key aws/dynamodb (false = AWS owned key).
  server_side_encryption {
    enabled = true
  }

  tags = var.tags
}

# --- seeder (modules/lambda_function) -----------------------------------------------------

locals {
  seeder_name = "${var.name_prefix}-seeder"
}

module "seeder" {
  source = "../lambda_function"

  function_name         = local.seeder_name
  description           = "Seeds ${var.name_prefix}-customers with test customers (event {\"count\": N})."
  package_path          = var.seeder_package_path
  memory_size           = 256
  timeout               = var.seeder_timeout_seconds
  environment           = { CUSTOMERS_TABLE = aws_dynamodb_table.customers.name }
  log_retention_in_days = var.log_retention_days
  policy_name           = "seed-customers"
  policy_statements = [{
    Sid      = "WriteCustomers"
    Action   = ["dynamodb:BatchWriteItem", "dynamodb:PutItem"]
    Resource = [aws_dynamodb_table.customers.arn]
  }]
  logs_statement_sid = "WriteOwnLogs"

  tags = var.tags
}

# The resources this module declared itself before modules/lambda_function: same objects, new
# addresses (no replacement).
moved {
  from = aws_cloudwatch_log_group.seeder
  to   = module.seeder.aws_cloudwatch_log_group.this
}

moved {
  from = aws_iam_role.seeder
  to   = module.seeder.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.seeder
  to   = module.seeder.aws_iam_role_policy.this
}

moved {
  from = aws_lambda_function.seeder
  to   = module.seeder.aws_lambda_function.this
}

# Seed once on create; again whenever the count, the table or the code changes.
resource "aws_lambda_invocation" "seed" {
  count = var.customer_count > 0 ? 1 : 0

  function_name = module.seeder.function_name
  input         = jsonencode({ count = var.customer_count })

  triggers = {
    count     = tostring(var.customer_count)
    table     = aws_dynamodb_table.customers.name
    code_hash = module.seeder.source_code_hash
  }
}
