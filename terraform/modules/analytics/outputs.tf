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
  description = "Name of the table of every event (Firehose's conversion schema); the saved queries read it with a dt range."
  value       = aws_glue_catalog_table.ses_events.name
}

output "athena_view_names" {
  description = "Athena views created from sql/views (Glue tables of type VIRTUAL_VIEW)."
  value       = sort([for v in aws_glue_catalog_table.view : v.name])
}

output "athena_workgroup_name" {
  description = "Athena workgroup whose result location and encryption are enforced."
  value       = aws_athena_workgroup.this.name
}

output "athena_results_location" {
  description = "S3 location of the workgroup's query results (s3://<bucket>/athena-results/; expired after athena_results_expiration_days)."
  value       = "s3://${aws_s3_bucket.events.bucket}/${local.results_prefix}"
}

output "region" {
  description = "Region of the workgroup, the catalog and the bucket."
  value       = local.region
}

output "athena_report_policy_json" {
  description = "IAM policy (JSON) for a person or CI role that runs the saved queries (sesload report --athena): run and read queries in this workgroup, read the catalog and the events, write and read the results. The stack attaches it to no one: attach it to your own user or role."
  value = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "RunQueriesInWorkgroup"
        Effect   = "Allow"
        Action   = ["athena:GetWorkGroup", "athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetNamedQuery", "athena:ListNamedQueries"]
        Resource = [aws_athena_workgroup.this.arn]
      },
      {
        Sid    = "ReadCatalog"
        Effect = "Allow"
        Action = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"]
        Resource = [
          "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
          "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${aws_glue_catalog_database.this.name}",
          "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${aws_glue_catalog_database.this.name}/*",
        ]
      },
      {
        Sid      = "ListEventBucket"
        Effect   = "Allow"
        Action   = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"]
        Resource = [aws_s3_bucket.events.arn]
      },
      {
        Sid      = "ReadEvents"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = ["${aws_s3_bucket.events.arn}/${local.events_prefix}*"]
      },
      {
        Sid      = "WriteAndReadResults"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
        Resource = ["${aws_s3_bucket.events.arn}/${local.results_prefix}*"]
      },
    ]
  })
}

output "named_queries" {
  description = "Athena named query ids by name (one per file in sql/queries)."
  value       = { for k, q in aws_athena_named_query.sql : k => q.id }
}
