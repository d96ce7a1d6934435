variable "name_prefix" {
  description = "Prefix of every resource name (e.g. \"sesload\")."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 1-40 characters of letters, digits, '_' or '-'."
  }
}

variable "api_name" {
  description = "Name of the REST API."
  type        = string
  default     = "ses-endpoint-queue"

  validation {
    condition     = length(trimspace(var.api_name)) >= 1 && length(var.api_name) <= 1024
    error_message = "api_name must be 1-1024 characters and not blank."
  }
}

variable "stage_name" {
  description = "Stage of the API (the seed's send_messages; requests go to POST /<stage>/events)."
  type        = string
  default     = "send_messages"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.stage_name))
    error_message = "stage_name must be 1-128 characters of letters, digits, '_' or '-'."
  }
}

variable "schema_path" {
  description = "Path of the JSON Schema (draft-04) of the request body: the same file the local ingest and the poller validate with."
  type        = string

  validation {
    condition     = fileexists(var.schema_path) && can(jsondecode(file(var.schema_path)))
    error_message = "schema_path must name an existing JSON file (schemas/send-request.schema.json)."
  }
}

variable "queue_name" {
  description = "Name of the SQS queue requests are sent to."
  type        = string
}

variable "queue_arn" {
  description = "ARN of that queue (scopes the API's role to sqs:SendMessage on it)."
  type        = string

  validation {
    condition     = can(regex("^arn:[^:]+:sqs:", var.queue_arn))
    error_message = "queue_arn must be an SQS queue ARN (arn:aws:sqs:...)."
  }
}

variable "throttle_rate_limit" {
  description = "Usage plan steady-state rate, requests/s. Default = the account default (10,000), so the API never caps a load test below what the account allows."
  type        = number
  default     = 10000

  validation {
    condition     = var.throttle_rate_limit >= 1
    error_message = "throttle_rate_limit must be at least 1 request/s."
  }
}

variable "throttle_burst_limit" {
  description = "Usage plan burst, requests. Default = the account default (5,000)."
  type        = number
  default     = 5000

  validation {
    condition     = var.throttle_burst_limit >= 1 && floor(var.throttle_burst_limit) == var.throttle_burst_limit
    error_message = "throttle_burst_limit must be a whole number of at least 1."
  }
}

variable "quota_limit_per_day" {
  description = "Requests per day the API key may make; null = no quota."
  type        = number
  default     = null

  validation {
    condition     = var.quota_limit_per_day == null || try(var.quota_limit_per_day >= 1, false)
    error_message = "quota_limit_per_day must be null or at least 1."
  }
}

variable "log_retention_days" {
  description = "Retention of the API access log group, in days."
  type        = number
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "manage_account_cloudwatch_role" {
  description = "Create a role and set it as the region's API Gateway account CloudWatch Logs role (aws_api_gateway_account). Off by default: the setting is account-wide, so it would replace a role another stack set, and after `terraform destroy` it still names the deleted role. Turning it on also turns logging on."
  type        = bool
  default     = false
}

variable "logging_enabled" {
  description = "Turn on the stage's JSON access logs and ERROR-level execution logs. API Gateway refuses both unless the region's account settings name a CloudWatch Logs role: one the account already has (aws apigateway get-account), or the one manage_account_cloudwatch_role sets."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
