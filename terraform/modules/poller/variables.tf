variable "name_prefix" {
  description = "Prefix of every resource name (e.g. \"sesload\")."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 1-40 characters of letters, digits, '_' or '-'."
  }
}

variable "package_path" {
  description = "Path of the poller's bootstrap.zip (built by `just build-lambdas`: target/lambda/poller/bootstrap.zip; provided.al2023, arm64)."
  type        = string

  validation {
    condition     = endswith(var.package_path, ".zip") && fileexists(var.package_path)
    error_message = "package_path must name an existing .zip file; run `just build-lambdas` to build target/lambda/poller/bootstrap.zip."
  }
}

variable "function_timeout_seconds" {
  description = "Poller Lambda timeout. The queue's visibility timeout must be >= 6 x this + the batching window."
  type        = number
  default     = 30

  validation {
    condition     = var.function_timeout_seconds >= 3 && var.function_timeout_seconds <= 900 && floor(var.function_timeout_seconds) == var.function_timeout_seconds
    error_message = "function_timeout_seconds must be a whole number between 3 and 900."
  }
}

variable "function_memory_mb" {
  description = "Poller Lambda memory in MB. The Rust poller is I/O bound and small; 256 MB is plenty (more memory also buys more CPU)."
  type        = number
  default     = 256

  validation {
    condition     = var.function_memory_mb >= 128 && var.function_memory_mb <= 10240 && floor(var.function_memory_mb) == var.function_memory_mb
    error_message = "function_memory_mb must be a whole number between 128 and 10240."
  }
}

variable "log_retention_days" {
  description = "Retention of the poller's CloudWatch log group (which also carries the EMF metrics), in days."
  type        = number
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "queue_arn" {
  description = "ARN of the source queue the event source mapping reads."
  type        = string

  validation {
    condition     = can(regex("^arn:[^:]+:sqs:", var.queue_arn))
    error_message = "queue_arn must be an SQS queue ARN (arn:aws:sqs:...)."
  }
}

variable "queue_url" {
  description = "URL of the source queue (QUEUE_URL, for ChangeMessageVisibility)."
  type        = string
}

variable "dlq_arn" {
  description = "ARN of the dead-letter queue the poller writes permanent failures to."
  type        = string

  validation {
    condition     = can(regex("^arn:[^:]+:sqs:", var.dlq_arn))
    error_message = "dlq_arn must be an SQS queue ARN (arn:aws:sqs:...)."
  }
}

variable "dlq_url" {
  description = "URL of the dead-letter queue (DLQ_URL)."
  type        = string
}

variable "customers_table_name" {
  description = "Customers table name (CUSTOMERS_TABLE)."
  type        = string
}

variable "customers_table_arn" {
  description = "Customers table ARN (IAM scope)."
  type        = string
}

variable "ledger_table_name" {
  description = "Idempotency ledger table name (LEDGER_TABLE)."
  type        = string
}

variable "ledger_table_arn" {
  description = "Idempotency ledger table ARN (IAM scope)."
  type        = string
}

variable "control_table_name" {
  description = "Control table name (CONTROL_TABLE): the fleet's shared send schedule."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.control_table_name))
    error_message = "control_table_name must be a DynamoDB table name: 3-255 letters, digits, '_', '-' or '.'."
  }
}

variable "control_table_arn" {
  description = "Control table ARN (IAM scope: GetItem, PutItem, UpdateItem)."
  type        = string

  validation {
    condition     = can(regex("^arn:[^:]+:dynamodb:[^:]*:[0-9]*:table/", var.control_table_arn))
    error_message = "control_table_arn must be a DynamoDB table ARN (arn:aws:dynamodb:...:table/NAME)."
  }
}

