# Unit tests of modules/ingest_api (plan mode, mocked provider, offline).

mock_provider "aws" {
  override_during = plan

  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/t-api" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/apigateway/t" }
  }
  mock_resource "aws_api_gateway_stage" {
    defaults = { invoke_url = "https://abc123.execute-api.eu-west-1.amazonaws.com/send_messages" }
  }
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
    condition     = aws_api_gateway_gateway_response.this["BAD_REQUEST_BODY"].status_code == "400" && strcontains(aws_api_gateway_gateway_response.this["BAD_REQUEST_BODY"].response_templates["application/json"], "validationErrorString")
    error_message = "a schema violation answers 400 with the validation error"
  }
  assert {
    condition = jsondecode(aws_iam_role_policy.api_to_sqs.policy).Statement == [{
      Sid = "SendToIngestQueue", Effect = "Allow", Action = ["sqs:SendMessage"], Resource = [var.queue_arn]
    }]
    error_message = "the API role may only SendMessage to the ingest queue"
  }
  assert {
    condition     = length(aws_api_gateway_deployment.this.triggers["redeployment"]) == 40
    error_message = "the deployment is re-created when the API's inputs change"
  }
  assert {
    condition     = aws_api_gateway_stage.this.access_log_settings[0].destination_arn == aws_cloudwatch_log_group.access.arn && aws_cloudwatch_log_group.access.retention_in_days == 14
    error_message = "access logging to a log group with retention"
  }
  assert {
    condition     = can(jsondecode(aws_api_gateway_stage.this.access_log_settings[0].format).requestId)
    error_message = "access logs are JSON with the request id"
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
  assert {
    condition     = length(aws_api_gateway_account.this) == 1
    error_message = "the account CloudWatch role is managed by default"
  }
}

run "deployment_trigger_follows_inputs" {
  command = plan

  module {
    source = "./modules/ingest_api"
  }

  variables {
    queue_name                     = "other-queue"
    queue_arn                      = "arn:aws:sqs:eu-west-1:123456789012:other-queue"
    throttle_rate_limit            = 50
    throttle_burst_limit           = 10
    quota_limit_per_day            = 1000
    manage_account_cloudwatch_role = false
  }

  assert {
    condition     = aws_api_gateway_deployment.this.triggers["redeployment"] != run.api_to_sqs.deployment_trigger
    error_message = "a changed integration must change the redeployment trigger"
  }
  assert {
    condition     = aws_api_gateway_usage_plan.this.throttle_settings[0].rate_limit == 50 && aws_api_gateway_usage_plan.this.quota_settings[0].limit == 1000
    error_message = "limits are configurable"
  }
  assert {
    condition     = length(aws_api_gateway_account.this) == 0
    error_message = "the account role can be left to another stack"
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
