# Unit tests of modules/ingest_api (plan mode, mocked provider, offline).

mock_provider "aws" {
  source          = "./tests/mocks/aws"
  override_during = plan
}

variables {
  name_prefix = "t"
  schema_path = "../schemas/send-request.schema.json"
  queue_name  = "t-queue"
  queue_arn   = "arn:aws:sqs:eu-west-1:123456789012:t-queue"
}

run "api_to_sqs" {
  command = plan

  module {
    source = "./modules/ingest_api"
  }

  assert {
    condition     = aws_api_gateway_resource.events.path_part == "events" && aws_api_gateway_stage.this.stage_name == "send_messages"
    error_message = "POST /send_messages/events, as in the seed and the local ingest"
  }
  assert {
    condition     = aws_api_gateway_method.post.http_method == "POST" && aws_api_gateway_method.post.api_key_required
    error_message = "POST requires an API key"
  }
  assert {
    condition     = aws_api_gateway_request_validator.body.validate_request_body && aws_api_gateway_method.post.request_models["application/json"] == "SendRequest"
    error_message = "the body is validated against the SendRequest model"
  }
  assert {
    condition     = jsondecode(aws_api_gateway_model.send_request.schema) == jsondecode(file("../schemas/send-request.schema.json"))
    error_message = "the model is the repository's JSON Schema file"
  }
  assert {
    condition     = jsondecode(aws_api_gateway_model.send_request.schema)["$schema"] == "http://json-schema.org/draft-04/schema#"
    error_message = "API Gateway models are JSON Schema draft-04"
  }
  assert {
    condition = (
      aws_api_gateway_integration.sqs.type == "AWS" &&
      aws_api_gateway_integration.sqs.integration_http_method == "POST" &&
      aws_api_gateway_integration.sqs.uri == "arn:aws:apigateway:eu-west-1:sqs:path/123456789012/t-queue" &&
      aws_api_gateway_integration.sqs.passthrough_behavior == "NEVER"
    )
    error_message = "direct SQS integration (AWS, POST, sqs:path/<account>/<queue>, passthrough NEVER)"
  }
  assert {
    condition     = aws_api_gateway_integration.sqs.request_templates["application/json"] == "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
    error_message = "the body must be URL-encoded into MessageBody"
  }
  assert {
    condition     = aws_api_gateway_integration.sqs.request_parameters["integration.request.header.Content-Type"] == "'application/x-www-form-urlencoded'"
    error_message = "SQS needs a form-encoded request"
  }
  assert {
    condition = (
      aws_api_gateway_integration_response.success.status_code == "200" &&
      aws_api_gateway_integration_response.success.selection_pattern == "2\\d{2}" &&
      strcontains(aws_api_gateway_integration_response.success.response_templates["application/json"], "SendMessageResponse.SendMessageResult.MessageId") &&
      strcontains(aws_api_gateway_integration_response.success.response_templates["application/json"], "messageId")
    )
    error_message = "2xx from SQS returns 200 with the message id"
  }
  assert {
    condition = (
      aws_api_gateway_integration_response.error.status_code == "500" &&
      aws_api_gateway_integration_response.error.selection_pattern == null &&
      !strcontains(lower(aws_api_gateway_integration_response.error.response_templates["application/json"]), "success")
    )
    error_message = "anything else (the default response) is a 500 error, never 'Success'"
  }
  assert {
    condition = aws_api_gateway_gateway_response.this["BAD_REQUEST_BODY"].status_code == "400" && jsondecode(aws_api_gateway_gateway_response.this["BAD_REQUEST_BODY"].response_templates["application/json"]) == {
      message = "request body does not match the send-request schema: $context.error.validationErrorString"
    }
    error_message = "a schema violation answers 400 with JSON {\"message\": ...} that carries the validation error"
  }
  assert {
    condition = alltrue([for r in aws_api_gateway_gateway_response.this : (
      can(jsondecode(r.response_templates["application/json"])) &&
      !strcontains(r.response_templates["application/json"], "$util") &&
      !strcontains(r.response_templates["application/json"], "#")
    )])
    error_message = "gateway response templates are not VTL: only $context substitutions, no $util or directives, and valid JSON"
  }
  assert {
    condition = jsondecode(aws_iam_role_policy.api_to_sqs.policy).Statement == [{
      Sid = "SendToIngestQueue", Effect = "Allow", Action = ["sqs:SendMessage"], Resource = [var.queue_arn]
    }]
    error_message = "the API role may only SendMessage to the ingest queue"
  }
  assert {
    condition = aws_api_gateway_deployment.this.triggers["redeployment"] == sha1(jsonencode([
      aws_api_gateway_resource.events,
      aws_api_gateway_model.send_request,
      aws_api_gateway_request_validator.body,
      aws_api_gateway_method.post,
      aws_api_gateway_integration.sqs,
      aws_api_gateway_method_response.this,
      aws_api_gateway_integration_response.success,
      aws_api_gateway_integration_response.error,
      aws_api_gateway_gateway_response.this,
    ]))
    error_message = "the redeployment trigger hashes the API's resources themselves (integration with its request parameters and templates, method, model, validator, responses), not a copy of their settings"
  }
  assert {
    condition     = length(aws_api_gateway_account.this) == 0 && length(aws_iam_role.apigw_cloudwatch) == 0 && output.account_cloudwatch_role_arn == null
    error_message = "the account-wide API Gateway CloudWatch role is left alone by default"
  }
  assert {
    condition = (
      !output.logging_enabled && length(aws_cloudwatch_log_group.access) == 0 && output.access_log_group_name == null &&
      length(aws_api_gateway_stage.this.access_log_settings) == 0 &&
      one(aws_api_gateway_method_settings.all.settings).logging_level == "OFF" &&
      one(aws_api_gateway_method_settings.all.settings).metrics_enabled
    )
    error_message = "without a CloudWatch role in the account settings, logging stays off (API Gateway would refuse it); metrics stay on"
  }
  assert {
    condition     = aws_api_gateway_usage_plan.this.throttle_settings[0].rate_limit >= 10000 && aws_api_gateway_usage_plan.this.throttle_settings[0].burst_limit >= 5000
    error_message = "the usage plan default must not be below the account default (10,000 rps, 5,000 burst)"
  }
  assert {
    condition     = length(aws_api_gateway_usage_plan.this.quota_settings) == 0
    error_message = "no quota by default"
  }
  assert {
    condition     = aws_api_gateway_usage_plan_key.this.key_type == "API_KEY"
    error_message = "the key is attached to the usage plan"
  }
  assert {
    condition     = output.events_url == "https://abc123.execute-api.eu-west-1.amazonaws.com/send_messages/events"
    error_message = "events_url is the stage URL + /events"
  }
}

