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

# --- seeder -------------------------------------------------------------------------------

locals {
  seeder_name = "${var.name_prefix}-seeder"
}

resource "aws_cloudwatch_log_group" "seeder" {
  # checkov:skip=CKV_AWS_158:Log group encrypted by CloudWatch Logs' default service key; the seeder logs only counts, no secrets or personal data.
  # checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (default 14 days): these are load-test logs, a one-year minimum only adds storage cost.
  name              = "/aws/lambda/${local.seeder_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_iam_role" "seeder" {
  name = local.seeder_name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "seeder" {
  name = "seed-customers"
  role = aws_iam_role.seeder.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "WriteCustomers"
        Effect   = "Allow"
        Action   = ["dynamodb:BatchWriteItem", "dynamodb:PutItem"]
        Resource = [aws_dynamodb_table.customers.arn]
      },
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.seeder.arn}:*"]
      },
    ]
  })
}

resource "aws_lambda_function" "seeder" {
  # checkov:skip=CKV_AWS_50:X-Ray tracing is not useful for a one-shot seeding function.
  # checkov:skip=CKV_AWS_115:Invoked once by Terraform; reserved concurrency would only take capacity from the account.
  # checkov:skip=CKV_AWS_116:Invoked synchronously by Terraform, which reports a failure; an async DLQ would never receive anything.
  # checkov:skip=CKV_AWS_117:Talks only to the public DynamoDB endpoint; a VPC would need NAT or endpoints and adds nothing.
  # checkov:skip=CKV_AWS_173:The only environment variable is a table name, not a secret.
  # checkov:skip=CKV_AWS_272:Code signing needs a signing profile the user builds for; the zip is built locally by `just build-lambdas`.
  function_name    = local.seeder_name
  description      = "Seeds ${var.name_prefix}-customers with test customers (event {\"count\": N})."
  role             = aws_iam_role.seeder.arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = var.seeder_package_path
  source_code_hash = filebase64sha256(var.seeder_package_path)
  memory_size      = 256
  timeout          = var.seeder_timeout_seconds

  environment {
    variables = {
      CUSTOMERS_TABLE = aws_dynamodb_table.customers.name
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.seeder.name
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.seeder]
}

# Seed once on create; again whenever the count, the table or the code changes.
resource "aws_lambda_invocation" "seed" {
  count = var.customer_count > 0 ? 1 : 0

  function_name = aws_lambda_function.seeder.function_name
  input         = jsonencode({ count = var.customer_count })

  triggers = {
    count     = tostring(var.customer_count)
    table     = aws_dynamodb_table.customers.name
    code_hash = aws_lambda_function.seeder.source_code_hash
  }
}