variable "batch_size" {
  description = "SQS records per invocation (1-10000; above 10 needs a batching window of at least 1 s)."
  type        = number
  default     = 20

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number between 1 and 10000."
  }

  validation {
    condition     = var.batch_size <= 10 || var.maximum_batching_window_in_seconds >= 1
    error_message = "batch_size above 10 needs maximum_batching_window_in_seconds >= 1 (an SQS event source mapping rule)."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "How long the event source mapping gathers records before invoking (0-300 s)."
  type        = number
  default     = 1

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300 && floor(var.maximum_batching_window_in_seconds) == var.maximum_batching_window_in_seconds
    error_message = "maximum_batching_window_in_seconds must be a whole number between 0 and 300."
  }
}

variable "maximum_concurrency" {
  description = "Event source mapping maximum concurrency (2-1000): the number of pollers that send in parallel. Used instead of reserved concurrency, which makes SQS pollers pull batches that Lambda then throttles."
  type        = number
  default     = 2

  validation {
    condition     = var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000 && floor(var.maximum_concurrency) == var.maximum_concurrency
    error_message = "maximum_concurrency must be a whole number between 2 and 1000 (the SQS event source mapping limits)."
  }
}

variable "idempotency_enabled" {
  description = "Claim each unique_code in the ledger before sending so a redelivered message is never sent twice."
  type        = bool
  default     = true
}

variable "claim_lease_seconds" {
  description = "How long a ledger claim protects an in-flight send before another attempt may take it."
  type        = number
  default     = 120

  validation {
    condition     = var.claim_lease_seconds >= 1 && var.claim_lease_seconds <= 43200
    error_message = "claim_lease_seconds must be between 1 and 43200."
  }
}

variable "ledger_ttl_days" {
  description = "Ledger items expire (DynamoDB TTL on expires_at) this many days after the send."
  type        = number
  default     = 7

  validation {
    condition     = var.ledger_ttl_days >= 1 && var.ledger_ttl_days <= 365 && floor(var.ledger_ttl_days) == var.ledger_ttl_days
    error_message = "ledger_ttl_days must be a whole number between 1 and 365."
  }
}

variable "allowed_recipient_domains" {
  description = "Recipient domains the poller may send to. Default: only the SES mailbox simulator, so a load test never mails real people by accident."
  type        = list(string)
  default     = ["simulator.amazonses.com"]

  validation {
    condition     = length(var.allowed_recipient_domains) > 0 && alltrue([for d in var.allowed_recipient_domains : can(regex("^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$", d))])
    error_message = "allowed_recipient_domains must hold at least one domain name such as simulator.amazonses.com (no '@', no commas)."
  }
}

variable "configuration_set_name" {
  description = "SES configuration set used when a request names none (CONFIGURATION_SET_NAME); the only one IAM lets the poller use."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.configuration_set_name))
    error_message = "configuration_set_name must be 1-64 characters of letters, digits, '_' or '-'."
  }
}

variable "template_name" {
  description = "SES template the poller may send with (IAM scope)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.template_name))
    error_message = "template_name must be 1-64 characters of letters, digits, '_' or '-'."
  }
}

variable "sender_identity" {
  description = "Verified SES identity (domain such as example.com, or an email address) the poller sends from; SendEmail is allowed on this identity only."
  type        = string

  validation {
    condition     = can(regex("^([^@\\s]+@)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$", var.sender_identity))
    error_message = "sender_identity must be a domain (example.com) or an email address (sender@example.com)."
  }
}

variable "target_utilisation" {
  description = "Fraction (0, 1] of the account's SES MaxSendRate the whole poller fleet aims for."
  type        = number
  default     = 0.98

  validation {
    condition     = var.target_utilisation > 0 && var.target_utilisation <= 1
    error_message = "target_utilisation must be in (0, 1]."
  }
}

variable "ses_max_send_rate_override" {
  description = "Emails/s to pace to instead of the MaxSendRate that SES GetAccount reports (null = ask SES)."
  type        = number
  default     = null

  validation {
    condition     = var.ses_max_send_rate_override == null || try(var.ses_max_send_rate_override > 0, false)
    error_message = "ses_max_send_rate_override must be null or a positive number of emails per second."
  }
}

