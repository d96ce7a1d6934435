# Unit tests of modules/guardrail (mocked provider, offline): the SES -> EventBridge -> SQS ->
# guard Lambda path, its least-privilege role, the environment (the settings table's guard
# variables) and the validations; a plan run and a mock apply.

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
  name_prefix              = "t"
  package_path             = "tests/fixtures/bootstrap.zip"
  control_table_name       = "t-control"
  control_table_arn        = "arn:aws:dynamodb:eu-west-1:123456789012:table/t-control"
  configuration_set_name   = "t-config"
  metrics_namespace        = "sesload"
  guardrail_bounce_rate    = 0.05
  guardrail_complaint_rate = 0.001
  guardrail_min_sends      = 100
  guardrail_window_minutes = 60
}

run "events_path_function_and_iam" {
  command = plan

  module {
    source = "./modules/guardrail"
  }

  variables {
    guardrail_bounce_rate    = 0.08
    guardrail_complaint_rate = 0.002
    guardrail_min_sends      = 500
    guardrail_window_minutes = 15
  }

  # --- SES -> EventBridge ---
  assert {
    condition     = aws_sesv2_configuration_set_event_destination.eventbridge.configuration_set_name == "t-config" && aws_sesv2_configuration_set_event_destination.eventbridge.event_destination[0].enabled
    error_message = "the configuration set gets an enabled event destination"
  }
  assert {
    condition     = toset(aws_sesv2_configuration_set_event_destination.eventbridge.event_destination[0].matching_event_types) == toset(["SEND", "BOUNCE", "COMPLAINT"])
    error_message = "the destination publishes exactly what the guardrails count: sends, bounces, complaints"
  }
  assert {
    condition     = aws_sesv2_configuration_set_event_destination.eventbridge.event_destination[0].event_bridge_destination[0].event_bus_arn == "arn:aws:events:eu-west-1:123456789012:event-bus/default"
    error_message = "SES publishes to the default event bus of the deployment's account and region"
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.ses_events.event_pattern).source == ["aws.ses"]
    error_message = "the rule matches SES's events"
  }
  assert {
    condition     = toset(jsondecode(aws_cloudwatch_event_rule.ses_events.event_pattern)["detail-type"]) == toset(["Email Sent", "Email Bounced", "Email Complaint Received"])
    error_message = "the rule matches the detail-types of Send, Bounce and Complaint"
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.ses_events.event_pattern).detail.mail.tags["ses:configuration-set"] == ["t-config"]
    error_message = "the rule keeps this configuration set's events only"
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.ses_events.event_pattern).detail.mail.tags.campaign == [{ exists = true }]
    error_message = "the rule keeps the messages with a campaign tag only"
  }
  assert {
    condition     = aws_cloudwatch_event_target.events_queue.rule == aws_cloudwatch_event_rule.ses_events.name && aws_cloudwatch_event_target.events_queue.arn == aws_sqs_queue.events.arn
    error_message = "the rule's target is the guard queue"
  }
  assert {
    condition     = jsondecode(aws_sqs_queue_policy.events.policy).Statement[0].Principal.Service == "events.amazonaws.com" && jsondecode(aws_sqs_queue_policy.events.policy).Statement[0].Action == "sqs:SendMessage"
    error_message = "EventBridge may send to the guard queue"
  }
  assert {
    condition     = jsondecode(aws_sqs_queue_policy.events.policy).Statement[0].Condition.ArnEquals["aws:SourceArn"] == aws_cloudwatch_event_rule.ses_events.arn
    error_message = "only the guardrail rule may send to the guard queue"
  }
  assert {
    condition     = aws_sqs_queue.events.sqs_managed_sse_enabled && aws_sqs_queue.events_dlq.sqs_managed_sse_enabled
    error_message = "the guard queues are encrypted at rest"
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.events.redrive_policy).maxReceiveCount == 5
    error_message = "events that keep failing go to the guard DLQ"
  }
  assert {
    condition     = aws_sqs_queue.events.visibility_timeout_seconds >= 6 * module.lambda.function.timeout + module.lambda.event_source_mapping.maximum_batching_window_in_seconds
    error_message = "the guard queue's visibility timeout satisfies Lambda's rule for SQS event sources"
  }

  # --- the guard Lambda and its event source ---
  assert {
    condition     = module.lambda.function.runtime == "provided.al2023" && module.lambda.function.handler == "bootstrap" && module.lambda.function.architectures == tolist(["arm64"])
    error_message = "the guard is a provided.al2023 arm64 custom runtime with handler bootstrap"
  }
  assert {
    condition     = module.lambda.function.function_name == "t-guard" && module.lambda.log_group_name == "/aws/lambda/t-guard"
    error_message = "the guard and its log group are named from name_prefix"
  }
  assert {
    condition     = module.lambda.function.source_code_hash == filebase64sha256("tests/fixtures/bootstrap.zip")
    error_message = "source_code_hash must follow the zip so a rebuild redeploys"
  }
  assert {
    condition = toset(keys(module.lambda.function.environment[0].variables)) == toset([
      "CONTROL_TABLE", "METRICS_NAMESPACE", "GUARDRAIL_BOUNCE_RATE", "GUARDRAIL_COMPLAINT_RATE",
      "GUARDRAIL_MIN_SENDS", "GUARDRAIL_WINDOW_MINUTES",
    ])
    error_message = "the guard gets exactly the env vars of the settings table it reads"
  }
  assert {
    condition = module.lambda.function.environment[0].variables == tomap({
      CONTROL_TABLE            = "t-control"
      METRICS_NAMESPACE        = "sesload"
      GUARDRAIL_BOUNCE_RATE    = "0.08"
      GUARDRAIL_COMPLAINT_RATE = "0.002"
      GUARDRAIL_MIN_SENDS      = "500"
      GUARDRAIL_WINDOW_MINUTES = "15"
    })
    error_message = "the thresholds and the window reach the guard as set"
  }
  assert {
    condition     = module.lambda.event_source_mapping.function_response_types == toset(["ReportBatchItemFailures"]) && module.lambda.event_source_mapping.batch_size == 100
    error_message = "the guard reads batches and reports the events it could not count"
  }
  assert {
    condition     = module.lambda.event_source_mapping.maximum_batching_window_in_seconds + module.lambda.function.timeout <= 60
    error_message = "a guardrail reacts within 60 s: batching window plus one invocation"
  }

  # --- least privilege ---
  assert {
    condition = alltrue([
      for st in jsondecode(module.lambda.policy).Statement : alltrue([for r in st.Resource : r != "*"])
    ])
    error_message = "every statement of the guard's role is scoped to a resource"
  }
  assert {
    condition = one([
      for st in jsondecode(module.lambda.policy).Statement : st.Condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
      if st.Sid == "CountAndPauseCampaigns"
    ]) == ["guard#*", "campaign#*"]
    error_message = "the guard touches only the control table's guardrail buckets and campaign states"
  }
  assert {
    condition = toset(one([
      for st in jsondecode(module.lambda.policy).Statement : st.Action if st.Sid == "CountAndPauseCampaigns"
    ])) == toset(["dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:BatchGetItem"])
    error_message = "no DynamoDB action beyond counting, reading and the conditional state change"
  }
  assert {
    condition     = !strcontains(module.lambda.policy, "ses:") && !strcontains(module.lambda.policy, "sqs:SendMessage")
    error_message = "the guard neither sends email nor writes to any queue"
  }
}

