# Unit tests of modules/dashboard (plan mode, mocked provider, offline).

mock_provider "aws" {
  source          = "./tests/mocks/aws"
  override_during = plan
}

variables {
  name_prefix   = "t"
  function_name = "t-poller"
  queue_name    = "t-queue"
  dlq_name      = "t-dlq"

  guard_function_name = "t-guard"
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
      "Parking and failures (per minute)", "Poller duration against its timeout (ms)",
      "Campaign guardrails (per minute)",
    ]
    error_message = "the seed's four widgets plus DLQ depth, oldest message age, parking and failures, duration against the timeout"
  }
  assert {
    condition = alltrue([for m in [
      "emails_received", "emails_sent", "emails_throttled", "emails_retried", "emails_dead_lettered",
      "duplicates_skipped", "ambiguous_retries", "ses_send_ms", "batch_duration_ms",
      "customer_cache_hits", "customer_cache_misses",
      "emails_parked", "emails_cancelled", "deadline_returns", "access_denied", "quota_fetch_failures",
    ] : strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "\"${m}\"")])
    error_message = "every poller EMF metric appears on the dashboard"
  }
  assert {
    condition = [for m in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets[6].properties.metrics : m[1]] == [
      "emails_parked", "deadline_returns", "emails_cancelled", "access_denied", "quota_fetch_failures",
    ] && jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets[6].properties.metrics[0][0] == "sesload"
    error_message = "the parking widget reads the poller's EMF counters"
  }
  assert {
    condition = (
      jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets[7].properties.metrics[0][0] == "AWS/Lambda" &&
      jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets[7].properties.metrics[0][1] == "Duration" &&
      [for a in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets[7].properties.annotations.horizontal : a.value] == [30000, 28500]
    )
    error_message = "the duration widget draws the 30 s timeout and the 95 % alarm line"
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.metric["access_denied"].alarm_name == "t-access-denied" &&
      aws_cloudwatch_metric_alarm.metric["access_denied"].namespace == "sesload" &&
      aws_cloudwatch_metric_alarm.metric["access_denied"].metric_name == "access_denied" &&
      aws_cloudwatch_metric_alarm.metric["access_denied"].dimensions == tomap({ FunctionName = "t-poller" }) &&
      aws_cloudwatch_metric_alarm.metric["access_denied"].statistic == "Sum" &&
      aws_cloudwatch_metric_alarm.metric["access_denied"].threshold == 0 &&
      aws_cloudwatch_metric_alarm.metric["access_denied"].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.metric["access_denied"].evaluation_periods == 1
    )
    error_message = "access denied alarm: any access_denied of the fleet in one minute"
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.metric["emails_parked"].alarm_name == "t-emails-parked" &&
      aws_cloudwatch_metric_alarm.metric["emails_parked"].metric_name == "emails_parked" &&
      aws_cloudwatch_metric_alarm.metric["emails_parked"].period == 60 &&
      aws_cloudwatch_metric_alarm.metric["emails_parked"].evaluation_periods == 15 &&
      aws_cloudwatch_metric_alarm.metric["emails_parked"].datapoints_to_alarm == 15 &&
      aws_cloudwatch_metric_alarm.metric["emails_parked"].threshold == 0 &&
      aws_cloudwatch_metric_alarm.metric["emails_parked"].treat_missing_data == "notBreaching"
    )
    error_message = "parked alarm: records parked in every minute of 15 (sustained, not one park)"
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.metric["quota_fetch_failures"].alarm_name == "t-quota-fetch-failures" &&
      aws_cloudwatch_metric_alarm.metric["quota_fetch_failures"].metric_name == "quota_fetch_failures" &&
      aws_cloudwatch_metric_alarm.metric["quota_fetch_failures"].evaluation_periods == 5 &&
      aws_cloudwatch_metric_alarm.metric["quota_fetch_failures"].datapoints_to_alarm == 5
    )
    error_message = "GetAccount alarm: failures in every minute of 5"
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.metric["poller_timeouts"].alarm_name == "t-poller-timeouts" &&
      aws_cloudwatch_metric_alarm.metric["poller_timeouts"].namespace == "AWS/Lambda" &&
      aws_cloudwatch_metric_alarm.metric["poller_timeouts"].metric_name == "Duration" &&
      aws_cloudwatch_metric_alarm.metric["poller_timeouts"].dimensions == tomap({ FunctionName = "t-poller" }) &&
      aws_cloudwatch_metric_alarm.metric["poller_timeouts"].statistic == "Maximum" &&
      aws_cloudwatch_metric_alarm.metric["poller_timeouts"].threshold == 28500 &&
      aws_cloudwatch_metric_alarm.metric["poller_timeouts"].comparison_operator == "GreaterThanOrEqualToThreshold"
    )
    error_message = "timeout alarm: Lambda's Duration maximum at 95 % of the 30 s timeout (the function cannot report its own timeout)"
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
      aws_cloudwatch_metric_alarm.metric["dlq_not_empty"].dimensions["QueueName"] == "t-dlq" &&
      aws_cloudwatch_metric_alarm.metric["dlq_not_empty"].metric_name == "ApproximateNumberOfMessagesVisible" &&
      aws_cloudwatch_metric_alarm.metric["dlq_not_empty"].threshold == 0 &&
      aws_cloudwatch_metric_alarm.metric["dlq_not_empty"].comparison_operator == "GreaterThanThreshold"
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
    condition     = aws_cloudwatch_metric_alarm.metric["oldest_message_age"].dimensions["QueueName"] == "t-queue" && aws_cloudwatch_metric_alarm.metric["oldest_message_age"].threshold == 900
    error_message = "backlog alarm on the source queue's oldest message"
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.metric["oldest_message_age"].evaluation_periods == 5 && aws_cloudwatch_metric_alarm.metric["oldest_message_age"].datapoints_to_alarm == 5 &&
      alltrue([for k in ["dlq_not_empty", "poller_timeouts", "guardrail_pauses"] : aws_cloudwatch_metric_alarm.metric[k].evaluation_periods == 1 && aws_cloudwatch_metric_alarm.metric[k].datapoints_to_alarm == null])
    )
    error_message = "the backlog alarm needs 5 minutes out of 5; the DLQ, timeout and guardrail alarms one minute (datapoints_to_alarm unset, as they always were)"
  }
  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.metric : a.period == 60 && a.treat_missing_data == "notBreaching"])
    error_message = "every single-metric alarm reads per-minute data, missing data not breaching"
  }
  assert {
    condition = output.alarm_names == [
      "t-dlq-not-empty", "t-throttle-ratio", "t-oldest-message-age", "t-access-denied", "t-emails-parked",
      "t-quota-fetch-failures", "t-poller-timeouts", "t-guardrail-pauses",
    ]
    error_message = "alarm_names lists every alarm, in the documented order"
  }
}

