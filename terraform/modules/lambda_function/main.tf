# One Rust Lambda function of the stack (provided.al2023 on arm64, handler bootstrap, zip built
# by `just build-lambdas`): the function, its log group, its execution role with one inline policy
# (the caller's statements plus writing to its own log group), and optionally an SQS event source
# mapping with partial batch responses. modules/poller, modules/guardrail and modules/customers
# (the seeder) each call it once and pass what differs: the name, the code, the sizes, the
# environment and the least-privilege statements.

locals {
  # Every statement allows; the caller names only what each one allows, on what (and under which
  # condition). The log statement comes last, as it did in each function's hand-written policy.
  policy_statements = [
    for s in concat(var.policy_statements, [{
      Sid       = var.logs_statement_sid
      Action    = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource  = ["${aws_cloudwatch_log_group.this.arn}:*"]
      Condition = null
    }]) :
    merge(
      { Sid = s.Sid, Effect = "Allow", Action = s.Action, Resource = s.Resource },
      { for k, v in { Condition = s.Condition } : k => v if v != null },
    )
  ]
}

resource "aws_cloudwatch_log_group" "this" {
  # checkov:skip=CKV_AWS_158:Encrypted by CloudWatch Logs' default service key; the functions log outcomes, counts, campaign names and EMF metrics, never message bodies, addresses or customer attributes.
  # checkov:skip=CKV_AWS_338:Retention is the caller's log_retention_days (default 14 days): these are load-test logs; a one-year minimum only adds storage cost.
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_in_days
  tags              = var.tags
}

resource "aws_iam_role" "this" {
  name = var.function_name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  # checkov:skip=CKV_AWS_355:The poller's only "*" resource is ses:GetAccount, which has no resource-level permissions; every other statement of every function is scoped to an ARN.
  # checkov:skip=CKV_AWS_290:Same statement: ses:GetAccount cannot be scoped; every write action is scoped to an ARN.
  name   = var.policy_name
  role   = aws_iam_role.this.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.policy_statements })
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_115:The SQS-triggered functions are capped by their event source mapping's maximum_concurrency (reserved concurrency would make the SQS pollers pull batches that Lambda then throttles); the seeder is invoked once by Terraform.
  # checkov:skip=CKV_AWS_116:SQS-triggered functions send failed records to their queue's redrive DLQ (a function DLQ applies only to asynchronous invocations); the seeder is invoked synchronously by Terraform, which reports a failure.
  # checkov:skip=CKV_AWS_117:The functions call only public AWS endpoints (SES, SQS, DynamoDB); a VPC would need NAT or interface endpoints and adds latency and cost.
  # checkov:skip=CKV_AWS_173:Environments hold queue URLs, table names, thresholds and tuning numbers, no secrets; Lambda encrypts them at rest with its service key.
  # checkov:skip=CKV_AWS_272:Code signing needs a signing profile; the zip is built locally by `just build-lambdas` and pinned by source_code_hash.
  function_name    = var.function_name
  description      = var.description
  role             = aws_iam_role.this.arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = var.package_path
  source_code_hash = filebase64sha256(var.package_path)
  memory_size      = var.memory_size
  timeout          = var.timeout

  environment {
    variables = var.environment
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  # PassThrough is Lambda's default mode (no X-Ray sampling by the function itself).
  tracing_config {
    mode = "PassThrough"
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.this]
}

resource "aws_lambda_event_source_mapping" "sqs" {
  count = var.sqs_event_source == null ? 0 : 1

  event_source_arn                   = var.sqs_event_source.queue_arn
  function_name                      = aws_lambda_function.this.arn
  batch_size                         = var.sqs_event_source.batch_size
  maximum_batching_window_in_seconds = var.sqs_event_source.maximum_batching_window_in_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.sqs_event_source.maximum_concurrency
  }

  tags = var.tags
}
