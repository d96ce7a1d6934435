# Unit tests of modules/queue (plan mode, mocked provider, offline).

mock_provider "aws" {
  source          = "./tests/mocks/aws"
  override_during = plan
}

variables {
  name_prefix                        = "t"
  function_timeout_seconds           = 30
  maximum_batching_window_in_seconds = 5
  visibility_timeout_seconds         = 185 # exactly 6 x 30 + 5
}

run "queue_properties" {
  command = plan

  module {
    source = "./modules/queue"
  }

  assert {
    condition     = aws_sqs_queue.main.visibility_timeout_seconds == 185
    error_message = "the visibility timeout must be the configured one"
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.main.redrive_policy).maxReceiveCount == 10
    error_message = "redrive maxReceiveCount must default to 10 (>= 5)"
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.main.redrive_policy).deadLetterTargetArn == aws_sqs_queue.dlq.arn
    error_message = "redrive must target the DLQ"
  }

  assert {
    condition     = jsondecode(aws_sqs_queue_redrive_allow_policy.dlq.redrive_allow_policy).redrivePermission == "byQueue"
    error_message = "only the source queue may use the DLQ"
  }

  assert {
    condition     = aws_sqs_queue.main.sqs_managed_sse_enabled && aws_sqs_queue.dlq.sqs_managed_sse_enabled
    error_message = "both queues must be encrypted at rest"
  }

  assert {
    condition     = aws_sqs_queue.dlq.message_retention_seconds >= aws_sqs_queue.main.message_retention_seconds
    error_message = "the DLQ must keep messages at least as long as the source queue"
  }

  assert {
    condition = alltrue([for k, p in aws_sqs_queue_policy.tls_only : (
      jsondecode(p.policy).Statement[0].Effect == "Deny" &&
      jsondecode(p.policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false"
    )])
    error_message = "both queues must deny requests without TLS"
  }

  assert {
    condition     = length(aws_sqs_queue_policy.tls_only) == 2
    error_message = "the source queue and the DLQ both need a TLS-only policy"
  }
}

run "visibility_rule_is_enforced" {
  command = plan

  module {
    source = "./modules/queue"
  }

  variables {
    visibility_timeout_seconds    = 184 # one second short of 6 x 30 + 5
    message_retention_seconds     = 59
    dlq_message_retention_seconds = 1209601
  }

  expect_failures = [
    var.visibility_timeout_seconds,
    var.message_retention_seconds,
    var.dlq_message_retention_seconds,
  ]
}

run "names_and_bounds_are_enforced" {
  command = plan

  module {
    source = "./modules/queue"
  }

  variables {
    name_prefix                = "bad name!"
    visibility_timeout_seconds = 50000
    max_receive_count          = 4
  }

  expect_failures = [
    var.name_prefix,
    var.visibility_timeout_seconds,
    var.max_receive_count,
  ]
}

run "timeout_and_window_bounds_are_enforced" {
  command = plan

  module {
    source = "./modules/queue"
  }

  variables {
    function_timeout_seconds           = 901
    maximum_batching_window_in_seconds = 301
  }

  expect_failures = [
    var.function_timeout_seconds,
    var.maximum_batching_window_in_seconds,
  ]
}
