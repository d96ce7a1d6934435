variable "name_prefix" {
  description = "Prefix of every resource name (e.g. \"sesload\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 1-40 characters of lower-case letters, digits or '-' (it is part of the S3 bucket name)."
  }
}

variable "athena_database_name" {
  description = "Glue/Athena database holding the ses_events table. Lower case, digits and '_' only (a '-' forces quoting in every Athena query)."
  type        = string
  default     = "sesload"

  validation {
    condition     = can(regex("^[a-z0-9_]{1,255}$", var.athena_database_name))
    error_message = "athena_database_name must be 1-255 characters of lower-case letters, digits or '_'."
  }
}

variable "bucket_name" {
  description = "Name of the event bucket; null = \"<name_prefix>-events-<account id>-<region>\"."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 characters of lower-case letters, digits, '.' or '-')."
  }
}

variable "bucket_force_destroy" {
  description = "Let `terraform destroy` delete the event bucket even when it still holds events and query results."
  type        = bool
  default     = false
}

variable "firehose_buffering_size_mb" {
  description = "Firehose buffer size in MB before it writes a Parquet file; record format conversion requires at least 64."
  type        = number
  default     = 128

  validation {
    condition     = var.firehose_buffering_size_mb >= 64 && var.firehose_buffering_size_mb <= 128
    error_message = "firehose_buffering_size_mb must be between 64 and 128 (JSON to Parquet conversion needs at least 64 MB)."
  }
}

variable "firehose_buffering_interval_seconds" {
  description = "Longest time Firehose buffers before writing (60-900 s): how soon events appear in Athena after a run."
  type        = number
  default     = 60

  validation {
    condition     = var.firehose_buffering_interval_seconds >= 0 && var.firehose_buffering_interval_seconds <= 900
    error_message = "firehose_buffering_interval_seconds must be between 0 and 900."
  }
}

variable "athena_results_expiration_days" {
  description = "Days after which Athena query results (temporary) are deleted from the bucket."
  type        = number
  default     = 7

  validation {
    condition     = var.athena_results_expiration_days >= 1 && floor(var.athena_results_expiration_days) == var.athena_results_expiration_days
    error_message = "athena_results_expiration_days must be a whole number of at least 1."
  }
}

variable "events_expiration_days" {
  description = "Days after which event Parquet files are deleted; null keeps them."
  type        = number
  default     = null

  validation {
    condition     = var.events_expiration_days == null || try(var.events_expiration_days >= 1, false)
    error_message = "events_expiration_days must be null or at least 1."
  }
}

variable "athena_bytes_scanned_cutoff" {
  description = "Per-query data-scanned limit of the workgroup, in bytes (guards against a runaway query's cost); at least 10 MB."
  type        = number
  default     = 10737418240

  validation {
    condition     = var.athena_bytes_scanned_cutoff >= 10485760
    error_message = "athena_bytes_scanned_cutoff must be at least 10485760 (10 MB, the Athena minimum)."
  }
}

variable "partition_projection_start" {
  description = "First date (yyyy-MM-dd) of the dt partition projection range; the range ends at NOW. Queries name the days they read (dt BETWEEN ? AND ?), so the start bounds only ad-hoc queries without a dt filter."
  type        = string
  default     = "2025-01-01"

  validation {
    condition     = can(regex("^\\d{4}-\\d{2}-\\d{2}$", var.partition_projection_start)) && can(formatdate("YYYY", "${var.partition_projection_start}T00:00:00Z"))
    error_message = "partition_projection_start must be a date written yyyy-MM-dd."
  }
}

variable "sql_dir" {
  description = "Directory with the saved queries (queries/*.sql, each an Athena named query) and views (views/*.sql, each an Athena view)."
  type        = string

  validation {
    condition     = length(fileset(var.sql_dir, "queries/*.sql")) > 0
    error_message = "sql_dir must contain queries/*.sql (the repository's sql/ directory)."
  }
}

variable "log_retention_days" {
  description = "Retention of the Firehose error log group, in days."
  type        = number
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
