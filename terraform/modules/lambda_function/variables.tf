variable "function_name" {
  description = "Name of the function; also its execution role's name and, as /aws/lambda/<name>, its log group's."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 characters of letters, digits, '_' or '-' (a Lambda function name that is also an IAM role name)."
  }
}

variable "description" {
  description = "Description of the function (shown in the Lambda console)."
  type        = string

  validation {
    condition     = length(var.description) <= 256
    error_message = "description must be at most 256 characters."
  }
}

variable "package_path" {
  description = "Path of the function's bootstrap.zip (built by `just build-lambdas`: target/lambda/<name>/bootstrap.zip; provided.al2023, arm64)."
  type        = string

  validation {
    condition     = endswith(var.package_path, ".zip") && fileexists(var.package_path)
    error_message = "package_path must name an existing .zip file; run `just build-lambdas` to build target/lambda/<name>/bootstrap.zip."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB (more memory also buys more CPU)."
  type        = number

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number between 128 and 10240."
  }
}

variable "timeout" {
  description = "Timeout of the function in seconds."
  type        = number

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number between 1 and 900."
  }
}

variable "environment" {
  description = "The function's environment variables (exactly what the function reads)."
  type        = map(string)

  validation {
    condition     = length(var.environment) > 0 && alltrue([for k in keys(var.environment) : can(regex("^[A-Za-z][A-Za-z0-9_]*$", k))])
    error_message = "environment must hold at least one variable, each named with a letter followed by letters, digits or '_'."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the function's CloudWatch log group, in days (a value CloudWatch Logs accepts)."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of the values CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "policy_name" {
  description = "Name of the execution role's inline policy."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,128}$", var.policy_name))
    error_message = "policy_name must be 1-128 characters of letters, digits or +=,.@_-."
  }
}

variable "policy_statements" {
  description = "The function's own permissions, in IAM's element names: each statement allows Action on Resource (under Condition, when set). The module adds Effect = \"Allow\" to each and appends the statement that lets the function write to its own log group."
  type = list(object({
    Sid       = string
    Action    = list(string)
    Resource  = list(string)
    Condition = optional(map(map(list(string))))
  }))

  validation {
    condition     = length(var.policy_statements) > 0 && alltrue([for s in var.policy_statements : can(regex("^[A-Za-z0-9]+$", s.Sid)) && length(s.Action) > 0 && length(s.Resource) > 0])
    error_message = "policy_statements must hold at least one statement, each with an alphanumeric Sid, at least one Action and at least one Resource."
  }

  validation {
    condition     = alltrue(flatten([for s in var.policy_statements : [for a in s.Action : can(regex("^[a-z0-9-]+:[A-Za-z0-9]+$", a))]]))
    error_message = "every Action must name one service:Operation, without wildcards."
  }
}

variable "logs_statement_sid" {
  description = "Sid of the statement the module appends to the policy: logs:CreateLogStream and logs:PutLogEvents on the function's log group (its logs and EMF metrics)."
  type        = string
  default     = "WriteOwnLogsAndEmfMetrics"

  validation {
    condition     = can(regex("^[A-Za-z0-9]+$", var.logs_statement_sid))
    error_message = "logs_statement_sid must be alphanumeric."
  }
}

variable "sqs_event_source" {
  description = "The SQS queue that triggers the function (an event source mapping with partial batch responses), or null for a function invoked otherwise."
  type = object({
    queue_arn                          = string
    batch_size                         = number
    maximum_batching_window_in_seconds = number
    maximum_concurrency                = number
  })
  default = null

  validation {
    condition = var.sqs_event_source == null || try(
      can(regex("^arn:[^:]+:sqs:", var.sqs_event_source.queue_arn)) &&
      var.sqs_event_source.batch_size >= 1 && var.sqs_event_source.batch_size <= 10000 &&
      (var.sqs_event_source.batch_size <= 10 || var.sqs_event_source.maximum_batching_window_in_seconds >= 1) &&
      var.sqs_event_source.maximum_batching_window_in_seconds >= 0 && var.sqs_event_source.maximum_batching_window_in_seconds <= 300 &&
      var.sqs_event_source.maximum_concurrency >= 2 && var.sqs_event_source.maximum_concurrency <= 1000,
      false
    )
    error_message = "sqs_event_source needs an SQS queue ARN, batch_size 1-10000 (above 10 with maximum_batching_window_in_seconds >= 1), maximum_batching_window_in_seconds 0-300 and maximum_concurrency 2-1000."
  }
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
