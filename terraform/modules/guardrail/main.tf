# The campaign guardrails on AWS: the configuration set publishes Send, Bounce and Complaint
# events to EventBridge (default bus); a rule keeps those of tagged campaigns and puts them on an
# SQS buffer; the guard Lambda reads it in batches, adds the counts per campaign and send minute
# to the control table (UpdateItem ADD, TTL on expires_at) and pauses a campaign whose bounce or
# complaint rate crosses its threshold (state auto_paused in the same control table the poller
# and `sesload campaign --aws` read). Reaction time: the batching window plus one invocation.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  function_name   = "${var.name_prefix}-guard"
  account         = data.aws_caller_identity.current.account_id
  default_bus_arn = "arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.name}:${local.account}:event-bus/default"
  # Lambda's limit is 6 x the function timeout for an SQS event source's visibility timeout.
  function_timeout_seconds = 30

  # Exactly the variables the guard reads: the rows of the settings table
  # (crates/core/src/config/settings.rs) the guard function reads; `cargo test -p sesload-core
  # --test settings` checks the names and that each comes from the variable of the same setting.
  environment = {
    CONTROL_TABLE            = var.control_table_name
    METRICS_NAMESPACE        = var.metrics_namespace
    GUARDRAIL_BOUNCE_RATE    = tostring(var.guardrail_bounce_rate)
    GUARDRAIL_COMPLAINT_RATE = tostring(var.guardrail_complaint_rate)
    GUARDRAIL_MIN_SENDS      = tostring(var.guardrail_min_sends)
    GUARDRAIL_WINDOW_MINUTES = tostring(var.guardrail_window_minutes)
  }

  # SES's EventBridge events: detail-type per event type, detail = the event record with the
  # message's tags. Only this configuration set's, only messages with a campaign tag.
  event_pattern = {
    source        = ["aws.ses"]
    "detail-type" = ["Email Sent", "Email Bounced", "Email Complaint Received"]
    detail = {
      mail = {
        tags = {
          "ses:configuration-set" = [var.configuration_set_name]
          campaign                = [{ exists = true }]
        }
      }
    }
  }
}

# --- SES -> EventBridge -> SQS ----------------------------------------------------------------

resource "aws_sesv2_configuration_set_event_destination" "eventbridge" {
  configuration_set_name = var.configuration_set_name
  event_destination_name = "${var.name_prefix}-guardrail"

  event_destination {
    enabled              = true
    matching_event_types = ["SEND", "BOUNCE", "COMPLAINT"]

    # SES publishes to the default bus only.
    event_bridge_destination {
      event_bus_arn = local.default_bus_arn
    }
  }
}

resource "aws_cloudwatch_event_rule" "ses_events" {
  name           = "${var.name_prefix}-guardrail-ses-events"
  description    = "SES Send, Bounce and Complaint events of configuration set ${var.configuration_set_name} with a campaign tag, for the campaign guardrails."
  event_bus_name = "default"
  event_pattern  = jsonencode(local.event_pattern)
  tags           = var.tags
}

resource "aws_sqs_queue" "events_dlq" {
  name                      = "${var.name_prefix}-guard-events-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue" "events" {
  name                       = "${var.name_prefix}-guard-events"
  visibility_timeout_seconds = 6 * local.function_timeout_seconds + var.event_batching_window_seconds
  # Older events than the longest window (a day) count for nothing.
  message_retention_seconds = 172800
  sqs_managed_sse_enabled   = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.events_dlq.arn
    maxReceiveCount     = 5
  })
  tags = var.tags
}

resource "aws_sqs_queue_policy" "events" {
  queue_url = aws_sqs_queue.events.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EventBridgeRuleSends"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.events.arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.ses_events.arn } }
    }]
  })
}

resource "aws_cloudwatch_event_target" "events_queue" {
  rule           = aws_cloudwatch_event_rule.ses_events.name
  event_bus_name = "default"
  target_id      = "guard-events-queue"
  arn            = aws_sqs_queue.events.arn

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 185
  }
}

# Events the guard could not count (or kept failing to write) leave the guardrails blind to them.
resource "aws_cloudwatch_metric_alarm" "events_dlq_not_empty" {
  alarm_name          = "${var.name_prefix}-guard-events-dlq"
  alarm_description   = "SES events reached the guard's DLQ: the guardrails did not count them. Read the guard's log (it names what is wrong with each), fix the cause, then move them back with an SQS message move task (docs/operations.md)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.events_dlq.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

# --- the guard Lambda (modules/lambda_function) ----------------------------------------------

module "lambda" {
  source = "../lambda_function"

  function_name         = local.function_name
  description           = "sesload guard: SES events of tagged campaigns -> per-minute counts -> bounce and complaint guardrails (auto-pause)."
  package_path          = var.package_path
  memory_size           = var.function_memory_mb
  timeout               = local.function_timeout_seconds
  environment           = local.environment
  log_retention_in_days = var.log_retention_days
  policy_name           = "guard"
  policy_statements = [
    {
      Sid      = "ConsumeGuardEvents"
      Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
      Resource = [aws_sqs_queue.events.arn]
    },
    {
      # Only the guardrail buckets and the campaign states of the control table, never the
      # fleet's send schedule or the cancelled-record markers.
      Sid      = "CountAndPauseCampaigns"
      Action   = ["dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:BatchGetItem"]
      Resource = [var.control_table_arn]
      Condition = {
        "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = ["guard#*", "campaign#*"] }
      }
    },
  ]

  sqs_event_source = {
    queue_arn                          = aws_sqs_queue.events.arn
    batch_size                         = var.event_batch_size
    maximum_batching_window_in_seconds = var.event_batching_window_seconds
    maximum_concurrency                = 2
  }

  tags = var.tags
}

# The resources this module declared itself before modules/lambda_function: same objects, new
# addresses (no replacement).
moved {
  from = aws_cloudwatch_log_group.guard
  to   = module.lambda.aws_cloudwatch_log_group.this
}

moved {
  from = aws_iam_role.guard
  to   = module.lambda.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.guard
  to   = module.lambda.aws_iam_role_policy.this
}

moved {
  from = aws_lambda_function.guard
  to   = module.lambda.aws_lambda_function.this
}

moved {
  from = aws_lambda_event_source_mapping.guard
  to   = module.lambda.aws_lambda_event_source_mapping.sqs[0]
}
