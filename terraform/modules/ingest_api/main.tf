# REST API: POST /<stage>/events -> JSON Schema validation -> SQS SendMessage (direct integration).

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  schema = file(var.schema_path)

  # The body is form-encoded into SendMessage; urlEncode keeps '&', '+', '%' and '=' in the JSON
  # from breaking the form.
  request_template = "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"

  # SQS answers JSON; success returns the message id in the same shape as the local ingest
  # ({"messageId": ...}); anything that is not 2xx is an error, never a "success".
  success_template = "{\"messageId\":\"$input.path('$.SendMessageResponse.SendMessageResult.MessageId')\"}"
  error_template   = "{\"message\":\"the request could not be queued\",\"error\":\"$util.escapeJavaScript($input.path('$.Error.Code'))\"}"

  gateway_responses = {
    # Gateway response templates are not VTL: API Gateway only substitutes $context variables
    # ($util.* would reach the client as literal text), so the validation message is placed
    # inside a JSON string as API Gateway gives it.
    BAD_REQUEST_BODY = {
      status   = "400"
      template = "{\"message\":\"request body does not match the send-request schema: $context.error.validationErrorString\"}"
    }
    UNSUPPORTED_MEDIA_TYPE = {
      status   = "415"
      template = "{\"message\":\"Content-Type must be application/json\"}"
    }
    INVALID_API_KEY = {
      status   = "403"
      template = "{\"message\":\"missing or invalid x-api-key\"}"
    }
    REQUEST_TOO_LARGE = {
      status   = "413"
      template = "{\"message\":\"request body too large\"}"
    }
    THROTTLED = {
      status   = "429"
      template = "{\"message\":\"rate limit exceeded, retry later\"}"
    }
  }

  # Both of the module's roles (API -> SQS, and API Gateway's account-level logging) are assumed by
  # API Gateway.
  apigateway_assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "apigateway.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  integration_uri = "arn:${local.partition}:apigateway:${local.region}:sqs:path/${local.account_id}/${var.queue_name}"
}

resource "aws_api_gateway_rest_api" "this" {
  name           = var.api_name
  description    = "sesload ingest: one request = one email, queued in SQS."
  api_key_source = "HEADER"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_model" "send_request" {
  rest_api_id  = aws_api_gateway_rest_api.this.id
  name         = "SendRequest"
  description  = "schemas/send-request.schema.json (JSON Schema draft-04)"
  content_type = "application/json"
  schema       = local.schema
}

resource "aws_api_gateway_request_validator" "body" {
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  name                        = "validate-body"
  validate_request_body       = true
  validate_request_parameters = true
}

resource "aws_api_gateway_resource" "events" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "events"
}

resource "aws_api_gateway_method" "post" {
  # checkov:skip=CKV2_AWS_53:Request validation is on: request_validator_id validates the body against the SendRequest model.
  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = aws_api_gateway_resource.events.id
  http_method          = "POST"
  authorization        = "NONE"
  api_key_required     = true
  request_validator_id = aws_api_gateway_request_validator.body.id
  request_models = {
    "application/json" = aws_api_gateway_model.send_request.name
  }
}

resource "aws_iam_role" "api_to_sqs" {
  name               = "${var.name_prefix}-api-to-sqs"
  assume_role_policy = local.apigateway_assume_role_policy
  tags               = var.tags
}

resource "aws_iam_role_policy" "api_to_sqs" {
  name = "send-to-queue"
  role = aws_iam_role.api_to_sqs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "SendToIngestQueue"
      Effect   = "Allow"
      Action   = ["sqs:SendMessage"]
      Resource = [var.queue_arn]
    }]
  })
}

resource "aws_api_gateway_integration" "sqs" {
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_resource.events.id
  http_method             = aws_api_gateway_method.post.http_method
  type                    = "AWS"
  integration_http_method = "POST"
  uri                     = local.integration_uri
  credentials             = aws_iam_role.api_to_sqs.arn
  passthrough_behavior    = "NEVER"

  request_parameters = {
    "integration.request.header.Content-Type" = "'application/x-www-form-urlencoded'"
  }

  request_templates = {
    "application/json" = local.request_template
  }
}

resource "aws_api_gateway_method_response" "this" {
  for_each = toset(["200", "500"])

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.events.id
  http_method = aws_api_gateway_method.post.http_method
  status_code = each.key

  response_models = {
    "application/json" = "Empty"
  }
}

# 2xx from SQS -> 200 with the message id. Everything else falls to the default response
# (no selection pattern) -> 500 with the SQS error code.
resource "aws_api_gateway_integration_response" "success" {
  rest_api_id       = aws_api_gateway_rest_api.this.id
  resource_id       = aws_api_gateway_resource.events.id
  http_method       = aws_api_gateway_method.post.http_method
  status_code       = aws_api_gateway_method_response.this["200"].status_code
  selection_pattern = "2\\d{2}"

  response_templates = {
    "application/json" = local.success_template
  }

  depends_on = [aws_api_gateway_integration.sqs]
}

resource "aws_api_gateway_integration_response" "error" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.events.id
  http_method = aws_api_gateway_method.post.http_method
  status_code = aws_api_gateway_method_response.this["500"].status_code

  response_templates = {
    "application/json" = local.error_template
  }

  depends_on = [aws_api_gateway_integration.sqs]
}

