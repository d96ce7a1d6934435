output "bucket_name" {
  description = "Event bucket (Parquet under ses_events/, Athena results under athena-results/)."
  value       = aws_s3_bucket.events.bucket
}

output "bucket_arn" {
  description = "ARN of the event bucket."
  value       = aws_s3_bucket.events.arn
}

output "firehose_arn" {
  description = "ARN of the Firehose delivery stream SES publishes to."
  value       = aws_kinesis_firehose_delivery_stream.ses_events.arn
}

output "firehose_name" {
  description = "Name of the Firehose delivery stream."
  value       = aws_kinesis_firehose_delivery_stream.ses_events.name
}

output "athena_database_name" {
  description = "Glue/Athena database of the ses_events table."
  value       = aws_glue_catalog_database.this.name
}

output "athena_table_name" {
  description = "Name of the table of every event (Firehose's conversion schema; ad-hoc queries)."
  value       = aws_glue_catalog_table.events["ses_events"].name
}

output "athena_query_table_name" {
  description = "Name of the table the saved queries and views read: the events of the last query_window_days."
  value       = aws_glue_catalog_table.events["ses_events_recent"].name
}

output "athena_view_names" {
  description = "Athena views created from sql/views (Glue tables of type VIRTUAL_VIEW)."
  value       = sort([for v in aws_glue_catalog_table.view : v.name])
}

output "athena_workgroup_name" {
  description = "Athena workgroup whose result location and encryption are enforced."
  value       = aws_athena_workgroup.this.name
}

output "named_queries" {
  description = "Athena named query ids by name (one per file in sql/queries)."
  value       = { for k, q in aws_athena_named_query.sql : k => q.id }
}
