# CloudWatch dashboard (the seed's four widgets + DLQ depth, oldest message age, parking and
# failures, poller duration against its timeout) and alarms.

data "aws_region" "current" {}

locals {
  region = data.aws_region.current.name
  ns     = var.metrics_namespace
  fn     = ["FunctionName", var.function_name]

  timeout_ms = var.function_timeout_seconds * 1000
  # A timed-out invocation reports a Duration of the whole timeout; the poller itself stops
  # starting sends a few seconds before its deadline, so 95 % is only reached by a timeout.
  timeout_alarm_ms = floor(local.timeout_ms * 0.95)

  # The poller's EMF metric names (shared with the local dashboard and Prometheus).
  poller_metric_names = [
    "emails_received", "emails_sent", "emails_throttled", "emails_retried", "emails_dead_lettered",
    "duplicates_skipped", "ambiguous_retries", "ses_send_ms", "batch_duration_ms",
    "customer_cache_hits", "customer_cache_misses",
    "emails_parked", "emails_cancelled", "deadline_returns", "access_denied", "quota_fetch_failures",
  ]

  # Every widget is a per-minute time series of this region; each one below names what differs.
  widget_defaults = { region = local.region, view = "timeSeries", period = 60 }

  widget_specs = [
    {
      type = "metric", x = 0, y = 0, width = 12, height = 7
      properties = {
        title = "Email sending (per minute)"
        stat  = "Sum"
        metrics = [
          ["AWS/SQS", "NumberOfMessagesSent", "QueueName", var.queue_name, { label = "written to SQS" }],
          [local.ns, "emails_received", local.fn[0], local.fn[1], { label = "received by poller" }],
          [".", "emails_sent", ".", ".", { label = "sent (SES accepted)" }],
          [".", "emails_throttled", ".", ".", { label = "throttled" }],
          [".", "emails_retried", ".", ".", { label = "retried" }],
          [".", "emails_dead_lettered", ".", ".", { label = "dead-lettered" }],
          [".", "duplicates_skipped", ".", ".", { label = "duplicates skipped" }],
          [".", "ambiguous_retries", ".", ".", { label = "ambiguous retries" }],
          ["AWS/SES", "Delivery", { label = "SES deliveries (account)" }],
          [".", "Bounce", { label = "SES bounces (account)" }],
        ]
      }
    },
    {
      type = "metric", x = 12, y = 0, width = 12, height = 7
      properties = {
        title = "SQS messages in the queue"
        stat  = "Maximum"
        metrics = [
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.queue_name, { label = "visible" }],
          [".", "ApproximateNumberOfMessagesNotVisible", ".", ".", { label = "in flight" }],
          [".", "ApproximateNumberOfMessagesDelayed", ".", ".", { label = "delayed" }],
        ]
      }
    },
    {
      type = "metric", x = 0, y = 7, width = 12, height = 7
      properties = {
        title = "SES call and batch duration (ms)"
        stat  = "Average"
        metrics = [
          [local.ns, "ses_send_ms", local.fn[0], local.fn[1], { label = "SendEmail avg" }],
          ["...", { stat = "p99", label = "SendEmail p99" }],
          [".", "batch_duration_ms", ".", ".", { label = "batch avg" }],
          ["AWS/Lambda", "Duration", "FunctionName", var.function_name, { label = "Lambda duration avg" }],
        ]
      }
    },
    {
      type = "metric", x = 12, y = 7, width = 12, height = 7
      properties = {
        title = "Poller concurrency and errors"
        metrics = [
          ["AWS/Lambda", "ConcurrentExecutions", "FunctionName", var.function_name, { stat = "Maximum", label = "concurrent executions" }],
          [".", "Invocations", ".", ".", { stat = "Sum", label = "invocations" }],
          [".", "Errors", ".", ".", { stat = "Sum", label = "errors" }],
          [".", "Throttles", ".", ".", { stat = "Sum", label = "throttles" }],
          [local.ns, "customer_cache_hits", local.fn[0], local.fn[1], { stat = "Sum", label = "customer cache hits" }],
          [".", "customer_cache_misses", ".", ".", { stat = "Sum", label = "customer cache misses" }],
        ]
      }
    },
    {
      type = "metric", x = 0, y = 14, width = 12, height = 6
      properties = {
        title = "DLQ depth"
        stat  = "Maximum"
        metrics = [
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.dlq_name, { label = "messages in the DLQ" }],
        ]
        annotations = { horizontal = [{ label = "alarm", value = var.dlq_alarm_threshold }] }
      }
    },
    {
      type = "metric", x = 12, y = 14, width = 12, height = 6
      properties = {
        title = "Age of oldest message (s)"
        stat  = "Maximum"
        metrics = [
          ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", var.queue_name, { label = "source queue" }],
          ["...", var.dlq_name, { label = "DLQ" }],
        ]
        annotations = { horizontal = [{ label = "alarm", value = var.oldest_message_age_alarm_seconds }] }
      }
    },
    {
      type = "metric", x = 0, y = 20, width = 12, height = 6
      properties = {
        title = "Parking and failures (per minute)"
        stat  = "Sum"
        metrics = [
          [local.ns, "emails_parked", local.fn[0], local.fn[1], { label = "parked (daily quota, paused, campaign paused, deadline, ...)" }],
          [".", "deadline_returns", ".", ".", { label = "invocations returned at the deadline" }],
          [".", "emails_cancelled", ".", ".", { label = "cancelled (campaign cancelled, not sent)" }],
          [".", "access_denied", ".", ".", { label = "access denied (IAM)" }],
          [".", "quota_fetch_failures", ".", ".", { label = "GetAccount failures" }],
        ]
      }
    },
    {
      type = "metric", x = 12, y = 20, width = 12, height = 6
      properties = {
        title = "Poller duration against its timeout (ms)"
        metrics = [
          ["AWS/Lambda", "Duration", "FunctionName", var.function_name, { stat = "Maximum", label = "duration max" }],
          ["...", { stat = "Average", label = "duration avg" }],
        ]
        annotations = { horizontal = [
          { label = "timeout", value = local.timeout_ms },
          { label = "alarm (95 %)", value = local.timeout_alarm_ms },
        ] }
      }
    },
  ]
}

