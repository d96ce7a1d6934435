# Unit tests of modules/poller (plan mode, mocked provider, offline).

mock_provider "aws" {
  source          = "./tests/mocks/aws"
  override_during = plan
}

variables {
  name_prefix            = "t"
  package_path           = "tests/fixtures/bootstrap.zip"
  queue_arn              = "arn:aws:sqs:eu-west-1:123456789012:t-queue"
  queue_url              = "https://sqs.eu-west-1.amazonaws.com/123456789012/t-queue"
  dlq_arn                = "arn:aws:sqs:eu-west-1:123456789012:t-dlq"
  dlq_url                = "https://sqs.eu-west-1.amazonaws.com/123456789012/t-dlq"
  customers_table_name   = "t-customers"
  customers_table_arn    = "arn:aws:dynamodb:eu-west-1:123456789012:table/t-customers"
  ledger_table_name      = "t-ledger"
  ledger_table_arn       = "arn:aws:dynamodb:eu-west-1:123456789012:table/t-ledger"
  control_table_name     = "t-control"
  control_table_arn      = "arn:aws:dynamodb:eu-west-1:123456789012:table/t-control"
  configuration_set_name = "load-test-config"
  template_name          = "SimpleEmail"
  sender_identity        = "example.com"
}

run "function_mapping_and_iam" {
  command = plan

  module {
    source = "./modules/poller"
  }

  variables {
    batch_size                         = 100
    maximum_batching_window_in_seconds = 2
    maximum_concurrency                = 7
    ses_max_send_rate_override         = 14
    allowed_recipient_domains          = ["simulator.amazonses.com", "example.org"]
  }

  # --- function ---
  assert {
    condition     = module.lambda.function.runtime == "provided.al2023" && module.lambda.function.handler == "bootstrap"
    error_message = "the poller must be a provided.al2023 custom runtime with handler bootstrap"
  }
  assert {
    condition     = module.lambda.function.architectures == tolist(["arm64"])
    error_message = "the poller must run on arm64"
  }
  assert {
    condition     = module.lambda.function.memory_size <= 512
    error_message = "the Rust poller's default memory must stay small"
  }
  assert {
    condition     = module.lambda.function.source_code_hash == filebase64sha256("tests/fixtures/bootstrap.zip")
    error_message = "source_code_hash must follow the zip so a rebuild redeploys"
  }
  assert {
    condition     = coalesce(module.lambda.function.reserved_concurrent_executions, -1) == -1
    error_message = "no reserved concurrency: the event source mapping's maximum concurrency caps the pollers"
  }

  # --- environment: exactly the settings table's env vars (cross-checked against
  # crates/core/src/config/settings.rs by `cargo test -p sesload-core --test settings`) ---
  assert {
    condition = toset(keys(module.lambda.function.environment[0].variables)) == toset([
      "QUEUE_URL", "DLQ_URL", "CUSTOMERS_TABLE", "LEDGER_TABLE", "CONTROL_TABLE", "IDEMPOTENCY_ENABLED",
      "CLAIM_LEASE_SECONDS", "LEDGER_TTL_DAYS", "ALLOWED_RECIPIENT_DOMAINS", "CONFIGURATION_SET_NAME",
      "TARGET_UTILISATION", "SES_MAX_SEND_RATE_OVERRIDE", "MAXIMUM_CONCURRENCY", "SEND_CONCURRENCY",
      "SEND_API",
      "QUOTA_CACHE_SECONDS", "CUSTOMER_CACHE_CAPACITY", "CUSTOMER_CACHE_TTL_SECONDS",
      "RETRY_BASE_DELAY_SECONDS", "RETRY_MAX_DELAY_SECONDS", "PARK_BASE_DELAY_SECONDS",
      "PARK_MAX_DELAY_SECONDS", "METRICS_NAMESPACE",
    ])
    error_message = "the environment must hold exactly the variables the Rust poller reads"
  }
  assert {
    condition = (
      module.lambda.function.environment[0].variables["QUEUE_URL"] == var.queue_url &&
      module.lambda.function.environment[0].variables["DLQ_URL"] == var.dlq_url &&
      module.lambda.function.environment[0].variables["CUSTOMERS_TABLE"] == "t-customers" &&
      module.lambda.function.environment[0].variables["LEDGER_TABLE"] == "t-ledger" &&
      module.lambda.function.environment[0].variables["IDEMPOTENCY_ENABLED"] == "true" &&
      module.lambda.function.environment[0].variables["ALLOWED_RECIPIENT_DOMAINS"] == "simulator.amazonses.com,example.org" &&
      module.lambda.function.environment[0].variables["CONTROL_TABLE"] == "t-control" &&
      module.lambda.function.environment[0].variables["CONFIGURATION_SET_NAME"] == "load-test-config" &&
      module.lambda.function.environment[0].variables["PARK_BASE_DELAY_SECONDS"] == "10" &&
      module.lambda.function.environment[0].variables["PARK_MAX_DELAY_SECONDS"] == "900" &&
      module.lambda.function.environment[0].variables["MAXIMUM_CONCURRENCY"] == "7" &&
      module.lambda.function.environment[0].variables["SES_MAX_SEND_RATE_OVERRIDE"] == "14" &&
      module.lambda.function.environment[0].variables["TARGET_UTILISATION"] == "0.98" &&
      module.lambda.function.environment[0].variables["METRICS_NAMESPACE"] == "sesload"
    )
    error_message = "environment values must carry the module inputs"
  }

  # --- event source mapping ---
  assert {
    condition     = module.lambda.event_source_mapping.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "the mapping must use partial batch responses (ReportBatchItemFailures)"
  }
  assert {
    condition     = module.lambda.event_source_mapping.scaling_config[0].maximum_concurrency == 7
    error_message = "scaling_config.maximum_concurrency must be the configured maximum_concurrency"
  }
  assert {
    condition     = module.lambda.event_source_mapping.batch_size == 100 && module.lambda.event_source_mapping.maximum_batching_window_in_seconds == 2
    error_message = "batch size and batching window must be the configured ones"
  }
  assert {
    condition     = module.lambda.event_source_mapping.event_source_arn == var.queue_arn
    error_message = "the mapping must read the source queue"
  }

  # --- IAM: least privilege ---
  assert {
    condition = alltrue([for action in ["ses:SendEmail", "ses:SendBulkEmail"] : toset(one([for s in jsondecode(module.lambda.policy).Statement : s.Resource if contains(s.Action, action)])) == toset([
      "arn:aws:ses:eu-west-1:123456789012:identity/example.com",
      "arn:aws:ses:eu-west-1:123456789012:configuration-set/load-test-config",
      "arn:aws:ses:eu-west-1:123456789012:template/SimpleEmail",
    ])])
    error_message = "ses:SendEmail and ses:SendBulkEmail must both be scoped to the identity, the configuration set and the template"
  }
  assert {
    condition     = module.lambda.function.environment[0].variables["SEND_API"] == "single"
    error_message = "SEND_API defaults to single"
  }
  assert {
    condition     = alltrue([for s in jsondecode(module.lambda.policy).Statement : (contains(s.Resource, "*") ? s.Action == ["ses:GetAccount"] : true)])
    error_message = "only ses:GetAccount (no resource-level permissions) may use Resource \"*\""
  }
  assert {
    condition     = alltrue(flatten([for s in jsondecode(module.lambda.policy).Statement : [for a in s.Action : !strcontains(a, "*")]]))
    error_message = "no wildcard actions"
  }
  assert {
    condition = toset(flatten([for s in jsondecode(module.lambda.policy).Statement : s.Resource if anytrue([for a in s.Action : startswith(a, "sqs:")])])) == toset([
      var.queue_arn, var.dlq_arn,
    ])
    error_message = "SQS permissions must cover the two queues only"
  }
  assert {
    condition     = toset(flatten([for s in jsondecode(module.lambda.policy).Statement : s.Resource if contains(s.Action, "sqs:SendMessage")])) == toset([var.queue_arn, var.dlq_arn])
    error_message = "the poller may send to the DLQ (dead letters) and to the source queue (parked records) only"
  }
  assert {
    condition     = one([for s in jsondecode(module.lambda.policy).Statement : s.Action if s.Sid == "ParkOnSourceQueue"]) == ["sqs:SendMessage"] && one([for s in jsondecode(module.lambda.policy).Statement : s.Resource if s.Sid == "ParkOnSourceQueue"]) == [var.queue_arn]
    error_message = "parking re-sends a record to the source queue: sqs:SendMessage on the source queue, nothing else in that statement"
  }
  assert {
    condition = toset(flatten([for s in jsondecode(module.lambda.policy).Statement : s.Resource if anytrue([for a in s.Action : startswith(a, "dynamodb:")])])) == toset([
      var.customers_table_arn, var.ledger_table_arn, var.control_table_arn,
    ])
    error_message = "DynamoDB permissions must cover the three tables only"
  }
  assert {
    condition     = one([for s in jsondecode(module.lambda.policy).Statement : s.Action if contains(s.Resource, var.control_table_arn)]) == ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    error_message = "the control table (fleet send schedule, campaign states, cancelled records): BatchGetItem, GetItem, PutItem and UpdateItem only (no Delete, no Scan)"
  }
  assert {
    condition     = one([for s in jsondecode(module.lambda.policy).Statement : s.Action if contains(s.Resource, var.customers_table_arn)]) == ["dynamodb:BatchGetItem", "dynamodb:GetItem"]
    error_message = "the customers table must be read-only for the poller"
  }
  assert {
    condition     = jsondecode(module.lambda.assume_role_policy).Statement[0].Principal.Service == "lambda.amazonaws.com"
    error_message = "only Lambda may assume the poller role"
  }

  # --- logs ---
  assert {
    condition     = module.lambda.log_group_name == "/aws/lambda/t-poller" && module.lambda.log_retention_in_days == 14
    error_message = "the poller needs its own log group with a retention"
  }
  assert {
    condition     = module.lambda.function.logging_config[0].log_group == module.lambda.log_group_name
    error_message = "the function must log to the managed log group"
  }
}

