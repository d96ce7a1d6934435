# The whole stack: an apply-mode run of the root module against a mocked provider (offline), with
# mock_resource defaults for the values the provider validates (ARNs, URLs), plus the root
# variable validations.

mock_provider "aws" {
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
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:mock-queue"
      url = "https://sqs.eu-west-1.amazonaws.com/123456789012/mock-queue"
    }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/mock" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:mock" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mock" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::mock-bucket" }
  }
  mock_resource "aws_kinesis_firehose_delivery_stream" {
    defaults = { arn = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/mock" }
  }
  mock_resource "aws_sesv2_configuration_set" {
    defaults = { arn = "arn:aws:ses:eu-west-1:123456789012:configuration-set/load-test-config" }
  }
  mock_resource "aws_api_gateway_rest_api" {
    defaults = {
      arn              = "arn:aws:apigateway:eu-west-1::/restapis/abc123"
      root_resource_id = "root123"
      execution_arn    = "arn:aws:execute-api:eu-west-1:123456789012:abc123"
    }
  }
  mock_resource "aws_api_gateway_stage" {
    defaults = {
      arn           = "arn:aws:apigateway:eu-west-1::/restapis/abc123/stages/send_messages"
      invoke_url    = "https://abc123.execute-api.eu-west-1.amazonaws.com/send_messages"
      execution_arn = "arn:aws:execute-api:eu-west-1:123456789012:abc123/send_messages"
    }
  }
  mock_resource "aws_api_gateway_api_key" {
    defaults = { value = "mock-api-key-value-0123456789", arn = "arn:aws:apigateway:eu-west-1::/apikeys/key123" }
  }
  mock_resource "aws_cloudwatch_metric_alarm" {
    defaults = { arn = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:mock" }
  }
  mock_resource "aws_cloudwatch_dashboard" {
    defaults = { dashboard_arn = "arn:aws:cloudwatch::123456789012:dashboard/SES-queue-monitoring" }
  }
}

variables {
  sender_identity     = "example.com"
  poller_package_path = "tests/fixtures/bootstrap.zip"
  seeder_package_path = "tests/fixtures/bootstrap.zip"
}

run "apply_whole_stack" {
  command = apply

  assert {
    condition     = output.api_key_value == "mock-api-key-value-0123456789"
    error_message = "the API key's value (not its id) is an output"
  }
  assert {
    condition     = output.api_invoke_url == "https://abc123.execute-api.eu-west-1.amazonaws.com/send_messages" && output.api_events_url == "${output.api_invoke_url}/events"
    error_message = "the invoke URL is the stage URL; requests go to /events"
  }
  assert {
    condition = module.poller.environment_variable_names == sort([
      "QUEUE_URL", "DLQ_URL", "CUSTOMERS_TABLE", "LEDGER_TABLE", "IDEMPOTENCY_ENABLED",
      "CLAIM_LEASE_SECONDS", "LEDGER_TTL_DAYS", "ALLOWED_RECIPIENT_DOMAINS", "DEFAULT_CONFIGURATION_SET",
      "TARGET_UTILISATION", "SES_MAX_SEND_RATE_OVERRIDE", "MAXIMUM_CONCURRENCY", "SEND_CONCURRENCY",
      "QUOTA_CACHE_SECONDS", "CUSTOMER_CACHE_CAPACITY", "CUSTOMER_CACHE_TTL_SECONDS",
      "RETRY_BASE_DELAY_SECONDS", "RETRY_MAX_DELAY_SECONDS", "METRICS_NAMESPACE",
    ])
    error_message = "the deployed poller sets exactly the Rust ENV_VARS"
  }
  assert {
    condition     = output.configuration_set_name == "load-test-config" && output.template_name == "SimpleEmail"
    error_message = "seed defaults: configuration set load-test-config, template SimpleEmail"
  }
  assert {
    condition     = output.athena_database_name == "sesload" && output.athena_workgroup_name == "sesload"
    error_message = "Athena database and workgroup"
  }
  assert {
    condition     = output.dashboard_url == "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards:name=SES-queue-monitoring"
    error_message = "dashboard URL in the deployment region"
  }
  assert {
    condition     = output.queue_url == "https://sqs.eu-west-1.amazonaws.com/123456789012/mock-queue" && output.poller_function_name == "sesload-poller"
    error_message = "queue and poller outputs"
  }
}

run "root_validations" {
  command = plan

  variables {
    region          = "moon-1"
    name_prefix     = "Not_Valid"
    sender_identity = "nobody"
  }

  expect_failures = [
    var.region,
    var.name_prefix,
    var.sender_identity,
  ]
}
