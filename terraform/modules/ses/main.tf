# SES template, configuration set (new or existing) and its event destination to Firehose.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  # Default names derive from name_prefix: the original sample's fixed names (SimpleEmail,
  # load-test-config) would collide with it, or with a second deployment, in one account.
  template_name         = coalesce(var.template_name, "${var.name_prefix}-template")
  configuration_set     = coalesce(var.configuration_set_name, "${var.name_prefix}-config")
  configuration_set_arn = "arn:${data.aws_partition.current.partition}:ses:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:configuration-set/${local.configuration_set}"
  # The event destination must reference the set after it exists when we create it.
  configuration_set_name = var.create_configuration_set ? aws_sesv2_configuration_set.this[0].configuration_set_name : local.configuration_set
}

# SES v2 SendEmail uses classic templates by name (aws_sesv2_email_template does not exist in
# the pinned provider).
resource "aws_ses_template" "this" {
  name    = local.template_name
  subject = var.template_subject
  html    = var.template_html
  text    = var.template_text
}

resource "aws_sesv2_configuration_set" "this" {
  count = var.create_configuration_set ? 1 : 0

  configuration_set_name = local.configuration_set

  delivery_options {
    tls_policy = "REQUIRE"
  }

  reputation_options {
    reputation_metrics_enabled = true
  }

  sending_options {
    sending_enabled = true
  }

  tags = var.tags
}

resource "aws_iam_role" "ses_to_firehose" {
  name = "${var.name_prefix}-ses-to-firehose"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ses.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
        ArnLike      = { "aws:SourceArn" = local.configuration_set_arn }
      }
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "ses_to_firehose" {
  name = "put-events"
  role = aws_iam_role.ses_to_firehose.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "PutSesEvents"
      Effect   = "Allow"
      Action   = ["firehose:PutRecord", "firehose:PutRecordBatch"]
      Resource = [var.firehose_arn]
    }]
  })
}

resource "aws_sesv2_configuration_set_event_destination" "firehose" {
  configuration_set_name = local.configuration_set_name
  event_destination_name = "${var.name_prefix}-firehose"

  event_destination {
    enabled              = true
    matching_event_types = var.event_types

    kinesis_firehose_destination {
      delivery_stream_arn = var.firehose_arn
      iam_role_arn        = aws_iam_role.ses_to_firehose.arn
    }
  }

  depends_on = [aws_iam_role_policy.ses_to_firehose]
}
