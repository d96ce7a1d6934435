output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "dashboard_url" {
  description = "Console URL of the dashboard."
  value       = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards:name=${aws_cloudwatch_dashboard.this.dashboard_name}"
}

output "alarm_names" {
  description = "Names of the alarms (DLQ not empty, throttle ratio, oldest message age, access denied, emails parked, GetAccount failures, poller timeouts; guardrail pauses when the guardrails are deployed)."
  value = concat(
    [aws_cloudwatch_metric_alarm.metric["dlq_not_empty"].alarm_name, aws_cloudwatch_metric_alarm.throttle_ratio.alarm_name],
    [for k in ["oldest_message_age", "access_denied", "emails_parked", "quota_fetch_failures", "poller_timeouts", "guardrail_pauses"] : aws_cloudwatch_metric_alarm.metric[k].alarm_name if contains(keys(local.metric_alarms), k)],
  )
}

output "metric_names" {
  description = "The poller EMF metric names the dashboard and alarms read."
  value       = local.poller_metric_names
}
