# Unit tests of modules/analytics (plan mode, mocked provider, offline).

mock_provider "aws" {
  source          = "./tests/mocks/aws"
  override_during = plan

  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::t-events-123456789012-eu-west-1", bucket = "t-events-123456789012-eu-west-1" }
  }
  mock_resource "aws_athena_workgroup" {
    defaults = { arn = "arn:aws:athena:eu-west-1:123456789012:workgroup/t" }
  }
}

variables {
  name_prefix = "t"
  # The repository's real sql/ directory: one named query per file there.
  sql_dir = "../sql"
}

run "lake_table_stream_and_queries" {
  command = plan

  module {
    source = "./modules/analytics"
  }

  # --- bucket ---
  assert {
    condition     = aws_s3_bucket.events.bucket == "t-events-123456789012-eu-west-1"
    error_message = "default bucket name is <prefix>-events-<account>-<region>"
  }
  assert {
    condition = (
      aws_s3_bucket_public_access_block.events.block_public_acls && aws_s3_bucket_public_access_block.events.block_public_policy &&
      aws_s3_bucket_public_access_block.events.ignore_public_acls && aws_s3_bucket_public_access_block.events.restrict_public_buckets
    )
    error_message = "all public access must be blocked"
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.events.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "the bucket must be encrypted by default"
  }
  assert {
    condition = (
      jsondecode(aws_s3_bucket_policy.events.policy).Statement[0].Effect == "Deny" &&
      jsondecode(aws_s3_bucket_policy.events.policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false"
    )
    error_message = "the bucket must deny requests without TLS"
  }
  assert {
    condition     = one([for r in aws_s3_bucket_lifecycle_configuration.events.rule : r.expiration[0].days if r.id == "expire-athena-results"]) == 7
    error_message = "temporary Athena results must expire"
  }
  assert {
    condition     = one([for r in aws_s3_bucket_lifecycle_configuration.events.rule : r.filter[0].prefix if r.id == "expire-athena-results"]) == "athena-results/"
    error_message = "only the results prefix expires by default"
  }
  assert {
    condition     = length([for r in aws_s3_bucket_lifecycle_configuration.events.rule : r if r.id == "expire-events"]) == 0
    error_message = "events are kept unless events_expiration_days is set"
  }

  # --- Glue table, projection ---
  assert {
    condition     = aws_glue_catalog_table.ses_events.name == "ses_events" && aws_glue_catalog_table.ses_events.database_name == "sesload"
    error_message = "table sesload.ses_events"
  }
  assert {
    condition     = [for k in aws_glue_catalog_table.ses_events.partition_keys : "${k.name}:${k.type}"] == ["dt:string", "hour:string"]
    error_message = "partition keys dt and hour, both strings"
  }
  assert {
    condition = (
      aws_glue_catalog_table.ses_events.parameters["projection.enabled"] == "true" &&
      aws_glue_catalog_table.ses_events.parameters["projection.dt.type"] == "date" &&
      aws_glue_catalog_table.ses_events.parameters["projection.dt.format"] == "yyyy-MM-dd" &&
      aws_glue_catalog_table.ses_events.parameters["projection.dt.range"] == "2025-01-01,NOW" &&
      aws_glue_catalog_table.ses_events.parameters["projection.hour.type"] == "integer" &&
      aws_glue_catalog_table.ses_events.parameters["projection.hour.range"] == "0,23" &&
      aws_glue_catalog_table.ses_events.parameters["projection.hour.digits"] == "2"
    )
    error_message = "partition projection: dt date yyyy-MM-dd, hour integer 0-23 with 2 digits"
  }
  assert {
    condition     = aws_glue_catalog_table.ses_events.parameters["storage.location.template"] == "s3://t-events-123456789012-eu-west-1/ses_events/dt=$${dt}/hour=$${hour}/"
    error_message = "the projection template must match the Firehose prefix"
  }
  assert {
    condition     = [for c in aws_glue_catalog_table.ses_events.storage_descriptor[0].columns : c.name] == ["eventtype", "mail", "send", "delivery", "bounce", "complaint", "reject", "failure", "deliverydelay", "open", "click"]
    error_message = "columns follow the SES event record, Open and Click included"
  }
  assert {
    condition = (
      one([for c in aws_glue_catalog_table.ses_events.storage_descriptor[0].columns : c.type if c.name == "open"]) == "struct<timestamp:string,useragent:string,ipaddress:string>" &&
      one([for c in aws_glue_catalog_table.ses_events.storage_descriptor[0].columns : c.type if c.name == "click"]) == "struct<timestamp:string,useragent:string,ipaddress:string,link:string,linktags:map<string,array<string>>>"
    )
    error_message = "open{timestamp,userAgent,ipAddress} and click{timestamp,userAgent,ipAddress,link,linkTags} as SES publishes them"
  }
  assert {
    condition     = strcontains(one([for c in aws_glue_catalog_table.ses_events.storage_descriptor[0].columns : c.type if c.name == "mail"]), "tags:map<string,array<string>>")
    error_message = "mail.tags is a map of tag name to values"
  }
  assert {
    condition     = aws_glue_catalog_table.ses_events.storage_descriptor[0].ser_de_info[0].serialization_library == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    error_message = "the table reads Parquet"
  }

  # --- Firehose ---
  assert {
    condition     = aws_kinesis_firehose_delivery_stream.ses_events.destination == "extended_s3" && aws_kinesis_firehose_delivery_stream.ses_events.server_side_encryption[0].enabled
    error_message = "DirectPut stream to S3 with SSE"
  }
  assert {
    condition     = aws_kinesis_firehose_delivery_stream.ses_events.extended_s3_configuration[0].prefix == "ses_events/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/"
    error_message = "Firehose prefix must be the date/hour layout the table projects"
  }
  assert {
    condition = (
      startswith(aws_kinesis_firehose_delivery_stream.ses_events.extended_s3_configuration[0].error_output_prefix, "ses_events_errors/") &&
      strcontains(aws_kinesis_firehose_delivery_stream.ses_events.extended_s3_configuration[0].error_output_prefix, "!{firehose:error-output-type}")
    )
    error_message = "errors go to their own prefix, outside the table's location"
  }
  assert {
    condition     = aws_kinesis_firehose_delivery_stream.ses_events.extended_s3_configuration[0].buffering_size >= 64
    error_message = "Parquet conversion needs a buffer of at least 64 MB"
  }
  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.ses_events.extended_s3_configuration[0].data_format_conversion_configuration[0].enabled &&
      aws_kinesis_firehose_delivery_stream.ses_events.extended_s3_configuration[0].data_format_conversion_configuration[0].input_format_configuration[0].deserializer[0].open_x_json_ser_de[0].case_insensitive &&
      length(aws_kinesis_firehose_delivery_stream.ses_events.extended_s3_configuration[0].data_format_conversion_configuration[0].output_format_configuration[0].serializer[0].parquet_ser_de) == 1
    )
    error_message = "JSON (OpenX, case-insensitive) -> Parquet conversion"
  }
  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.ses_events.extended_s3_configuration[0].data_format_conversion_configuration[0].schema_configuration[0].table_name == "ses_events" &&
      aws_kinesis_firehose_delivery_stream.ses_events.extended_s3_configuration[0].data_format_conversion_configuration[0].schema_configuration[0].database_name == "sesload"
    )
    error_message = "conversion uses the Glue table's schema"
  }
  assert {
    condition = toset(flatten([for s in jsondecode(aws_iam_role_policy.firehose.policy).Statement : s.Resource if anytrue([for a in s.Action : startswith(a, "glue:")])])) == toset([
      "arn:aws:glue:eu-west-1:123456789012:catalog",
      "arn:aws:glue:eu-west-1:123456789012:database/sesload",
      "arn:aws:glue:eu-west-1:123456789012:table/sesload/ses_events",
    ])
    error_message = "Firehose may read only this table's schema"
  }

  # --- Athena ---
  assert {
    condition = (
      aws_athena_workgroup.this.configuration[0].enforce_workgroup_configuration &&
      aws_athena_workgroup.this.configuration[0].result_configuration[0].output_location == "s3://t-events-123456789012-eu-west-1/athena-results/" &&
      aws_athena_workgroup.this.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option == "SSE_S3"
    )
    error_message = "workgroup enforces an encrypted result location under the expiring prefix"
  }
  assert {
    condition     = toset(keys(aws_athena_named_query.sql)) == toset([for f in fileset("../sql", "queries/*.sql") : trimsuffix(basename(f), ".sql")])
    error_message = "one named query per file in sql/queries (views are created as views, not saved as queries)"
  }
  assert {
    condition     = length(aws_athena_named_query.sql) >= 2
    error_message = "the repository's sql/ must provide saved queries"
  }
  assert {
    condition = alltrue([for f in fileset("../sql", "queries/*.sql") :
    aws_athena_named_query.sql[trimsuffix(basename(f), ".sql")].query == file("../sql/${f}")])
    error_message = "each named query's text must equal its sql/ file (one source)"
  }
  assert {
    condition     = alltrue([for q in aws_athena_named_query.sql : q.database == "sesload" && q.workgroup == var.name_prefix])
    error_message = "named queries run against the events database in the workgroup"
  }

  # --- the dt range: saved queries never enumerate every hour since the projection start ---
  assert {
    condition = alltrue([for q in values(aws_athena_named_query.sql)[*].query :
      can(regex("= \\?\\s+AND dt BETWEEN \\? AND \\?", q))
    ])
    error_message = "every saved query takes the campaign and filters dt BETWEEN ? AND ? (execution parameters, in that order; crates/analytics checks there are exactly these three)"
  }
  assert {
    condition     = alltrue([for q in aws_athena_named_query.sql : strcontains(q.description, "the campaign, then the first and last dt")])
    error_message = "a named query's description says which parameters it takes"
  }
  assert {
    condition = (
      output.athena_results_location == "s3://t-events-123456789012-eu-west-1/athena-results/" &&
      output.region == "eu-west-1" &&
      output.athena_table_name == "ses_events"
    )
    error_message = "the CLI finds the results location and the region in the outputs"
  }
  assert {
    condition = (
      length(setsubtract(["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "glue:GetTable", "s3:GetObject", "s3:PutObject"], flatten([for st in jsondecode(output.athena_report_policy_json).Statement : st.Action]))) == 0 &&
      one([for st in jsondecode(output.athena_report_policy_json).Statement : st.Resource if st.Sid == "RunQueriesInWorkgroup"]) == ["arn:aws:athena:eu-west-1:123456789012:workgroup/t"] &&
      one([for st in jsondecode(output.athena_report_policy_json).Statement : st.Resource if st.Sid == "ReadEvents"]) == ["arn:aws:s3:::t-events-123456789012-eu-west-1/ses_events/*"] &&
      one([for st in jsondecode(output.athena_report_policy_json).Statement : st.Resource if st.Sid == "WriteAndReadResults"]) == ["arn:aws:s3:::t-events-123456789012-eu-west-1/athena-results/*"]
    )
    error_message = "the report policy runs queries in this workgroup only, reads the events and writes only under the results prefix"
  }

  # --- views are created at apply ---
  assert {
    condition = (
      aws_glue_catalog_table.view["email_status"].table_type == "VIRTUAL_VIEW" &&
      aws_glue_catalog_table.view["email_status"].database_name == "sesload" &&
      aws_glue_catalog_table.view["email_status"].parameters["presto_view"] == "true" &&
      aws_glue_catalog_table.view["email_status"].view_expanded_text == "/* Presto View */" &&
      startswith(aws_glue_catalog_table.view["email_status"].view_original_text, "/* Presto View: ") &&
      endswith(aws_glue_catalog_table.view["email_status"].view_original_text, " */")
    )
    error_message = "email_status is an Athena view: a Glue VIRTUAL_VIEW with a Presto view definition"
  }
  assert {
    condition = (
      jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.view["email_status"].view_original_text, "/* Presto View: "), " */"))).catalog == "awsdatacatalog" &&
      jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.view["email_status"].view_original_text, "/* Presto View: "), " */"))).schema == "sesload" &&
      startswith(jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.view["email_status"].view_original_text, "/* Presto View: "), " */"))).originalSql, "SELECT") &&
      endswith(file("../sql/views/email_status.sql"), "${jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.view["email_status"].view_original_text, "/* Presto View: "), " */"))).originalSql};\n")
    )
    error_message = "the view's query is the body of sql/views/email_status.sql (after CREATE OR REPLACE VIEW ... AS, without the ;)"
  }
  assert {
    condition = (
      [for c in jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.view["email_status"].view_original_text, "/* Presto View: "), " */"))).columns : c.name] ==
      [for c in aws_glue_catalog_table.view["email_status"].storage_descriptor[0].columns : c.name] &&
      [for c in jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.view["email_status"].view_original_text, "/* Presto View: "), " */"))).columns : c.type if c.name == "status" || c.name == "send_events"] == ["varchar", "bigint"]
    )
    error_message = "the view JSON (Presto types) and the Glue columns (Hive types) list the same columns"
  }
  assert {
    condition     = output.athena_view_names == tolist(["email_events", "email_status"])
    error_message = "one view per file in sql/views"
  }
  assert {
    condition = (
      strcontains(jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.view["email_events"].view_original_text, "/* Presto View: "), " */"))).originalSql, "FROM ses_events") &&
      [for c in jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.view["email_events"].view_original_text, "/* Presto View: "), " */"))).columns : c.type if contains(["status_rank", "dt", "hour"], c.name)] == ["integer", "varchar", "varchar"]
    )
    error_message = "email_events passes the dt/hour partition through (a dt filter on it prunes partitions), its rank is an integer"
  }
}

