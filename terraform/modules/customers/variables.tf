variable "name_prefix" {
  description = "Prefix of every resource name (e.g. \"sesload\")."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 1-40 characters of letters, digits, '_' or '-'."
  }
}

variable "customer_count" {
  description = "Customers the seeder Lambda writes (user_id 1..N) when Terraform invokes it; 0 skips seeding."
  type        = number
  default     = 10000

  validation {
    condition     = var.customer_count >= 0 && var.customer_count <= 1000000 && floor(var.customer_count) == var.customer_count
    error_message = "customer_count must be a whole number between 0 and 1000000."
  }
}

variable "seeder_package_path" {
  description = "Path of the seeder's bootstrap.zip (built by `just build-lambdas`: target/lambda/seeder/bootstrap.zip)."
  type        = string

  validation {
    condition     = endswith(var.seeder_package_path, ".zip") && fileexists(var.seeder_package_path)
    error_message = "seeder_package_path must name an existing .zip file; run `just build-lambdas` to build target/lambda/seeder/bootstrap.zip."
  }
}

variable "seeder_timeout_seconds" {
  description = "Timeout of the seeder function (it batch-writes customer_count items once)."
  type        = number
  default     = 300

  validation {
    condition     = var.seeder_timeout_seconds >= 10 && var.seeder_timeout_seconds <= 900
    error_message = "seeder_timeout_seconds must be between 10 and 900."
  }
}

variable "log_retention_days" {
  description = "Retention of the seeder's CloudWatch log group, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "deletion_protection_enabled" {
  description = "Protect the DynamoDB tables (customers, ledger, control) against deletion (turn off before `terraform destroy`)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