run "idempotency_off_drops_ledger_access" {
  command = plan

  module {
    source = "./modules/poller"
  }

  variables {
    idempotency_enabled = false
  }

  assert {
    condition     = module.lambda.function.environment[0].variables["IDEMPOTENCY_ENABLED"] == "false" && module.lambda.function.environment[0].variables["SES_MAX_SEND_RATE_OVERRIDE"] == ""
    error_message = "IDEMPOTENCY_ENABLED must follow the variable; no override means empty"
  }
  assert {
    condition     = !anytrue([for s in jsondecode(module.lambda.policy).Statement : contains(s.Resource, var.ledger_table_arn)])
    error_message = "without idempotency the poller gets no ledger permissions"
  }
  assert {
    condition     = module.lambda.event_source_mapping.scaling_config[0].maximum_concurrency == 2 && module.lambda.event_source_mapping.batch_size == 20
    error_message = "defaults: maximum_concurrency 2, batch_size 20"
  }
}

run "validations_reject_bad_values" {
  command = plan

  module {
    source = "./modules/poller"
  }

  variables {
    name_prefix                        = "bad prefix"
    package_path                       = "tests/fixtures/missing.zip"
    function_timeout_seconds           = 1
    function_memory_mb                 = 64
    log_retention_days                 = 13
    queue_arn                          = "t-queue"
    dlq_arn                            = "t-dlq"
    batch_size                         = 11
    maximum_batching_window_in_seconds = 0
    maximum_concurrency                = 1
    allowed_recipient_domains          = ["user@example.com"]
    configuration_set_name             = "bad set"
    template_name                      = ""
    sender_identity                    = "not an identity"
    target_utilisation                 = 0
    ses_max_send_rate_override         = -1
    send_concurrency                   = 0
    claim_lease_seconds                = 0
    ledger_ttl_days                    = 0
    quota_cache_seconds                = -1
    customer_cache_capacity            = -1
    customer_cache_ttl_seconds         = -1
    retry_base_delay_seconds           = 10
    retry_max_delay_seconds            = 5
    metrics_namespace                  = ""
    control_table_name                 = "x"
    control_table_arn                  = "arn:aws:sqs:eu-west-1:123456789012:t-control"
    park_base_delay_seconds            = 0
  }

  expect_failures = [
    var.name_prefix,
    var.package_path,
    var.function_timeout_seconds,
    var.function_memory_mb,
    var.log_retention_days,
    var.queue_arn,
    var.dlq_arn,
    var.batch_size,
    var.maximum_concurrency,
    var.allowed_recipient_domains,
    var.configuration_set_name,
    var.template_name,
    var.sender_identity,
    var.target_utilisation,
    var.ses_max_send_rate_override,
    var.send_concurrency,
    var.claim_lease_seconds,
    var.ledger_ttl_days,
    var.quota_cache_seconds,
    var.customer_cache_capacity,
    var.customer_cache_ttl_seconds,
    var.retry_max_delay_seconds,
    var.metrics_namespace,
    var.control_table_name,
    var.control_table_arn,
    var.park_base_delay_seconds,
  ]
}

