variable "name_prefix" {
  description = "Prefix of every resource name (e.g. \"sesload\")."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 1-40 characters of letters, digits, '_' or '-'."
  }
}

variable "configuration_set_name" {
  description = "SES configuration set that publishes the events (created when create_configuration_set, else an existing one); null = \"<name_prefix>-config\", so two deployments (or this and the original sample's load-test-config) never share one."
  type        = string
  default     = null

  validation {
    condition     = var.configuration_set_name == null || can(regex("^[A-Za-z0-9_-]{1,64}$", var.configuration_set_name))
    error_message = "configuration_set_name must be null or 1-64 characters of letters, digits, '_' or '-'."
  }
}

variable "create_configuration_set" {
  description = "Create the configuration set (true) or add the event destination to an existing one of that name (false)."
  type        = bool
  default     = true
}

variable "template_name" {
  description = "Name of the SES template the load test sends; null = \"<name_prefix>-template\" (the original sample's SimpleEmail would collide with a deployment of the sample in the same account)."
  type        = string
  default     = null

  validation {
    condition     = var.template_name == null || can(regex("^[A-Za-z0-9_-]{1,64}$", var.template_name))
    error_message = "template_name must be null or 1-64 characters of letters, digits, '_' or '-'."
  }
}

variable "template_subject" {
  description = "Subject of the template (Handlebars: {{first_name}}, {{unique_code}})."
  type        = string
  default     = "Hello {{first_name}}"

  validation {
    condition     = length(trimspace(var.template_subject)) > 0
    error_message = "template_subject must not be empty."
  }
}

variable "template_html" {
  description = "HTML body of the template (Handlebars: {{first_name}}, {{unique_code}})."
  type        = string
  default     = "<html><body><h1>Hello {{first_name}},</h1><p>This is a load-testing email sent through Amazon SES.</p><p>Unique code: {{unique_code}}</p></body></html>"

  validation {
    condition     = strcontains(var.template_html, "{{unique_code}}")
    error_message = "template_html must contain {{unique_code}} so every email can be traced back to its request."
  }
}

variable "template_text" {
  description = "Plain-text body of the template (Handlebars: {{first_name}}, {{unique_code}})."
  type        = string
  default     = "Hello {{first_name}},\r\nThis is a load-testing email sent through Amazon SES.\r\nUnique code: {{unique_code}}"

  validation {
    condition     = strcontains(var.template_text, "{{unique_code}}")
    error_message = "template_text must contain {{unique_code}} so every email can be traced back to its request."
  }
}

variable "firehose_arn" {
  description = "ARN of the Firehose delivery stream (DirectPut) that receives the events."
  type        = string

  validation {
    condition     = can(regex("^arn:[^:]+:firehose:", var.firehose_arn))
    error_message = "firehose_arn must be a Firehose delivery stream ARN (arn:aws:firehose:...)."
  }
}

variable "event_types" {
  description = "SES event types published to Firehose: every type the ses_events table has columns for (OPEN and CLICK need open/click tracking, which SES does for HTML emails by default)."
  type        = list(string)
  default     = ["SEND", "REJECT", "BOUNCE", "COMPLAINT", "DELIVERY", "OPEN", "CLICK", "RENDERING_FAILURE", "DELIVERY_DELAY"]

  validation {
    condition     = length(var.event_types) > 0 && alltrue([for t in var.event_types : contains(["SEND", "REJECT", "BOUNCE", "COMPLAINT", "DELIVERY", "OPEN", "CLICK", "RENDERING_FAILURE", "DELIVERY_DELAY", "SUBSCRIPTION"], t)])
    error_message = "event_types must be a non-empty list of SEND, REJECT, BOUNCE, COMPLAINT, DELIVERY, OPEN, CLICK, RENDERING_FAILURE, DELIVERY_DELAY, SUBSCRIPTION."
  }
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
