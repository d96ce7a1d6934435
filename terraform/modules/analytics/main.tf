# Event lake: SES -> Firehose (DirectPut, JSON -> Parquet through the Glue table) -> S3,
# Glue table with partition projection, Athena workgroup and the saved queries from sql/.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition   = data.aws_partition.current.partition
  region      = data.aws_region.current.name
  account_id  = data.aws_caller_identity.current.account_id
  bucket_name = coalesce(var.bucket_name, "${var.name_prefix}-events-${local.account_id}-${local.region}")

  events_prefix  = "ses_events/"
  errors_prefix  = "ses_events_errors/"
  results_prefix = "athena-results/"

  # Firehose writes by arrival time (UTC); the Glue table projects the same layout.
  firehose_prefix       = "${local.events_prefix}dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/"
  firehose_error_prefix = "${local.errors_prefix}!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/"

  # The SES event record, every key lower-cased (the OpenX deserializer matches JSON keys
  # case-insensitively). Kept identical to sql/ddl/ses_events.sql (tests/terraform checks it).
  #
  # mail.tags is map<string,array<string>>: SES tags are `name -> [values]`, and the ses:* keys
  # SES adds contain ':' and '-', which are not valid struct field names. As map KEYS they need no
  # mapping; the OpenX JSON SerDe reads a JSON object into a Hive map and the Parquet serializer
  # writes a MAP group (Parquet has no equivalent of an empty struct, but maps are native).
  # A struct<campaign:array<string>> would also convert, but it silently drops every other tag.
  # Queries read a tag with element_at(element_at(mail.tags, 'campaign'), 1) (NULL if absent).
  #
  # send is the empty object {} of a Send event. Hive/Glue reject struct<> and Parquet cannot
  # write an empty group, so it is a string column: the OpenX SerDe stores the object's JSON text
  # ("{}"), which still tells a Send record apart from a NULL.
  columns = [
    { name = "eventtype", type = "string" },
    { name = "mail", type = "struct<timestamp:string,messageid:string,source:string,sourcearn:string,sendingaccountid:string,destination:array<string>,headerstruncated:boolean,headers:array<struct<name:string,value:string>>,commonheaders:struct<from:array<string>,to:array<string>,messageid:string,subject:string>,tags:map<string,array<string>>>" },
    { name = "send", type = "string" },
    { name = "delivery", type = "struct<timestamp:string,processingtimemillis:bigint,recipients:array<string>,smtpresponse:string,reportingmta:string>" },
    { name = "bounce", type = "struct<bouncetype:string,bouncesubtype:string,bouncedrecipients:array<struct<emailaddress:string,action:string,status:string,diagnosticcode:string>>,timestamp:string,feedbackid:string,reportingmta:string>" },
    { name = "complaint", type = "struct<complainedrecipients:array<struct<emailaddress:string>>,timestamp:string,feedbackid:string,complaintfeedbacktype:string,useragent:string,arrivaldate:string>" },
    { name = "reject", type = "struct<reason:string>" },
    { name = "failure", type = "struct<errormessage:string,templatename:string>" },
    { name = "deliverydelay", type = "struct<timestamp:string,delaytype:string,expirationtime:string,reportingmta:string,delayedrecipients:array<struct<emailaddress:string,status:string,diagnosticcode:string>>>" },
    { name = "open", type = "struct<timestamp:string,useragent:string,ipaddress:string>" },
    { name = "click", type = "struct<timestamp:string,useragent:string,ipaddress:string,link:string,linktags:map<string,array<string>>>" },
  ]

  # Partition projection. Athena lists every dt x hour of the range that a query does not exclude,
  # so every saved query filters `dt BETWEEN ? AND ?` (execution parameters): a report reads, and
  # pays for, only the days it names.
  projection_parameters = {
    EXTERNAL                      = "TRUE"
    classification                = "parquet"
    "parquet.compression"         = "SNAPPY"
    "projection.enabled"          = "true"
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy-MM-dd"
    "projection.dt.range"         = "${var.partition_projection_start},NOW"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
    "projection.hour.type"        = "integer"
    "projection.hour.range"       = "0,23"
    "projection.hour.digits"      = "2"
    "storage.location.template"   = "s3://${aws_s3_bucket.events.bucket}/${local.events_prefix}dt=$${dt}/hour=$${hour}/"
  }

  # One Athena named query per saved query in sql/queries.
  named_query_files = { for f in fileset(var.sql_dir, "queries/*.sql") : trimsuffix(basename(f), ".sql") => f }

  # Each sql/views/<name>.sql is "CREATE OR REPLACE VIEW <name> AS <query>;" after a header comment.
  # Athena keeps a view as a Glue table of type VIRTUAL_VIEW whose original text is
  # "/* Presto View: <base64 of the view JSON> */", the JSON holding the query and its columns.
  views = {
    for f in fileset(var.sql_dir, "views/*.sql") : trimsuffix(basename(f), ".sql") => {
      file        = f
      description = trimprefix(split("\n", file("${var.sql_dir}/${f}"))[0], "-- ")
      parts       = regex("(?is)CREATE\\s+OR\\s+REPLACE\\s+VIEW\\s+([a-z0-9_]+)\\s+AS\\s+(.*?);?\\s*$", file("${var.sql_dir}/${f}"))
    }
  }

  # Output columns of each view (Hive types for Glue; the Presto types go into the view JSON).
  # tests/terraform checks them against DuckDB's DESCRIBE of the same view over the local lake.
  view_columns = {
    email_events = [
      { name = "message_id", type = "string" },
      { name = "campaign", type = "string" },
      { name = "unique_code", type = "string" },
      { name = "recipient", type = "string" },
      { name = "subject", type = "string" },
      { name = "event_type", type = "string" },
      { name = "sent_at", type = "string" },
      { name = "delivered_at", type = "string" },
      { name = "processing_time_ms", type = "bigint" },
      { name = "bounce_type", type = "string" },
      { name = "bounce_subtype", type = "string" },
      { name = "complaint_feedback_type", type = "string" },
      { name = "failure_message", type = "string" },
      { name = "status", type = "string" },
      { name = "status_rank", type = "int" },
      { name = "dt", type = "string" },
      { name = "hour", type = "string" },
    ]
    email_status = [
      { name = "message_id", type = "string" },
      { name = "campaign", type = "string" },
      { name = "unique_code", type = "string" },
      { name = "recipient", type = "string" },
      { name = "subject", type = "string" },
      { name = "sent_at", type = "string" },
      { name = "status", type = "string" },
      { name = "send_events", type = "bigint" },
      { name = "delivery_events", type = "bigint" },
      { name = "bounce_events", type = "bigint" },
      { name = "complaint_events", type = "bigint" },
      { name = "reject_events", type = "bigint" },
      { name = "rendering_failure_events", type = "bigint" },
      { name = "delay_events", type = "bigint" },
      { name = "delivered_at", type = "string" },
      { name = "processing_time_ms", type = "bigint" },
      { name = "bounce_type", type = "string" },
      { name = "bounce_subtype", type = "string" },
      { name = "complaint_feedback_type", type = "string" },
      { name = "failure_message", type = "string" },
    ]
  }
  presto_types = { string = "varchar", bigint = "bigint", int = "integer", double = "double", boolean = "boolean" }
}

