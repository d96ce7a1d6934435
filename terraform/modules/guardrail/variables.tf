# The guardrail_* variables and control_table_name, configuration_set_name, metrics_namespace
# are rows of the settings table (crates/core/src/config/settings.rs): same names, types and
# meaning as the root variables and the sesload.toml keys.

variable "name_prefix" {
  description = "Prefix of every resource name (e.g. \"sesload\")."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 1-40 characters of letters, digits, '_' or '-'."
  }
}

variable "package_path" {
  description = "Path of the guard's bootstrap.zip (built by `just build-lambdas`: target/lambda/guard/bootstrap.zip; provided.al2023, arm64)."
  type        = string

  validation {
    condition     = endswith(var.package_path, ".zip") && fileexists(var.package_path)
    error_message = "package_path must name an existing .zip file; run `just build-lambdas` to build target/lambda/guard/bootstrap.zip."
  }
}

variable "function_memory_mb" {
  description = "Guard Lambda memory in MB: it parses JSON events and makes a few DynamoDB calls per batch."
  type        = number
  default     = 128

  validation {
    condition     = var.function_memory_mb >= 128 && var.function_memory_mb <= 10240 && floor(var.function_memory_mb) == var.function_memory_mb
    error_message = "function_memory_mb must be a whole number between 128 and 10240."
  }
}

variable "log_retention_days" {
  description = "Retention of the guard's CloudWatch log group (which also carries its EMF metrics), in days."
  type        = number
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "control_table_name" {
  description = "Control table name (CONTROL_TABLE): campaign states and the guardrails' per-minute buckets."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.control_table_name))
    error_message = "control_table_name must be a DynamoDB table name: 3-255 letters, digits, '_', '-' or '.'."
  }
}

variable "control_table_arn" {
  description = "Control table ARN (IAM scope)."
  type        = string

  validation {
    condition     = can(regex("^arn:[^:]+:dynamodb:[^:]*:[0-9]*:table/", var.control_table_arn))
    error_message = "control_table_arn must be a DynamoDB table ARN (arn:aws:dynamodb:...:table/...)."
  }
}

variable "configuration_set_name" {
  description = "SES configuration set whose Send, Bounce and Complaint events the guard counts (it gets an EventBridge event destination)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.configuration_set_name))
    error_message = "configuration_set_name must be 1-64 letters, digits, '_' or '-'."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the guard's EMF metrics (the poller's and the dashboard's)."
  type        = string

  validation {
    condition     = length(var.metrics_namespace) >= 1 && length(var.metrics_namespace) <= 255
    error_message = "metrics_namespace must be 1-255 characters."
  }
}

variable "guardrail_bounce_rate" {
  description = "A campaign whose hard bounces exceed this share (0, 1] of its sends in the window is paused (GUARDRAIL_BOUNCE_RATE); SES warns an account at 0.05."
  type        = number

  validation {
    condition     = var.guardrail_bounce_rate > 0 && var.guardrail_bounce_rate <= 1
    error_message = "guardrail_bounce_rate must be in (0, 1], e.g. 0.05 for 5 %."
  }
}

variable "guardrail_complaint_rate" {
  description = "A campaign whose complaints exceed this share (0, 1] of its sends in the window is paused (GUARDRAIL_COMPLAINT_RATE); SES warns an account at 0.001."
  type        = number

  validation {
    condition     = var.guardrail_complaint_rate > 0 && var.guardrail_complaint_rate <= 1
    error_message = "guardrail_complaint_rate must be in (0, 1], e.g. 0.001 for 0.1 %."
  }
}

variable "guardrail_min_sends" {
  description = "Sends of a campaign in the window before its rates are judged (GUARDRAIL_MIN_SENDS)."
  type        = number

  validation {
    condition     = var.guardrail_min_sends >= 1 && var.guardrail_min_sends <= 1000000 && floor(var.guardrail_min_sends) == var.guardrail_min_sends
    error_message = "guardrail_min_sends must be a whole number between 1 and 1000000."
  }
}

variable "guardrail_window_minutes" {
  description = "Sliding window of the rates, in minutes of send time (GUARDRAIL_WINDOW_MINUTES)."
  type        = number

  validation {
    condition     = var.guardrail_window_minutes >= 1 && var.guardrail_window_minutes <= 1440 && floor(var.guardrail_window_minutes) == var.guardrail_window_minutes
    error_message = "guardrail_window_minutes must be a whole number between 1 and 1440."
  }
}

variable "event_batch_size" {
  description = "SES events per guard invocation: each batch is one UpdateItem per campaign and minute, and one check per campaign."
  type        = number
  default     = 100

  validation {
    condition     = var.event_batch_size >= 1 && var.event_batch_size <= 10000 && floor(var.event_batch_size) == var.event_batch_size
    error_message = "event_batch_size must be a whole number between 1 and 10000."
  }

  validation {
    condition     = var.event_batch_size <= 10 || var.event_batching_window_seconds >= 1
    error_message = "event_batch_size over 10 needs event_batching_window_seconds >= 1 (an SQS event source rule)."
  }
}

variable "event_batching_window_seconds" {
  description = "How long the guard's event source gathers events before an invocation; with the invocation itself it is the guardrails' reaction time, kept within 60 s."
  type        = number
  default     = 10

  validation {
    condition     = var.event_batching_window_seconds >= 0 && var.event_batching_window_seconds <= 30 && floor(var.event_batching_window_seconds) == var.event_batching_window_seconds
    error_message = "event_batching_window_seconds must be a whole number between 0 and 30, so a guardrail reacts within 60 s."
  }
}

variable "alarm_actions" {
  description = "ARNs notified when the guard DLQ alarm fires or recovers (e.g. an SNS topic); empty = the alarm only shows in the console."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.alarm_actions : can(regex("^arn:", a))])
    error_message = "alarm_actions must be ARNs."
  }
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