variable "send_api" {
  description = "SES operation the poller sends with: single (SendEmail per email) or bulk (SendBulkEmail, up to 50 emails sharing sender, template and configuration set per call)."
  type        = string
  default     = "single"

  validation {
    condition     = contains(["single", "bulk"], var.send_api)
    error_message = "send_api must be \"single\" or \"bulk\"."
  }
}

variable "send_concurrency" {
  description = "Maximum SES send calls (SendEmail or SendBulkEmail) in flight per poller instance."
  type        = number
  default     = 32

  validation {
    condition     = var.send_concurrency >= 1 && var.send_concurrency <= 1024 && floor(var.send_concurrency) == var.send_concurrency
    error_message = "send_concurrency must be a whole number between 1 and 1024."
  }
}

variable "quota_cache_seconds" {
  description = "How long a GetAccount (send quota) answer is reused."
  type        = number
  default     = 300

  validation {
    condition     = var.quota_cache_seconds >= 0 && var.quota_cache_seconds <= 86400
    error_message = "quota_cache_seconds must be between 0 and 86400."
  }
}

variable "customer_cache_capacity" {
  description = "Customers kept in memory across invocations of a warm poller instance."
  type        = number
  default     = 20000

  validation {
    condition     = var.customer_cache_capacity >= 0 && var.customer_cache_capacity <= 10000000 && floor(var.customer_cache_capacity) == var.customer_cache_capacity
    error_message = "customer_cache_capacity must be a whole number between 0 and 10000000."
  }
}

variable "customer_cache_ttl_seconds" {
  description = "How long a cached customer is trusted."
  type        = number
  default     = 300

  validation {
    condition     = var.customer_cache_ttl_seconds >= 0 && var.customer_cache_ttl_seconds <= 86400
    error_message = "customer_cache_ttl_seconds must be between 0 and 86400."
  }
}

variable "retry_base_delay_seconds" {
  description = "Base of the jittered visibility delay given to throttled or transient records."
  type        = number
  default     = 2

  validation {
    condition     = var.retry_base_delay_seconds >= 0 && var.retry_base_delay_seconds <= 43200
    error_message = "retry_base_delay_seconds must be between 0 and 43200."
  }
}

variable "retry_max_delay_seconds" {
  description = "Cap of the retry visibility delay (at most the SQS visibility limit, 43200 s)."
  type        = number
  default     = 300

  validation {
    condition     = var.retry_max_delay_seconds >= var.retry_base_delay_seconds && var.retry_max_delay_seconds <= 43200
    error_message = "retry_max_delay_seconds must be >= retry_base_delay_seconds and <= 43200."
  }
}

variable "park_base_delay_seconds" {
  description = "Base of the delay a parked record waits on the source queue (SQS DelaySeconds), growing with its park count."
  type        = number
  default     = 10

  validation {
    condition     = var.park_base_delay_seconds >= 1 && var.park_base_delay_seconds <= 900 && floor(var.park_base_delay_seconds) == var.park_base_delay_seconds
    error_message = "park_base_delay_seconds must be a whole number between 1 and 900."
  }
}

variable "park_max_delay_seconds" {
  description = "Cap of the park delay: at most 900 s, SQS's largest DelaySeconds."
  type        = number
  default     = 900

  validation {
    condition     = var.park_max_delay_seconds >= var.park_base_delay_seconds && var.park_max_delay_seconds <= 900 && floor(var.park_max_delay_seconds) == var.park_max_delay_seconds
    error_message = "park_max_delay_seconds must be a whole number >= park_base_delay_seconds and <= 900 (SQS's largest DelaySeconds)."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the poller's Embedded Metric Format metrics (the dashboard reads the same)."
  type        = string
  default     = "sesload"

  validation {
    condition     = length(var.metrics_namespace) >= 1 && length(var.metrics_namespace) <= 255
    error_message = "metrics_namespace must be 1-255 characters."
  }
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
