# The Rust poller Lambda, its event source mapping, IAM role (least privilege) and log group.

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

  # Every statement allows; policy_statements name only what each one allows, on what.
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
      {
        Sid      = "WriteOwnLogsAndEmfMetrics"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.poller.arn}:*"]
      },
    ],
  )
}

resource "aws_cloudwatch_log_group" "poller" {
  # checkov:skip=CKV_AWS_158:Encrypted by CloudWatch Logs' default service key; the poller logs outcomes and EMF metrics, never message bodies or customer attributes.
  # checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (default 14 days): these are load-test logs; a one-year minimum only adds storage cost.
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_iam_role" "poller" {
  name = local.function_name
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

resource "aws_iam_role_policy" "poller" {
  # checkov:skip=CKV_AWS_355:The only "*" resource is ses:GetAccount, which has no resource-level permissions.
  # checkov:skip=CKV_AWS_290:Same statement: ses:GetAccount cannot be scoped; every write action is scoped to an ARN.
  name   = "poller"
  role   = aws_iam_role.poller.id
  policy = jsonencode({ Version = "2012-10-17", Statement = [for s in local.policy_statements : merge({ Effect = "Allow" }, s)] })
}

resource "aws_lambda_function" "poller" {
  # checkov:skip=CKV_AWS_115:Concurrency is capped by the event source mapping's maximum_concurrency; reserved concurrency would make the SQS pollers pull batches that Lambda then throttles.
  # checkov:skip=CKV_AWS_116:SQS-triggered: failed records go to the queue's redrive DLQ and permanent failures to the DLQ with a reason; a function DLQ applies only to asynchronous invocations.
  # checkov:skip=CKV_AWS_117:Calls only public AWS endpoints (SES, SQS, DynamoDB); a VPC would need NAT or interface endpoints and adds latency and cost to every send.
  # checkov:skip=CKV_AWS_173:Environment holds queue URLs, table names and tuning numbers, no secrets; Lambda encrypts it at rest with its service key.
  # checkov:skip=CKV_AWS_272:Code signing needs a signing profile; the zip is built locally by `just build-lambdas` and pinned by source_code_hash.
  function_name    = local.function_name
  description      = "sesload poller: SQS batch -> personalised SES v2 SendEmail or SendBulkEmail (send_api) at the account's rate."
  role             = aws_iam_role.poller.arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = var.package_path
  source_code_hash = filebase64sha256(var.package_path)
  memory_size      = var.function_memory_mb
  timeout          = var.function_timeout_seconds

  environment {
    variables = local.environment
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.poller.name
  }

  tracing_config {
    mode = "PassThrough"
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.poller]
}

resource "aws_lambda_event_source_mapping" "poller" {
  event_source_arn                   = var.queue_arn
  function_name                      = aws_lambda_function.poller.arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }

  tags = var.tags
}