run "long_prefix_cannot_make_an_invalid_bucket_name" {
  command = plan

  module {
    source = "./modules/analytics"
  }

  override_data {
    target = data.aws_region.current
    values = { name = "ap-southeast-3" }
  }

  variables {
    # 40 characters: "<prefix>-events-123456789012-ap-southeast-3" would be 75.
    name_prefix = "a-very-long-prefix-for-a-shared-account1"
  }

  expect_failures = [aws_s3_bucket.events]
}

run "default_prefix_fits_the_longest_regions" {
  command = plan

  module {
    source = "./modules/analytics"
  }

  override_data {
    target = data.aws_region.current
    values = { name = "ap-southeast-3" }
  }

  variables {
    name_prefix = "sesload"
  }

  assert {
    condition     = aws_s3_bucket.events.bucket == "sesload-events-123456789012-ap-southeast-3" && length(aws_s3_bucket.events.bucket) <= 63
    error_message = "the default name fits S3's 63 characters in the longest region names"
  }
}

run "expiry_and_names" {
  command = plan

  module {
    source = "./modules/analytics"
  }

  variables {
    bucket_name            = "my-events"
    athena_database_name   = "ses_events_db"
    events_expiration_days = 30
    sql_dir                = "tests/fixtures/sql"
  }

  assert {
    condition     = one([for r in aws_s3_bucket_lifecycle_configuration.events.rule : r.expiration[0].days if r.id == "expire-events"]) == 30
    error_message = "events_expiration_days adds an expiry for the event prefix"
  }
  assert {
    condition     = toset(keys(aws_athena_named_query.sql)) == toset(["campaign_summary", "duplicates"]) && keys(aws_glue_catalog_table.view) == ["email_status"]
    error_message = "named queries and views follow the files of sql_dir"
  }
  assert {
    condition     = startswith(aws_athena_named_query.sql["campaign_summary"].description, "fixture: campaign summary")
    error_message = "the description is the file's first comment line"
  }
}

