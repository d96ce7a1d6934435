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

# --- the single-metric alarms --------------------------------------------------------------------
#
# Every alarm but the throttle ratio (metric math, above) watches one metric per minute against a
# threshold, missing data not breaching. One entry each: the alarm name after the prefix, why it
# fires (the description), the metric, its statistic, the minutes it is evaluated over and how many
# of them must breach (null where the alarm never set datapoints_to_alarm: CloudWatch then uses
# every evaluated minute). The poller's alarms read the whole fleet: the FunctionName dimension
# sums every instance.
locals {
  # What every counter alarm shares: the function's own metric, summed per minute, above 0.
  counter_alarm = {
    namespace  = local.ns
    statistic  = "Sum"
    threshold  = 0
    comparison = "GreaterThanThreshold"
  }
  metric_alarms = merge(
    {
      dlq_not_empty = {
        alarm      = "dlq-not-empty"
        why        = "Messages reached the DLQ: read their sesload_reason, fix the cause, then redrive (docs/operations.md)."
        namespace  = "AWS/SQS"
        metric     = "ApproximateNumberOfMessagesVisible"
        dimensions = { QueueName = var.dlq_name }
        statistic  = "Maximum"
        minutes    = 1
        datapoints = null
        threshold  = var.dlq_alarm_threshold
        comparison = "GreaterThanThreshold"
      }
      oldest_message_age = {
        alarm      = "oldest-message-age"
        why        = "The oldest message in the source queue is older than ${var.oldest_message_age_alarm_seconds}s: the poller is not keeping up or is stopped (docs/operations.md)."
        namespace  = "AWS/SQS"
        metric     = "ApproximateAgeOfOldestMessage"
        dimensions = { QueueName = var.queue_name }
        statistic  = "Maximum"
        minutes    = 5
        datapoints = 5
        threshold  = var.oldest_message_age_alarm_seconds
        comparison = "GreaterThanThreshold"
      }
      # Poller counters (local.counter_alarm) that alarm when above 0 in every one of `minutes` minutes.
      access_denied = merge(local.counter_alarm, {
        alarm      = "access-denied"
        why        = "SES answered AccessDeniedException: IAM does not allow the identity, configuration set or template a request names; those records are dead-lettered with reason access_denied (docs/operations.md)."
        metric     = "access_denied"
        dimensions = { FunctionName = var.function_name }
        minutes    = 1
        datapoints = 1
      })
      emails_parked = merge(local.counter_alarm, {
        alarm      = "emails-parked"
        why        = "The poller has parked records every minute for ${var.parked_alarm_minutes} minutes: sending is paused (account or configuration set) or the daily quota is used up; nothing is lost, records wait on the source queue (docs/operations.md)."
        metric     = "emails_parked"
        dimensions = { FunctionName = var.function_name }
        minutes    = var.parked_alarm_minutes
        datapoints = var.parked_alarm_minutes
      })
      quota_fetch_failures = merge(local.counter_alarm, {
        alarm      = "quota-fetch-failures"
        why        = "SES GetAccount has failed every minute for ${var.quota_fetch_failure_alarm_minutes} minutes: the poller paces from its last answer (or parks with reason quota_unknown) and cannot see a paused account or a used-up daily quota (docs/operations.md)."
        metric     = "quota_fetch_failures"
        dimensions = { FunctionName = var.function_name }
        minutes    = var.quota_fetch_failure_alarm_minutes
        datapoints = var.quota_fetch_failure_alarm_minutes
      })
      # The function does not emit invocation_timeouts (a killed invocation writes nothing);
      # Lambda's own Duration shows it: a timed-out invocation lasts the whole timeout.
      poller_timeouts = {
        alarm      = "poller-timeouts"
        why        = "A poller invocation ran for at least 95 % of its ${var.function_timeout_seconds} s timeout: it was (nearly) killed, its whole batch comes back after the visibility timeout with a higher receive count (docs/operations.md)."
        namespace  = "AWS/Lambda"
        metric     = "Duration"
        dimensions = { FunctionName = var.function_name }
        statistic  = "Maximum"
        minutes    = 1
        datapoints = null
        threshold  = local.timeout_alarm_ms
        comparison = "GreaterThanOrEqualToThreshold"
      }
    },
    var.guardrail_enabled ? {
      guardrail_pauses = merge(local.counter_alarm, {
        alarm      = "guardrail-pauses"
        why        = "A guardrail paused a campaign (state auto_paused): its bounce or complaint rate crossed the threshold. `sesload campaign --aws status <campaign>` shows the reason; fix the list, then resume (docs/operations.md)."
        metric     = "guardrail_pauses"
        dimensions = { FunctionName = var.guard_function_name }
        minutes    = 1
        datapoints = null
      })
    } : {},
  )
}

resource "aws_cloudwatch_metric_alarm" "metric" {
  for_each = local.metric_alarms

  alarm_name          = "${var.name_prefix}-${each.value.alarm}"
  alarm_description   = each.value.why
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 60
  evaluation_periods  = each.value.minutes
  datapoints_to_alarm = each.value.datapoints
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

# The alarms had one resource each (the poller counters one for_each resource): same alarms, new
# addresses (no replacement).
moved {
  from = aws_cloudwatch_metric_alarm.dlq_not_empty
  to   = aws_cloudwatch_metric_alarm.metric["dlq_not_empty"]
}

moved {
  from = aws_cloudwatch_metric_alarm.oldest_message_age
  to   = aws_cloudwatch_metric_alarm.metric["oldest_message_age"]
}

moved {
  from = aws_cloudwatch_metric_alarm.counter["access_denied"]
  to   = aws_cloudwatch_metric_alarm.metric["access_denied"]
}

moved {
  from = aws_cloudwatch_metric_alarm.counter["emails_parked"]
  to   = aws_cloudwatch_metric_alarm.metric["emails_parked"]
}

moved {
  from = aws_cloudwatch_metric_alarm.counter["quota_fetch_failures"]
  to   = aws_cloudwatch_metric_alarm.metric["quota_fetch_failures"]
}

moved {
  from = aws_cloudwatch_metric_alarm.poller_timeouts
  to   = aws_cloudwatch_metric_alarm.metric["poller_timeouts"]
}

moved {
  from = aws_cloudwatch_metric_alarm.guardrail_pauses[0]
  to   = aws_cloudwatch_metric_alarm.metric["guardrail_pauses"]
}