run "mock_apply_outputs" {
  command = apply

  providers = {
    aws = aws.applied
  }

  module {
    source = "./modules/guardrail"
  }

  assert {
    condition     = output.function_name == "t-guard" && output.event_rule_name == "t-guardrail-ses-events" && output.event_destination_name == "t-guardrail"
    error_message = "the outputs name the guard, the rule and the event destination"
  }
  assert {
    condition     = output.events_queue_url == aws_sqs_queue.events.url && startswith(output.events_queue_url, "https://sqs.")
    error_message = "the guard queue's URL is an output"
  }
  assert {
    condition = output.environment_variable_names == sort([
      "CONTROL_TABLE", "METRICS_NAMESPACE", "GUARDRAIL_BOUNCE_RATE", "GUARDRAIL_COMPLAINT_RATE",
      "GUARDRAIL_MIN_SENDS", "GUARDRAIL_WINDOW_MINUTES",
    ])
    error_message = "the deployed guard sets exactly the env vars of the settings table"
  }
  assert {
    condition     = jsondecode(module.lambda.policy).Statement[2].Resource == ["${module.lambda.log_group_arn}:*"] && module.lambda.log_group_name == "/aws/lambda/t-guard"
    error_message = "the guard writes its own log group only"
  }
  assert {
    condition     = output.alarm_names == ["t-guard-events-dlq"] && aws_cloudwatch_metric_alarm.events_dlq_not_empty.threshold == 0 && aws_cloudwatch_metric_alarm.events_dlq_not_empty.metric_name == "ApproximateNumberOfMessagesVisible"
    error_message = "an alarm fires as soon as an event reaches the guard DLQ"
  }
}

run "validations_reject_bad_values" {
  command = plan

  module {
    source = "./modules/guardrail"
  }

  variables {
    guardrail_bounce_rate         = 5
    guardrail_complaint_rate      = 0
    guardrail_min_sends           = 0
    guardrail_window_minutes      = 1441
    event_batching_window_seconds = 45
    control_table_arn             = "t-control"
  }

  expect_failures = [
    var.guardrail_bounce_rate,
    var.guardrail_complaint_rate,
    var.guardrail_min_sends,
    var.guardrail_window_minutes,
    var.event_batching_window_seconds,
    var.control_table_arn,
  ]
}

run "large_batches_need_a_window" {
  command = plan

  module {
    source = "./modules/guardrail"
  }

  variables {
    event_batch_size              = 50
    event_batching_window_seconds = 0
  }

  expect_failures = [var.event_batch_size]
}
