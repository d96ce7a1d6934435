# The Rust poller Lambda (modules/lambda_function): its environment, its least-privilege IAM
# statements and its SQS event source mapping.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  function_name = "${var.name_prefix}-poller"
  ses_arn       = "arn:${data.aws_partition.current.partition}:ses:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"

  # Exactly the variables the Rust poller reads: the rows of the settings table
  # (crates/core/src/config/settings.rs) with an env var; `cargo test -p sesload-core --test settings`
  # checks the names and that each comes from the variable of the same setting.
  environment = {
    QUEUE_URL                  = var.queue_url
    DLQ_URL                    = var.dlq_url
    CUSTOMERS_TABLE            = var.customers_table_name
    LEDGER_TABLE               = var.ledger_table_name
    CONTROL_TABLE              = var.control_table_name
    IDEMPOTENCY_ENABLED        = tostring(var.idempotency_enabled)
    CLAIM_LEASE_SECONDS        = tostring(var.claim_lease_seconds)
    LEDGER_TTL_DAYS            = tostring(var.ledger_ttl_days)
    ALLOWED_RECIPIENT_DOMAINS  = join(",", var.allowed_recipient_domains)
    CONFIGURATION_SET_NAME     = var.configuration_set_name
    TARGET_UTILISATION         = tostring(var.target_utilisation)
    SES_MAX_SEND_RATE_OVERRIDE = var.ses_max_send_rate_override == null ? "" : tostring(var.ses_max_send_rate_override)
    MAXIMUM_CONCURRENCY        = tostring(var.maximum_concurrency)
    SEND_CONCURRENCY           = tostring(var.send_concurrency)
    SEND_API                   = var.send_api
    QUOTA_CACHE_SECONDS        = tostring(var.quota_cache_seconds)
    CUSTOMER_CACHE_CAPACITY    = tostring(var.customer_cache_capacity)
    CUSTOMER_CACHE_TTL_SECONDS = tostring(var.customer_cache_ttl_seconds)
    RETRY_BASE_DELAY_SECONDS   = tostring(var.retry_base_delay_seconds)
    RETRY_MAX_DELAY_SECONDS    = tostring(var.retry_max_delay_seconds)
    PARK_BASE_DELAY_SECONDS    = tostring(var.park_base_delay_seconds)
    PARK_MAX_DELAY_SECONDS     = tostring(var.park_max_delay_seconds)
    METRICS_NAMESPACE          = var.metrics_namespace
  }

  # Every statement allows; policy_statements name only what each one allows, on what
  # (modules/lambda_function adds Effect and the statement on the poller's own log group).
  policy_statements = concat(
    [
      {
        Sid      = "ConsumeSourceQueue"
        Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
        Resource = [var.queue_arn]
      },
      {
        # Parking: the record is acknowledged and a copy goes back on the source queue with a
        # delay (daily quota, sending paused, deadline), so waiting spends no receives.
        Sid      = "ParkOnSourceQueue"
        Action   = ["sqs:SendMessage"]
        Resource = [var.queue_arn]
      },
      {
        Sid      = "DeadLetterPermanentFailures"
        Action   = ["sqs:SendMessage"]
        Resource = [var.dlq_arn]
      },
      {
        # The fleet's shared send schedule (GetItem, a conditional UpdateItem/PutItem reserves
        # send slots) and the campaign states: one BatchGetItem per batch reads them, and a
        # TransactWriteItems of Puts (markers cancelled#<name>#<code>) and an Update (the
        # campaign's cancelled counter) records a cancelled campaign's records. No Delete, no Scan.
        Sid      = "FleetScheduleAndCampaigns"
        Action   = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
        Resource = [var.control_table_arn]
      },
      {
        Sid      = "ReadCustomers"
        Action   = ["dynamodb:BatchGetItem", "dynamodb:GetItem"]
        Resource = [var.customers_table_arn]
      },
    ],
    var.idempotency_enabled ? [
      {
        Sid      = "ClaimAndRecordInLedger"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        Resource = [var.ledger_table_arn]
      },
    ] : [],
    [
      {
        # SES v2 SendEmail and SendBulkEmail are authorised against every resource the call
        # uses: the sending identity, the configuration set and the template (SEND_API picks
        # the operation; both are allowed so that switching needs no IAM change).
        Sid    = "SendWithOneIdentityConfigSetAndTemplate"
        Action = ["ses:SendEmail", "ses:SendBulkEmail"]
        Resource = [
          "${local.ses_arn}:identity/${var.sender_identity}",
          "${local.ses_arn}:configuration-set/${var.configuration_set_name}",
          "${local.ses_arn}:template/${var.template_name}",
        ]
      },
      {
        # GetAccount (the send quota) supports no resource-level permissions.
        Sid      = "ReadSendQuota"
        Action   = ["ses:GetAccount"]
        Resource = ["*"]
      },
    ],
  )
}

module "lambda" {
  source = "../lambda_function"

  function_name         = local.function_name
  description           = "sesload poller: SQS batch -> personalised SES v2 SendEmail or SendBulkEmail (send_api) at the account's rate."
  package_path          = var.package_path
  memory_size           = var.function_memory_mb
  timeout               = var.function_timeout_seconds
  environment           = local.environment
  log_retention_in_days = var.log_retention_days
  policy_name           = "poller"
  policy_statements     = local.policy_statements

  # Concurrency is capped here, not by reserved concurrency (which makes the SQS pollers pull
  # batches that Lambda then throttles).
  sqs_event_source = {
    queue_arn                          = var.queue_arn
    batch_size                         = var.batch_size
    maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
    maximum_concurrency                = var.maximum_concurrency
  }

  tags = var.tags
}

# The resources this module declared itself before modules/lambda_function: same objects, new
# addresses (no replacement).
moved {
  from = aws_cloudwatch_log_group.poller
  to   = module.lambda.aws_cloudwatch_log_group.this
}

moved {
  from = aws_iam_role.poller
  to   = module.lambda.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.poller
  to   = module.lambda.aws_iam_role_policy.this
}

moved {
  from = aws_lambda_function.poller
  to   = module.lambda.aws_lambda_function.this
}

moved {
  from = aws_lambda_event_source_mapping.poller
  to   = module.lambda.aws_lambda_event_source_mapping.sqs[0]
}