run "logging_with_the_account_role_of_another_stack" {
  command = plan

  module {
    source = "./modules/ingest_api"
  }

  variables {
    logging_enabled = true
  }

  assert {
    condition     = length(aws_api_gateway_account.this) == 0
    error_message = "logging on its own does not touch the account setting"
  }
  assert {
    condition     = aws_api_gateway_stage.this.access_log_settings[0].destination_arn == aws_cloudwatch_log_group.access[0].arn && aws_cloudwatch_log_group.access[0].retention_in_days == 14
    error_message = "access logging to a log group with retention"
  }
  assert {
    condition     = can(jsondecode(aws_api_gateway_stage.this.access_log_settings[0].format).requestId)
    error_message = "access logs are JSON with the request id"
  }
  assert {
    condition     = one(aws_api_gateway_method_settings.all.settings).logging_level == "ERROR" && !one(aws_api_gateway_method_settings.all.settings).data_trace_enabled
    error_message = "execution logs at ERROR, never request bodies"
  }
}

run "managed_account_role" {
  command = plan

  module {
    source = "./modules/ingest_api"
  }

  variables {
    manage_account_cloudwatch_role = true
  }

  assert {
    condition     = length(aws_api_gateway_account.this) == 1 && aws_api_gateway_account.this[0].cloudwatch_role_arn == aws_iam_role.apigw_cloudwatch[0].arn
    error_message = "opting in sets the region's API Gateway CloudWatch role to a role of this stack"
  }
  assert {
    condition     = aws_iam_role_policy_attachment.apigw_cloudwatch[0].policy_arn == "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    error_message = "the role has the managed push-to-CloudWatch policy"
  }
  assert {
    condition     = output.logging_enabled && length(aws_api_gateway_stage.this.access_log_settings) == 1
    error_message = "a stack that sets the role also logs"
  }
}

run "usage_plan_changes_do_not_redeploy" {
  command = plan

  module {
    source = "./modules/ingest_api"
  }

  variables {
    throttle_rate_limit  = 50
    throttle_burst_limit = 10
    quota_limit_per_day  = 1000
    logging_enabled      = true
  }

  assert {
    condition     = aws_api_gateway_usage_plan.this.throttle_settings[0].rate_limit == 50 && aws_api_gateway_usage_plan.this.quota_settings[0].limit == 1000
    error_message = "limits are configurable"
  }
  assert {
    condition     = output.deployment_trigger == run.api_to_sqs.deployment_trigger
    error_message = "usage plan and stage logging are not part of the deployment: changing them must not redeploy"
  }
}

run "integration_changes_redeploy" {
  command = plan

  module {
    source = "./modules/ingest_api"
  }

  variables {
    queue_name = "other-queue"
    queue_arn  = "arn:aws:sqs:eu-west-1:123456789012:other-queue"
  }

  assert {
    condition     = output.deployment_trigger != run.api_to_sqs.deployment_trigger
    error_message = "a changed integration must change the redeployment trigger"
  }
}

run "model_changes_redeploy" {
  command = plan

  module {
    source = "./modules/ingest_api"
  }

  variables {
    schema_path = "tests/fixtures/other-schema.json"
  }

  assert {
    condition     = output.deployment_trigger != run.api_to_sqs.deployment_trigger
    error_message = "a changed request model must change the redeployment trigger"
  }
}

run "validations_reject_bad_values" {
  command = plan

  module {
    source = "./modules/ingest_api"
  }

  variables {
    name_prefix          = "a b"
    api_name             = " "
    stage_name           = "bad/stage"
    schema_path          = "tests/fixtures/bootstrap.zip"
    queue_arn            = "t-queue"
    throttle_rate_limit  = 0
    throttle_burst_limit = 0
    quota_limit_per_day  = 0
    log_retention_days   = 4
  }

  expect_failures = [
    var.name_prefix,
    var.api_name,
    var.stage_name,
    var.schema_path,
    var.queue_arn,
    var.throttle_rate_limit,
    var.throttle_burst_limit,
    var.quota_limit_per_day,
    var.log_retention_days,
  ]
}