run "validations_reject_bad_values" {
  command = plan

  module {
    source = "./modules/analytics"
  }

  variables {
    name_prefix                         = "Upper_Case"
    athena_database_name                = "ses-events"
    bucket_name                         = "Bad_Bucket"
    firehose_buffering_size_mb          = 32
    firehose_buffering_interval_seconds = 901
    athena_results_expiration_days      = 0
    events_expiration_days              = 0
    athena_bytes_scanned_cutoff         = 1000
    partition_projection_start          = "01/01/2025"
    sql_dir                             = "tests/fixtures"
    log_retention_days                  = 2
  }

  expect_failures = [
    var.name_prefix,
    var.athena_database_name,
    var.bucket_name,
    var.firehose_buffering_size_mb,
    var.firehose_buffering_interval_seconds,
    var.athena_results_expiration_days,
    var.events_expiration_days,
    var.athena_bytes_scanned_cutoff,
    var.partition_projection_start,
    var.sql_dir,
    var.log_retention_days,
  ]
}

run "views_need_a_matching_file_name_and_columns" {
  command = plan

  module {
    source = "./modules/analytics"
  }

  variables {
    sql_dir = "tests/fixtures/sql_unlisted_view"
  }

  expect_failures = [aws_glue_catalog_table.view]
}