resource "aws_api_gateway_gateway_response" "this" {
  for_each = local.gateway_responses

  rest_api_id   = aws_api_gateway_rest_api.this.id
  response_type = each.key
  status_code   = each.value.status

  response_templates = {
    "application/json" = each.value.template
  }
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  description = "sesload ingest"

  # Redeploy when anything the stage serves changes: the hash covers the resources themselves
  # (every argument of the resource path, method, model, validator, integration with its request
  # parameters and templates, method and integration responses, gateway responses), not a copy of
  # their settings that could drift from them. Referencing them also orders the deployment after
  # them.
  triggers = {
    redeployment = sha1(jsonencode([
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
  }

  lifecycle {
    create_before_destroy = true
  }
}

# --- stage, logging ---------------------------------------------------------------------------

# API Gateway writes REST access logs and execution logs through ONE role per account and region
# (account settings, cloudWatchRoleArn); it refuses to enable either without it. That setting is
# account-wide: managing it here would overwrite a role another stack set, and `terraform destroy`
# would leave it pointing at a deleted role. So it is opt-in (manage_account_cloudwatch_role), and
# logging is on only when asked for (logging_enabled) or when this stack sets the role.
locals {
  logging_enabled = var.logging_enabled || var.manage_account_cloudwatch_role
}

resource "aws_iam_role" "apigw_cloudwatch" {
  count = var.manage_account_cloudwatch_role ? 1 : 0

  name               = "${var.name_prefix}-apigw-cloudwatch"
  assume_role_policy = local.apigateway_assume_role_policy
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "apigw_cloudwatch" {
  count = var.manage_account_cloudwatch_role ? 1 : 0

  role       = aws_iam_role.apigw_cloudwatch[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_account_cloudwatch_role ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.apigw_cloudwatch[0].arn

  depends_on = [aws_iam_role_policy_attachment.apigw_cloudwatch]
}

resource "aws_cloudwatch_log_group" "access" {
  # checkov:skip=CKV_AWS_158:Encrypted by CloudWatch Logs' default service key; access logs hold request ids, status and latency, no bodies.
  # checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (default 14 days): load-test access logs.
  count = local.logging_enabled ? 1 : 0

  name              = "/aws/apigateway/${var.api_name}/${var.stage_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_api_gateway_stage" "this" {
  # checkov:skip=CKV_AWS_73:X-Ray on every ingest request adds cost and latency to a load test; access logs and metrics cover it.
  # checkov:skip=CKV_AWS_76:Access logging is on when logging_enabled (or manage_account_cloudwatch_role) is set; API Gateway refuses it in a region whose account has no CloudWatch role, so it cannot be on by default.
  # checkov:skip=CKV_AWS_120:Every request is a unique POST; a cache would never hit.
  # checkov:skip=CKV2_AWS_29:WAF would bill every load-test request and could block a test; the API requires an API key and a usage plan throttles it.
  # checkov:skip=CKV2_AWS_51:Client certificates authenticate API Gateway to HTTP backends; the backend here is SQS, called with IAM.
  # checkov:skip=CKV2_AWS_4:The method settings log at ERROR when logging_enabled (or manage_account_cloudwatch_role) is set; without the account's CloudWatch role API Gateway refuses any logging level but OFF.
  rest_api_id   = aws_api_gateway_rest_api.this.id
  deployment_id = aws_api_gateway_deployment.this.id
  stage_name    = var.stage_name

  dynamic "access_log_settings" {
    for_each = aws_cloudwatch_log_group.access
    content {
      destination_arn = access_log_settings.value.arn
      format = jsonencode({
        requestId          = "$context.requestId"
        extendedRequestId  = "$context.extendedRequestId"
        ip                 = "$context.identity.sourceIp"
        requestTime        = "$context.requestTimeEpoch"
        httpMethod         = "$context.httpMethod"
        resourcePath       = "$context.resourcePath"
        status             = "$context.status"
        responseLength     = "$context.responseLength"
        responseLatency    = "$context.responseLatency"
        integrationStatus  = "$context.integration.status"
        integrationLatency = "$context.integration.latency"
        errorMessage       = "$context.error.message"
        apiKeyId           = "$context.identity.apiKeyId"
      })
    }
  }

  tags = var.tags

  depends_on = [aws_api_gateway_account.this]
}

resource "aws_api_gateway_method_settings" "all" {
  # checkov:skip=CKV_AWS_225:Caching is useless for unique POSTs (see the stage).
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled      = true
    logging_level        = local.logging_enabled ? "ERROR" : "OFF"
    data_trace_enabled   = false
    caching_enabled      = false
    cache_data_encrypted = true
  }
}

# --- key and usage plan -------------------------------------------------------------------------

resource "aws_api_gateway_api_key" "this" {
  name    = "${var.name_prefix}-load-test"
  enabled = true
  tags    = var.tags
}

resource "aws_api_gateway_usage_plan" "this" {
  name        = "${var.name_prefix}-load-test"
  description = "Throttle for the load-test key (defaults = the account default, never lower unless asked)."

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.this.stage_name
  }

  throttle_settings {
    rate_limit  = var.throttle_rate_limit
    burst_limit = var.throttle_burst_limit
  }

  dynamic "quota_settings" {
    for_each = var.quota_limit_per_day == null ? [] : [var.quota_limit_per_day]
    content {
      limit  = quota_settings.value
      period = "DAY"
    }
  }

  tags = var.tags
}

resource "aws_api_gateway_usage_plan_key" "this" {
  key_id        = aws_api_gateway_api_key.this.id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this.id
}