# The campaign guardrails (when deployed): campaigns paused, SES events counted by the guard.
locals {
  guardrail_widget_specs = var.guardrail_enabled ? [
    {
      type = "metric", x = 0, y = 26, width = 24, height = 6
      properties = {
        title = "Campaign guardrails (per minute)"
        stat  = "Sum"
        metrics = [
          [local.ns, "guardrail_pauses", "FunctionName", var.guard_function_name, { label = "campaigns auto-paused" }],
          [".", "guard_events", ".", ".", { label = "SES events counted", yAxis = "right" }],
          [".", "guard_events_invalid", ".", ".", { label = "guard messages not counted", yAxis = "right" }],
        ]
      }
    },
  ] : []
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = coalesce(var.dashboard_name, "${var.name_prefix}-monitoring")
  dashboard_body = jsonencode({ widgets = [
    for w in concat(local.widget_specs, local.guardrail_widget_specs) : merge(w, { properties = merge(local.widget_defaults, w.properties) })
  ] })
}

resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  alarm_name          = "${var.name_prefix}-dlq-not-empty"
  alarm_description   = "Messages reached the DLQ: read their sesload_reason, fix the cause, then redrive (docs/operations.md)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = var.dlq_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = var.dlq_alarm_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "throttle_ratio" {
  alarm_name          = "${var.name_prefix}-throttle-ratio"
  alarm_description   = "More than ${var.throttle_ratio_alarm_percent}% of received emails were throttled by SES: lower target_utilisation or maximum_concurrency, or raise the SES quota (docs/operations.md)."
  evaluation_periods  = var.throttle_alarm_evaluation_minutes
  datapoints_to_alarm = var.throttle_alarm_evaluation_minutes
  threshold           = var.throttle_ratio_alarm_percent
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  metric_query {
    id          = "ratio"
    expression  = "IF(received > 0, 100 * throttled / received, 0)"
    label       = "throttled % of received"
    return_data = true
  }

  metric_query {
    id = "received"
    metric {
      namespace   = local.ns
      metric_name = "emails_received"
      dimensions  = { FunctionName = var.function_name }
      stat        = "Sum"
      period      = 60
    }
  }

  metric_query {
    id = "throttled"
    metric {
      namespace   = local.ns
      metric_name = "emails_throttled"
      dimensions  = { FunctionName = var.function_name }
      stat        = "Sum"
      period      = 60
    }
  }

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "oldest_message_age" {
  alarm_name          = "${var.name_prefix}-oldest-message-age"
  alarm_description   = "The oldest message in the source queue is older than ${var.oldest_message_age_alarm_seconds}s: the poller is not keeping up or is stopped (docs/operations.md)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = var.queue_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  threshold           = var.oldest_message_age_alarm_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

# --- second-wave regimes: one alarm each for the whole fleet (the FunctionName dimension sums every
# instance) ---------------------------------------------------------------------------------------

locals {
  # Poller counters that alarm when they are above 0 in every minute of `minutes` minutes.
  counter_alarms = {
    access_denied = {
      alarm   = "access-denied"
      minutes = 1
      why     = "SES answered AccessDeniedException: IAM does not allow the identity, configuration set or template a request names; those records are dead-lettered with reason access_denied (docs/operations.md)."
    }
    emails_parked = {
      alarm   = "emails-parked"
      minutes = var.parked_alarm_minutes
      why     = "The poller has parked records every minute for ${var.parked_alarm_minutes} minutes: sending is paused (account or configuration set) or the daily quota is used up; nothing is lost, records wait on the source queue (docs/operations.md)."
    }
    quota_fetch_failures = {
      alarm   = "quota-fetch-failures"
      minutes = var.quota_fetch_failure_alarm_minutes
      why     = "SES GetAccount has failed every minute for ${var.quota_fetch_failure_alarm_minutes} minutes: the poller paces from its last answer (or parks with reason quota_unknown) and cannot see a paused account or a used-up daily quota (docs/operations.md)."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "counter" {
  for_each = local.counter_alarms

  alarm_name          = "${var.name_prefix}-${each.value.alarm}"
  alarm_description   = each.value.why
  namespace           = local.ns
  metric_name         = each.key
  dimensions          = { FunctionName = var.function_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = each.value.minutes
  datapoints_to_alarm = each.value.minutes
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

# The function does not emit invocation_timeouts (a killed invocation writes nothing); Lambda's own
# Duration shows it: a timed-out invocation lasts the whole timeout.
resource "aws_cloudwatch_metric_alarm" "poller_timeouts" {
  alarm_name          = "${var.name_prefix}-poller-timeouts"
  alarm_description   = "A poller invocation ran for at least 95 % of its ${var.function_timeout_seconds} s timeout: it was (nearly) killed, its whole batch comes back after the visibility timeout with a higher receive count (docs/operations.md)."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = var.function_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = local.timeout_alarm_ms
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "guardrail_pauses" {
  count = var.guardrail_enabled ? 1 : 0

  alarm_name          = "${var.name_prefix}-guardrail-pauses"
  alarm_description   = "A guardrail paused a campaign (state auto_paused): its bounce or complaint rate crossed the threshold. `sesload campaign --aws status <campaign>` shows the reason; fix the list, then resume (docs/operations.md)."
  namespace           = local.ns
  metric_name         = "guardrail_pauses"
  dimensions          = { FunctionName = var.guard_function_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
