# Unit tests of modules/customers (plan mode, mocked provider, offline).

mock_provider "aws" {
  source          = "./tests/mocks/aws"
  override_during = plan
}

variables {
  name_prefix         = "t"
  seeder_package_path = "tests/fixtures/bootstrap.zip"
  customer_count      = 2500
}

run "tables_and_seeder" {
  command = plan

  module {
    source = "./modules/customers"
  }

  assert {
    condition     = aws_dynamodb_table.customers.hash_key == "user_id" && one([for a in aws_dynamodb_table.customers.attribute : a.type if a.name == "user_id"]) == "S"
    error_message = "customers table: hash key user_id (S)"
  }
  assert {
    condition     = aws_dynamodb_table.ledger.hash_key == "unique_code" && one([for a in aws_dynamodb_table.ledger.attribute : a.type if a.name == "unique_code"]) == "S"
    error_message = "ledger table: hash key unique_code (S)"
  }
  assert {
    condition     = aws_dynamodb_table.ledger.ttl[0].enabled && aws_dynamodb_table.ledger.ttl[0].attribute_name == "expires_at"
    error_message = "ledger items expire through TTL on expires_at"
  }
  assert {
    condition     = aws_dynamodb_table.control.name == "t-control" && aws_dynamodb_table.control.hash_key == "pk" && one([for a in aws_dynamodb_table.control.attribute : a.type if a.name == "pk"]) == "S"
    error_message = "control table: <name_prefix>-control, hash key pk (S)"
  }
  assert {
    condition     = length(aws_dynamodb_table.control.attribute) == 1 && aws_dynamodb_table.control.range_key == null
    error_message = "control table: one key attribute, no sort key"
  }
  assert {
    condition     = aws_dynamodb_table.control.ttl[0].enabled && aws_dynamodb_table.control.ttl[0].attribute_name == "expires_at"
    error_message = "control table: the cancelled records' markers and the guardrail buckets expire through TTL on expires_at (the attribute DynamoCampaigns and DynamoGuardCounters write)"
  }
  assert {
    condition = alltrue([for t in [aws_dynamodb_table.customers, aws_dynamodb_table.ledger, aws_dynamodb_table.control] : (
      t.billing_mode == "PAY_PER_REQUEST" && t.point_in_time_recovery[0].enabled && t.server_side_encryption[0].enabled
    )])
    error_message = "every table: on-demand, point-in-time recovery, encryption at rest"
  }
  assert {
    condition     = !aws_dynamodb_table.control.deletion_protection_enabled && !aws_dynamodb_table.ledger.deletion_protection_enabled
    error_message = "deletion protection is off by default"
  }
  assert {
    condition     = module.seeder.function.runtime == "provided.al2023" && module.seeder.function.architectures == tolist(["arm64"]) && module.seeder.function.handler == "bootstrap"
    error_message = "the seeder is a provided.al2023 arm64 function"
  }
  assert {
    condition     = module.seeder.function.environment[0].variables == tomap({ CUSTOMERS_TABLE = "t-customers" })
    error_message = "the seeder reads CUSTOMERS_TABLE only"
  }
  assert {
    condition     = jsondecode(aws_lambda_invocation.seed[0].input) == { count = 2500 }
    error_message = "Terraform invokes the seeder once with {\"count\": customer_count}"
  }
  assert {
    condition     = aws_lambda_invocation.seed[0].triggers["count"] == "2500"
    error_message = "changing customer_count must re-run the seeder"
  }
  assert {
    condition = jsondecode(module.seeder.policy).Statement[0].Resource == [aws_dynamodb_table.customers.arn] && (
      jsondecode(module.seeder.policy).Statement[0].Action == ["dynamodb:BatchWriteItem", "dynamodb:PutItem"]
    )
    error_message = "the seeder may only write to the customers table"
  }
  assert {
    condition     = module.seeder.log_retention_in_days == 14
    error_message = "the seeder's log group has a retention"
  }
}

run "deletion_protection_covers_every_table" {
  command = plan

  module {
    source = "./modules/customers"
  }

  variables {
    deletion_protection_enabled = true
  }

  assert {
    condition     = alltrue([for t in [aws_dynamodb_table.customers, aws_dynamodb_table.ledger, aws_dynamodb_table.control] : t.deletion_protection_enabled])
    error_message = "deletion_protection_enabled protects the customers, ledger and control tables"
  }
}

run "zero_customers_skips_seeding" {
  command = plan

  module {
    source = "./modules/customers"
  }

  variables {
    customer_count = 0
  }

  assert {
    condition     = length(aws_lambda_invocation.seed) == 0
    error_message = "customer_count = 0 must not invoke the seeder"
  }
}

run "validations_reject_bad_values" {
  command = plan

  module {
    source = "./modules/customers"
  }

  variables {
    name_prefix            = ""
    customer_count         = 1.5
    seeder_package_path    = "tests/fixtures/nope.zip"
    seeder_timeout_seconds = 5
    log_retention_days     = 0
  }

  expect_failures = [
    var.name_prefix,
    var.customer_count,
    var.seeder_package_path,
    var.seeder_timeout_seconds,
    var.log_retention_days,
  ]
}
