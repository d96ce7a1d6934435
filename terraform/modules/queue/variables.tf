variable "name_prefix" {
  description = "Prefix of every resource name (e.g. \"sesload\")."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 1-40 characters of letters, digits, '_' or '-'."
  }
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the source queue. AWS requires at least 6 x the poller's timeout plus the batching window, so a batch in flight is never handed to a second poller."
  type        = number

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200 && floor(var.visibility_timeout_seconds) == var.visibility_timeout_seconds
    error_message = "visibility_timeout_seconds must be a whole number between 0 and 43200 (12 h)."
  }

  validation {
    condition     = var.visibility_timeout_seconds >= 6 * var.function_timeout_seconds + var.maximum_batching_window_in_seconds
    error_message = "visibility_timeout_seconds (${var.visibility_timeout_seconds}) must be >= 6 x function_timeout_seconds (${var.function_timeout_seconds}) + maximum_batching_window_in_seconds (${var.maximum_batching_window_in_seconds}) = ${6 * var.function_timeout_seconds + var.maximum_batching_window_in_seconds} (the Lambda/SQS rule), otherwise a batch still being processed becomes visible again and is sent twice."
  }
}

variable "function_timeout_seconds" {
  description = "Timeout of the poller function; only used to check the visibility-timeout rule."
  type        = number

  validation {
    condition     = var.function_timeout_seconds >= 1 && var.function_timeout_seconds <= 900
    error_message = "function_timeout_seconds must be between 1 and 900."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "Batching window of the event source mapping; only used to check the visibility-timeout rule."
  type        = number

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300
    error_message = "maximum_batching_window_in_seconds must be between 0 and 300."
  }
}

variable "max_receive_count" {
  description = "Receives after which a message moves to the DLQ (redrive). At least 5, so throttled messages survive a few retries."
  type        = number
  default     = 10

  validation {
    condition     = var.max_receive_count >= 5 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number between 5 and 1000."
  }
}

variable "message_retention_seconds" {
  description = "How long the source queue keeps a message (60 s to 14 days)."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long the DLQ keeps a message; longer than the source queue so nothing expires before it can be redriven."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