run "window_and_retry_bounds" {
  command = plan

  module {
    source = "./modules/poller"
  }

  variables {
    maximum_batching_window_in_seconds = 301
    retry_base_delay_seconds           = 43201
  }

  expect_failures = [
    var.maximum_batching_window_in_seconds,
    var.retry_base_delay_seconds,
  ]
}

run "park_delay_bounds" {
  command = plan

  module {
    source = "./modules/poller"
  }

  variables {
    park_base_delay_seconds = 60
    park_max_delay_seconds  = 901
  }

  expect_failures = [
    var.park_max_delay_seconds,
  ]
}

run "park_max_below_base_is_refused" {
  command = plan

  module {
    source = "./modules/poller"
  }

  variables {
    park_base_delay_seconds = 60
    park_max_delay_seconds  = 30
  }

  expect_failures = [
    var.park_max_delay_seconds,
  ]
}

run "park_delays_reach_the_environment" {
  command = plan

  module {
    source = "./modules/poller"
  }

  variables {
    park_base_delay_seconds = 5
    park_max_delay_seconds  = 600
  }

  assert {
    condition     = module.lambda.function.environment[0].variables["PARK_BASE_DELAY_SECONDS"] == "5" && module.lambda.function.environment[0].variables["PARK_MAX_DELAY_SECONDS"] == "600"
    error_message = "PARK_BASE_DELAY_SECONDS and PARK_MAX_DELAY_SECONDS follow the variables"
  }
}

run "send_api_is_single_or_bulk" {
  command = plan

  module {
    source = "./modules/poller"
  }

  variables {
    send_api = "batch"
  }

  expect_failures = [
    var.send_api,
  ]
}
