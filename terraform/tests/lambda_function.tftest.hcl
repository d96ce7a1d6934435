# Unit tests of modules/lambda_function (mocked provider, offline): the function, its log group,
# its execution role and inline policy (the caller's statements + its own log group), the optional
# SQS event source mapping and the validations; plan runs and a mock apply.

mock_provider "aws" {
  source          = "./tests/mocks/aws"
  override_during = plan
}

# The mock apply: values become known at apply, as they do against AWS.
mock_provider "aws" {
  alias  = "applied"
  source = "./tests/mocks/aws"
}

variables {
  function_name         = "t-fn"
  description           = "a test function"
  package_path          = "tests/fixtures/bootstrap.zip"
  memory_size           = 256
  timeout               = 30
  environment           = { TABLE = "t-table", LIMIT = "3" }
  log_retention_in_days = 14
  policy_name           = "fn"
  policy_statements = [
    {
      Sid      = "ReadTable"
      Action   = ["dynamodb:GetItem"]
      Resource = ["arn:aws:dynamodb:eu-west-1:123456789012:table/t-table"]
    },
    {
      Sid       = "UpdateOwnKeys"
      Action    = ["dynamodb:UpdateItem"]
      Resource  = ["arn:aws:dynamodb:eu-west-1:123456789012:table/t-table"]
      Condition = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = ["fn#*"] } }
    },
  ]
}

run "function_role_policy_and_log_group" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  # --- function ---
  assert {
    condition = (
      aws_lambda_function.this.function_name == "t-fn" && aws_lambda_function.this.description == "a test function" &&
      aws_lambda_function.this.runtime == "provided.al2023" && aws_lambda_function.this.handler == "bootstrap" &&
      aws_lambda_function.this.architectures == tolist(["arm64"])
    )
    error_message = "a provided.al2023 arm64 custom runtime with handler bootstrap, named as asked"
  }
  assert {
    condition     = aws_lambda_function.this.memory_size == 256 && aws_lambda_function.this.timeout == 30
    error_message = "memory and timeout are the caller's"
  }
  assert {
    condition     = aws_lambda_function.this.filename == "tests/fixtures/bootstrap.zip" && aws_lambda_function.this.source_code_hash == filebase64sha256("tests/fixtures/bootstrap.zip")
    error_message = "source_code_hash must follow the zip so a rebuild redeploys"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables == tomap({ TABLE = "t-table", LIMIT = "3" })
    error_message = "the environment is exactly the caller's map"
  }
  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "PassThrough" && coalesce(aws_lambda_function.this.reserved_concurrent_executions, -1) == -1
    error_message = "tracing PassThrough (Lambda's default), no reserved concurrency"
  }
  assert {
    condition     = aws_lambda_function.this.role == aws_iam_role.this.arn && aws_iam_role.this.name == "t-fn"
    error_message = "the function runs as its own role, named like it"
  }
  assert {
    condition     = jsondecode(aws_iam_role.this.assume_role_policy).Statement == [{ Effect = "Allow", Principal = { Service = "lambda.amazonaws.com" }, Action = "sts:AssumeRole" }]
    error_message = "only Lambda may assume the role"
  }

  # --- log group ---
  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/t-fn" && aws_cloudwatch_log_group.this.retention_in_days == 14
    error_message = "the function's log group is /aws/lambda/<name> with the caller's retention"
  }
  assert {
    condition     = aws_lambda_function.this.logging_config[0].log_group == aws_cloudwatch_log_group.this.name && aws_lambda_function.this.logging_config[0].log_format == "Text"
    error_message = "the function logs (text) to its managed log group"
  }

  # --- inline policy ---
  assert {
    condition     = aws_iam_role_policy.this.name == "fn" && aws_iam_role_policy.this.role == aws_iam_role.this.id
    error_message = "one inline policy on the function's role, named as asked"
  }
  assert {
    condition = jsondecode(aws_iam_role_policy.this.policy) == {
      Version = "2012-10-17"
      Statement = [
        { Sid = "ReadTable", Effect = "Allow", Action = ["dynamodb:GetItem"], Resource = ["arn:aws:dynamodb:eu-west-1:123456789012:table/t-table"] },
        {
          Sid       = "UpdateOwnKeys", Effect = "Allow", Action = ["dynamodb:UpdateItem"], Resource = ["arn:aws:dynamodb:eu-west-1:123456789012:table/t-table"]
          Condition = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = ["fn#*"] } }
        },
        { Sid = "WriteOwnLogsAndEmfMetrics", Effect = "Allow", Action = ["logs:CreateLogStream", "logs:PutLogEvents"], Resource = ["${aws_cloudwatch_log_group.this.arn}:*"] },
      ]
    }
    error_message = "the caller's statements (Effect Allow, a Condition only where given), then writing to the function's own log group"
  }

  # --- no trigger ---
  assert {
    condition     = length(aws_lambda_event_source_mapping.sqs) == 0 && output.event_source_mapping_uuid == null && output.event_source_mapping == null
    error_message = "without sqs_event_source there is no event source mapping"
  }
}

