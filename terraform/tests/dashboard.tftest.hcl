# Unit tests of modules/dashboard (plan mode, mocked provider, offline).

mock_provider "aws" {
  override_during = plan

  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
}

variables {
  name_prefix   = "t"
  function_name = "t-poller"
  queue_name    = "t-queue"
  dlq_name      = "t-dlq"
}

run "widgets_and_alarms" {
  command = plan

  module {
    source = "./modules/dashboard"
  }

  assert {
    condition     = aws_cloudwatch_dashboard.this.dashboard_name == "t-monitoring"
    error_message = "the dashboard's default name derives from name_prefix (the seed's SES-queue-monitoring would collide with the sample)"
  }
  assert {
    condition = [for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w.properties.title] == [
      "Email sending (per minute)", "SQS messages in the queue", "SES call and batch duration (ms)",
      "Poller concurrency and errors", "DLQ depth", "Age of oldest message (s)",
    ]
    error_message = "the seed's four widgets plus DLQ depth and oldest message age"
  }
  assert {
    condition = alltrue([for m in [
      "emails_received", "emails_sent", "emails_throttled", "emails_retried", "emails_dead_lettered",
      "duplicates_skipped", "ambiguous_retries", "ses_send_ms", "batch_duration_ms",
      "customer_cache_hits", "customer_cache_misses",
    ] : strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "\"${m}\"")])
    error_message = "every poller EMF metric appears on the dashboard"
  }
  assert {
    condition     = alltrue([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w.properties.region == "eu-west-1"])
    error_message = "widgets use the deployment region"
  }
  assert {
    condition = (
      jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets[4].properties.metrics[0][1] == "ApproximateNumberOfMessagesVisible" &&
      jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets[4].properties.metrics[0][3] == "t-dlq" &&
      jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets[5].properties.metrics[0][1] == "ApproximateAgeOfOldestMessage"
    )
    error_message = "DLQ depth and oldest message age widgets read the right queues"
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.dlq_not_empty.dimensions["QueueName"] == "t-dlq" &&
      aws_cloudwatch_metric_alarm.dlq_not_empty.metric_name == "ApproximateNumberOfMessagesVisible" &&
      aws_cloudwatch_metric_alarm.dlq_not_empty.threshold == 0 &&
      aws_cloudwatch_metric_alarm.dlq_not_empty.comparison_operator == "GreaterThanThreshold"
    )
    error_message = "DLQ alarm: any visible message"
  }
  assert {
    condition     = one([for q in aws_cloudwatch_metric_alarm.throttle_ratio.metric_query : q.expression if q.return_data == true]) == "IF(received > 0, 100 * throttled / received, 0)"
    error_message = "throttle alarm is the metric-math ratio emails_throttled / emails_received"
  }
  assert {
    condition = toset([for q in aws_cloudwatch_metric_alarm.throttle_ratio.metric_query : "${q.id}=${q.metric[0].namespace}/${q.metric[0].metric_name}/${q.metric[0].dimensions["FunctionName"]}" if length(q.metric) > 0]) == toset([
      "received=sesload/emails_received/t-poller", "throttled=sesload/emails_throttled/t-poller",
    ])
    error_message = "the ratio reads the poller's EMF metrics by FunctionName"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.oldest_message_age.dimensions["QueueName"] == "t-queue" && aws_cloudwatch_metric_alarm.oldest_message_age.threshold == 900
    error_message = "backlog alarm on the source queue's oldest message"
  }
}

run "validations_reject_bad_values" {
  command = plan

  module {
    source = "./modules/dashboard"
  }

  variables {
    name_prefix                       = ""
    dashboard_name                    = "has space"
    metrics_namespace                 = ""
    function_name                     = ""
    queue_name                        = ""
    dlq_name                          = ""
    dlq_alarm_threshold               = -1
    throttle_ratio_alarm_percent      = 0
    throttle_alarm_evaluation_minutes = 0
    oldest_message_age_alarm_seconds  = 10
    alarm_actions                     = ["not-an-arn"]
  }

  expect_failures = [
    var.name_prefix,
    var.dashboard_name,
    var.metrics_namespace,
    var.function_name,
    var.queue_name,
    var.dlq_name,
    var.dlq_alarm_threshold,
    var.throttle_ratio_alarm_percent,
    var.throttle_alarm_evaluation_minutes,
    var.oldest_message_age_alarm_seconds,
    var.alarm_actions,
  ]
}