run "guardrail_widget_and_alarm" {
  command = plan

  module {
    source = "./modules/dashboard"
  }

  assert {
    condition = [for m in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets[8].properties.metrics : m[1]] == [
      "guardrail_pauses", "guard_events", "guard_events_invalid",
    ] && jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets[8].properties.metrics[0][3] == "t-guard"
    error_message = "the guardrail widget shows the guard's pauses and events"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.metric["guardrail_pauses"].metric_name == "guardrail_pauses" && aws_cloudwatch_metric_alarm.metric["guardrail_pauses"].dimensions == tomap({ FunctionName = "t-guard" })
    error_message = "the alarm reads the guard's guardrail_pauses"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.metric["guardrail_pauses"].threshold == 0 && aws_cloudwatch_metric_alarm.metric["guardrail_pauses"].comparison_operator == "GreaterThanThreshold" && aws_cloudwatch_metric_alarm.metric["guardrail_pauses"].evaluation_periods == 1
    error_message = "one automatic pause in a minute fires the alarm"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.metric["guardrail_pauses"].alarm_name == "t-guardrail-pauses" && contains(output.alarm_names, "t-guardrail-pauses")
    error_message = "the guardrail alarm is named from name_prefix and listed"
  }
}

run "guardrails_off_no_widget_no_alarm" {
  command = plan

  module {
    source = "./modules/dashboard"
  }

  variables {
    guardrail_enabled   = false
    guard_function_name = null
  }

  assert {
    condition     = !contains(keys(aws_cloudwatch_metric_alarm.metric), "guardrail_pauses") && length(jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets) == 8
    error_message = "without guardrails there is no guardrail widget or alarm"
  }
  assert {
    condition     = length(output.alarm_names) == 7 && !contains(output.alarm_names, "t-guardrail-pauses")
    error_message = "without guardrails alarm_names lists the seven other alarms"
  }
}

run "guardrails_need_the_guard_name" {
  command = plan

  module {
    source = "./modules/dashboard"
  }

  variables {
    guard_function_name = null
  }

  expect_failures = [var.guard_function_name]
}

run "alarm_windows_and_timeout_follow_the_variables" {
  command = plan

  module {
    source = "./modules/dashboard"
  }

  variables {
    function_timeout_seconds          = 120
    parked_alarm_minutes              = 30
    quota_fetch_failure_alarm_minutes = 2
    metrics_namespace                 = "loadtest"
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.metric["poller_timeouts"].threshold == 114000
    error_message = "95 % of a 120 s timeout is 114,000 ms"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.metric["emails_parked"].evaluation_periods == 30 && aws_cloudwatch_metric_alarm.metric["quota_fetch_failures"].evaluation_periods == 2
    error_message = "the sustained windows follow their variables"
  }
  assert {
    condition     = alltrue([for a in [aws_cloudwatch_metric_alarm.metric["access_denied"], aws_cloudwatch_metric_alarm.metric["emails_parked"], aws_cloudwatch_metric_alarm.metric["quota_fetch_failures"]] : a.namespace == "loadtest"])
    error_message = "the EMF alarms read metrics_namespace"
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
    function_timeout_seconds          = 0
    parked_alarm_minutes              = 0
    quota_fetch_failure_alarm_minutes = 1441
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
    var.function_timeout_seconds,
    var.parked_alarm_minutes,
    var.quota_fetch_failure_alarm_minutes,
  ]
}