run "sqs_event_source_and_logs_sid" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    logs_statement_sid = "WriteOwnLogs"
    sqs_event_source = {
      queue_arn                          = "arn:aws:sqs:eu-west-1:123456789012:t-queue"
      batch_size                         = 100
      maximum_batching_window_in_seconds = 5
      maximum_concurrency                = 3
    }
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.sqs[0].event_source_arn == "arn:aws:sqs:eu-west-1:123456789012:t-queue" &&
      aws_lambda_event_source_mapping.sqs[0].function_name == aws_lambda_function.this.arn &&
      aws_lambda_event_source_mapping.sqs[0].batch_size == 100 &&
      aws_lambda_event_source_mapping.sqs[0].maximum_batching_window_in_seconds == 5 &&
      aws_lambda_event_source_mapping.sqs[0].scaling_config[0].maximum_concurrency == 3
    )
    error_message = "the mapping reads the given queue with the given batch, window and maximum concurrency"
  }
  assert {
    condition     = aws_lambda_event_source_mapping.sqs[0].function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "the mapping uses partial batch responses (ReportBatchItemFailures)"
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.this.policy).Statement[2].Sid == "WriteOwnLogs" && length(jsondecode(aws_iam_role_policy.this.policy).Statement) == 3
    error_message = "logs_statement_sid names the appended log statement"
  }
}

run "mock_apply_outputs" {
  command = apply

  providers = {
    aws = aws.applied
  }

  module {
    source = "./modules/lambda_function"
  }

  variables {
    sqs_event_source = {
      queue_arn                          = "arn:aws:sqs:eu-west-1:123456789012:t-queue"
      batch_size                         = 10
      maximum_batching_window_in_seconds = 0
      maximum_concurrency                = 2
    }
  }

  assert {
    condition     = output.function_name == "t-fn" && output.function_arn == aws_lambda_function.this.arn && output.function.function_name == "t-fn"
    error_message = "the outputs name the function"
  }
  assert {
    condition     = output.source_code_hash == filebase64sha256("tests/fixtures/bootstrap.zip") && output.role_arn == aws_iam_role.this.arn
    error_message = "the code hash and the role are outputs"
  }
  assert {
    condition     = output.log_group_name == "/aws/lambda/t-fn" && output.log_group_arn == aws_cloudwatch_log_group.this.arn && output.log_retention_in_days == 14
    error_message = "the log group is an output"
  }
  assert {
    condition     = output.policy == aws_iam_role_policy.this.policy && output.assume_role_policy == aws_iam_role.this.assume_role_policy
    error_message = "the role's policies are outputs"
  }
  assert {
    condition     = output.event_source_mapping_uuid == aws_lambda_event_source_mapping.sqs[0].uuid && output.event_source_mapping.batch_size == 10
    error_message = "the event source mapping is an output"
  }
}

run "validations_reject_bad_values" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    function_name         = "bad name"
    description           = join("", [for i in range(26) : "0123456789"])
    package_path          = "tests/fixtures/missing.zip"
    memory_size           = 64
    timeout               = 901
    environment           = { "1BAD" = "x" }
    log_retention_in_days = 13
    policy_name           = "bad name"
    policy_statements     = [{ Sid = "bad-sid", Action = ["dynamodb:GetItem"], Resource = ["*"] }]
    logs_statement_sid    = "bad-sid"
    sqs_event_source = {
      queue_arn                          = "t-queue"
      batch_size                         = 11
      maximum_batching_window_in_seconds = 0
      maximum_concurrency                = 1
    }
  }

  expect_failures = [
    var.function_name,
    var.description,
    var.package_path,
    var.memory_size,
    var.timeout,
    var.environment,
    var.log_retention_in_days,
    var.policy_name,
    var.policy_statements,
    var.logs_statement_sid,
    var.sqs_event_source,
  ]
}

run "actions_name_one_operation" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    policy_statements = [{ Sid = "Wildcard", Action = ["dynamodb:*"], Resource = ["arn:aws:dynamodb:eu-west-1:123456789012:table/t-table"] }]
  }

  expect_failures = [var.policy_statements]
}

run "environment_and_statements_are_required" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    environment       = {}
    policy_statements = []
  }

  expect_failures = [var.environment, var.policy_statements]
}
