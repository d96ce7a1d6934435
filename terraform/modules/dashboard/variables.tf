variable "name_prefix" {
  description = "Prefix of every resource name (e.g. \"sesload\")."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 1-40 characters of letters, digits, '_' or '-'."
  }
}

variable "dashboard_name" {
  description = "Name of the CloudWatch dashboard; null = \"<name_prefix>-monitoring\" (the original sample's SES-queue-monitoring would be overwritten by, or overwrite, a deployment of the sample in the same account)."
  type        = string
  default     = null

  validation {
    condition     = var.dashboard_name == null || can(regex("^[A-Za-z0-9_-]{1,255}$", var.dashboard_name))
    error_message = "dashboard_name must be null or 1-255 characters of letters, digits, '_' or '-'."
  }
}

variable "metrics_namespace" {
  description = "Namespace of the poller's EMF metrics."
  type        = string
  default     = "sesload"

  validation {
    condition     = length(var.metrics_namespace) >= 1 && length(var.metrics_namespace) <= 255
    error_message = "metrics_namespace must be 1-255 characters."
  }
}

variable "function_name" {
  description = "Poller Lambda name (the FunctionName dimension of its metrics)."
  type        = string

  validation {
    condition     = length(var.function_name) >= 1 && length(var.function_name) <= 64
    error_message = "function_name must be 1-64 characters."
  }
}

variable "function_timeout_seconds" {
  description = "The poller's timeout: the duration widget draws it and the timeout alarm fires at 95 % of it."
  type        = number
  default     = 30

  validation {
    condition     = var.function_timeout_seconds >= 1 && var.function_timeout_seconds <= 900
    error_message = "function_timeout_seconds must be between 1 and 900."
  }
}

variable "queue_name" {
  description = "Name of the source queue."
  type        = string

  validation {
    condition     = length(var.queue_name) >= 1 && length(var.queue_name) <= 80
    error_message = "queue_name must be 1-80 characters."
  }
}

variable "dlq_name" {
  description = "Name of the dead-letter queue."
  type        = string

  validation {
    condition     = length(var.dlq_name) >= 1 && length(var.dlq_name) <= 80
    error_message = "dlq_name must be 1-80 characters."
  }
}

variable "dlq_alarm_threshold" {
  description = "The DLQ alarm fires when more than this many messages are visible in the DLQ (0 = any)."
  type        = number
  default     = 0

  validation {
    condition     = var.dlq_alarm_threshold >= 0
    error_message = "dlq_alarm_threshold must be at least 0."
  }
}

variable "throttle_ratio_alarm_percent" {
  description = "The throttling alarm fires when emails_throttled / emails_received exceeds this percentage for throttle_alarm_evaluation_minutes minutes."
  type        = number
  default     = 5

  validation {
    condition     = var.throttle_ratio_alarm_percent > 0 && var.throttle_ratio_alarm_percent <= 100
    error_message = "throttle_ratio_alarm_percent must be in (0, 100]."
  }
}

variable "throttle_alarm_evaluation_minutes" {
  description = "Consecutive one-minute periods above the throttle ratio before the alarm fires."
  type        = number
  default     = 3

  validation {
    condition     = var.throttle_alarm_evaluation_minutes >= 1 && var.throttle_alarm_evaluation_minutes <= 60 && floor(var.throttle_alarm_evaluation_minutes) == var.throttle_alarm_evaluation_minutes
    error_message = "throttle_alarm_evaluation_minutes must be a whole number between 1 and 60."
  }
}

variable "oldest_message_age_alarm_seconds" {
  description = "The backlog alarm fires when the oldest message in the source queue is older than this."
  type        = number
  default     = 900

  validation {
    condition     = var.oldest_message_age_alarm_seconds >= 60
    error_message = "oldest_message_age_alarm_seconds must be at least 60."
  }
}

variable "parked_alarm_minutes" {
  description = "The parked alarm fires when emails_parked > 0 in every minute of this many consecutive minutes."
  type        = number
  default     = 15

  validation {
    condition     = var.parked_alarm_minutes >= 1 && var.parked_alarm_minutes <= 1440 && floor(var.parked_alarm_minutes) == var.parked_alarm_minutes
    error_message = "parked_alarm_minutes must be a whole number between 1 and 1440."
  }
}

variable "quota_fetch_failure_alarm_minutes" {
  description = "The GetAccount alarm fires when quota_fetch_failures > 0 in every minute of this many consecutive minutes."
  type        = number
  default     = 5

  validation {
    condition     = var.quota_fetch_failure_alarm_minutes >= 1 && var.quota_fetch_failure_alarm_minutes <= 1440 && floor(var.quota_fetch_failure_alarm_minutes) == var.quota_fetch_failure_alarm_minutes
    error_message = "quota_fetch_failure_alarm_minutes must be a whole number between 1 and 1440."
  }
}

variable "guardrail_enabled" {
  description = "Whether the campaign guardrails are deployed: adds the guardrail widget and the guardrail-pauses alarm."
  type        = bool
  default     = true
}

variable "guard_function_name" {
  description = "Name of the guard Lambda (FunctionName dimension of guardrail_pauses); required when guardrail_enabled."
  type        = string
  default     = null

  validation {
    condition     = !var.guardrail_enabled || try(length(var.guard_function_name) > 0, false)
    error_message = "guard_function_name must name the guard Lambda when guardrail_enabled is true."
  }
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm fires or recovers (e.g. an SNS topic); empty = alarms only show in the console."
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
