output "configuration_set_name" {
  description = "Name of the configuration set that publishes the events."
  value       = local.configuration_set_name
}

output "template_name" {
  description = "Name of the SES template."
  value       = aws_ses_template.this.name
}

output "event_destination_name" {
  description = "Name of the Firehose event destination on the configuration set."
  value       = aws_sesv2_configuration_set_event_destination.firehose.event_destination_name
}
