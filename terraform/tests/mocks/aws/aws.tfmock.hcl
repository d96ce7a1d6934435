# The AWS mocks every terraform test shares (mock_provider "aws" { source = "./tests/mocks/aws" }):
# the account and region the data sources answer, and well-formed ARNs/URLs for the resources
# whose computed values other resources consume (the provider validates them). A test file adds
# inline mock_resource blocks only where it asserts a specific value; inline blocks win.

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
  defaults = { arn = "arn:aws:ses:eu-west-1:123456789012:configuration-set/sesload-config" }
}
mock_resource "aws_api_gateway_rest_api" {
  defaults = {
    id               = "abc123"
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
  defaults = { dashboard_arn = "arn:aws:cloudwatch::123456789012:dashboard/sesload-monitoring" }
}
mock_resource "aws_cloudwatch_event_rule" {
  defaults = { arn = "arn:aws:events:eu-west-1:123456789012:rule/mock" }
}
# Fixed ids (instead of random mock values) make the API redeployment hash a function of the
# configuration alone, so runs can compare it (tests/ingest_api.tftest.hcl).
mock_resource "aws_api_gateway_resource" {
  defaults = { id = "res123", path = "/events" }
}
mock_resource "aws_api_gateway_model" {
  defaults = { id = "model123" }
}
mock_resource "aws_api_gateway_request_validator" {
  defaults = { id = "val123" }
}
mock_resource "aws_api_gateway_method" {
  defaults = { id = "agm-abc123-res123-POST" }
}
mock_resource "aws_api_gateway_integration" {
  defaults = { id = "agi-abc123-res123-POST", cache_namespace = "res123" }
}
mock_resource "aws_api_gateway_method_response" {
  defaults = { id = "agmr-abc123-res123-POST" }
}
mock_resource "aws_api_gateway_integration_response" {
  defaults = { id = "agir-abc123-res123-POST" }
}
mock_resource "aws_api_gateway_gateway_response" {
  defaults = { id = "aggr-abc123" }
}