# --- bucket ---------------------------------------------------------------------------------

resource "aws_s3_bucket" "events" {
  # checkov:skip=CKV_AWS_18:Server access logging would need a second bucket; reads go through Athena, whose query history and CloudTrail already record access.
  # checkov:skip=CKV_AWS_144:Cross-region replication doubles storage for load-test data that can be regenerated by running the test again.
  # checkov:skip=CKV2_AWS_62:Nothing consumes object-created events: Athena reads the data through partition projection.
  # checkov:skip=CKV_AWS_145:Encrypted with SSE-S3 (AES-256); SSE-KMS would add a KMS request per Firehose file and per Athena read for non-secret test data.
  bucket        = local.bucket_name
  force_destroy = var.bucket_force_destroy
  tags          = var.tags

  lifecycle {
    precondition {
      condition     = length(local.bucket_name) <= 63
      error_message = "The event bucket name \"${local.bucket_name}\" is ${length(local.bucket_name)} characters; S3 allows at most 63. Shorten name_prefix (\"${var.name_prefix}\") by ${length(local.bucket_name) - 63} or more, or name the bucket yourself (bucket_name; events_bucket_name in the root module)."
    }
  }
}

resource "aws_s3_bucket_ownership_controls" "events" {
  bucket = aws_s3_bucket.events.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "events" {
  bucket                  = aws_s3_bucket.events.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "events" {
  bucket = aws_s3_bucket.events.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "events" {
  bucket = aws_s3_bucket.events.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "events" {
  bucket = aws_s3_bucket.events.id

  rule {
    id     = "expire-athena-results"
    status = "Enabled"
    filter {
      prefix = local.results_prefix
    }
    expiration {
      days = var.athena_results_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "expire-conversion-errors"
    status = "Enabled"
    filter {
      prefix = local.errors_prefix
    }
    expiration {
      days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  dynamic "rule" {
    for_each = var.events_expiration_days == null ? [] : [var.events_expiration_days]
    content {
      id     = "expire-events"
      status = "Enabled"
      filter {
        prefix = local.events_prefix
      }
      expiration {
        days = rule.value
      }
      abort_incomplete_multipart_upload {
        days_after_initiation = 1
      }
    }
  }

  rule {
    id     = "clean-up"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.events]
}

resource "aws_s3_bucket_policy" "events" {
  bucket = aws_s3_bucket.events.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.events.arn, "${aws_s3_bucket.events.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })

  depends_on = [aws_s3_bucket_public_access_block.events]
}

# --- Glue catalog -----------------------------------------------------------------------------

resource "aws_glue_catalog_database" "this" {
  name        = var.athena_database_name
  description = "sesload: SES events delivered by Firehose."
}

resource "aws_glue_catalog_table" "ses_events" {
  name          = "ses_events"
  database_name = aws_glue_catalog_database.this.name
  description   = "Every SES event the configuration set publishes since ${var.partition_projection_start} (Parquet, written by Firehose; Firehose's conversion schema). Filter on dt: it is what a query reads and costs."
  table_type    = "EXTERNAL_TABLE"
  parameters    = local.projection_parameters

  partition_keys {
    name    = "dt"
    type    = "string"
    comment = "UTC arrival date at Firehose, yyyy-MM-dd"
  }

  partition_keys {
    name    = "hour"
    type    = "string"
    comment = "UTC arrival hour at Firehose, two digits 00-23"
  }

  storage_descriptor {
    location      = "s3://${aws_s3_bucket.events.bucket}/${local.events_prefix}"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      name                  = "parquet"
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters            = { "serialization.format" = "1" }
    }

    dynamic "columns" {
      for_each = local.columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}

# A previous layout kept two tables in one for_each (ses_events and a windowed ses_events_recent);
# the saved queries now filter dt with parameters, and the windowed table is destroyed on apply.
moved {
  from = aws_glue_catalog_table.events["ses_events"]
  to   = aws_glue_catalog_table.ses_events
}

# The views of sql/views, created at apply so that the saved queries that read them work at once.
resource "aws_glue_catalog_table" "view" {
  for_each = local.views

  name          = each.key
  database_name = aws_glue_catalog_database.this.name
  description   = substr("${each.value.description} (sql/${each.value.file})", 0, 2048)
  table_type    = "VIRTUAL_VIEW"
  parameters    = { presto_view = "true", comment = "Presto View" }

  view_original_text = "/* Presto View: ${base64encode(jsonencode({
    originalSql = each.value.parts[1]
    catalog     = "awsdatacatalog"
    schema      = aws_glue_catalog_database.this.name
    columns     = [for c in lookup(local.view_columns, each.key, []) : { name = c.name, type = local.presto_types[c.type] }]
  }))} */"
  view_expanded_text = "/* Presto View */"

  storage_descriptor {
    dynamic "columns" {
      for_each = lookup(local.view_columns, each.key, [])
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }

  lifecycle {
    precondition {
      condition     = lower(each.value.parts[0]) == each.key
      error_message = "sql/${each.value.file} creates view \"${each.value.parts[0]}\"; a view file must be named after its view."
    }
    precondition {
      condition     = contains(keys(local.view_columns), each.key)
      error_message = "view ${each.key} (sql/${each.value.file}) has no column list in the analytics module's view_columns; Athena needs a view's columns and types."
    }
  }

  depends_on = [aws_glue_catalog_table.ses_events]
}

# --- Firehose -------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "firehose" {
  # checkov:skip=CKV_AWS_158:Encrypted by CloudWatch Logs' default service key; Firehose logs only delivery and conversion errors.
  # checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (default 14 days); conversion errors matter while a test runs.
  name              = "/aws/kinesisfirehose/${var.name_prefix}-ses-events"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_cloudwatch_log_stream" "firehose" {
  name           = "S3Delivery"
  log_group_name = aws_cloudwatch_log_group.firehose.name
}

resource "aws_iam_role" "firehose" {
  name = "${var.name_prefix}-firehose"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "firehose.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "sts:ExternalId" = local.account_id } }
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "firehose" {
  name = "deliver-ses-events"
  role = aws_iam_role.firehose.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "WriteEventBucket"
        Effect   = "Allow"
        Action   = ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject"]
        Resource = [aws_s3_bucket.events.arn, "${aws_s3_bucket.events.arn}/*"]
      },
      {
        Sid    = "ReadConversionSchema"
        Effect = "Allow"
        Action = ["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"]
        Resource = [
          "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
          "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${aws_glue_catalog_database.this.name}",
          "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${aws_glue_catalog_database.this.name}/${aws_glue_catalog_table.ses_events.name}",
        ]
      },
      {
        Sid      = "LogDeliveryErrors"
        Effect   = "Allow"
        Action   = ["logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.firehose.arn}:*"]
      },
    ]
  })
}

resource "aws_kinesis_firehose_delivery_stream" "ses_events" {
  # checkov:skip=CKV_AWS_241:Encrypted with the AWS owned key (server_side_encryption below); a customer managed key adds KMS cost per record batch for non-secret test events.
  name        = "${var.name_prefix}-ses-events"
  destination = "extended_s3"

  server_side_encryption {
    enabled  = true
    key_type = "AWS_OWNED_CMK"
  }

  extended_s3_configuration {
    role_arn            = aws_iam_role.firehose.arn
    bucket_arn          = aws_s3_bucket.events.arn
    prefix              = local.firehose_prefix
    error_output_prefix = local.firehose_error_prefix
    buffering_size      = var.firehose_buffering_size_mb
    buffering_interval  = var.firehose_buffering_interval_seconds
    # Parquet files are compressed internally (SNAPPY); the stream itself must not compress.
    compression_format = "UNCOMPRESSED"

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose.name
      log_stream_name = aws_cloudwatch_log_stream.firehose.name
    }

    data_format_conversion_configuration {
      enabled = true

      input_format_configuration {
        deserializer {
          open_x_json_ser_de {
            case_insensitive = true
          }
        }
      }

      output_format_configuration {
        serializer {
          parquet_ser_de {
            compression = "SNAPPY"
          }
        }
      }

      schema_configuration {
        database_name = aws_glue_catalog_table.ses_events.database_name
        table_name    = aws_glue_catalog_table.ses_events.name
        role_arn      = aws_iam_role.firehose.arn
        region        = local.region
        version_id    = "LATEST"
      }
    }
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.firehose]
}

# --- Athena ---------------------------------------------------------------------------------

resource "aws_athena_workgroup" "this" {
  name          = var.name_prefix
  description   = "sesload: queries over the SES event lake."
  force_destroy = true

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.athena_bytes_scanned_cutoff

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${aws_s3_bucket.events.bucket}/${local.results_prefix}"

      encryption_configuration {
        encryption_option = "SSE_S3"
      }
    }
  }

  tags = var.tags
}

resource "aws_athena_named_query" "sql" {
  for_each = local.named_query_files

  name        = each.key
  workgroup   = aws_athena_workgroup.this.name
  database    = aws_glue_catalog_database.this.name
  description = substr("${trimprefix(split("\n", file("${var.sql_dir}/${each.value}"))[0], "-- ")} (sql/${each.value}; parameters, as SQL literals: the campaign, then the first and last dt, e.g. 'run1' '2026-11-27' '2026-11-28')", 0, 1024)
  query       = file("${var.sql_dir}/${each.value}")

  # The queries read ses_events and the views; create them first.
  depends_on = [aws_glue_catalog_table.ses_events, aws_glue_catalog_table.view]
}
