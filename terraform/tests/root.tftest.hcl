# The whole stack: an apply-mode run of the root module against a mocked provider (offline), with
# the shared mock_resource defaults (tests/mocks/aws) for the values the provider validates (ARNs,
# URLs), plus the root variable validations.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  sender_identity     = "example.com"
  poller_package_path = "tests/fixtures/bootstrap.zip"
  seeder_package_path = "tests/fixtures/bootstrap.zip"
  guard_package_path  = "tests/fixtures/bootstrap.zip"
}

run "apply_whole_stack" {
  command = apply

  assert {
    condition     = output.api_key_value == "mock-api-key-value-0123456789"
    error_message = "the API key's value (not its id) is an output"
  }
  assert {
    condition     = output.api_invoke_url == "https://abc123.execute-api.eu-west-1.amazonaws.com/send_messages" && output.api_events_url == "${output.api_invoke_url}/events"
    error_message = "the invoke URL is the stage URL; requests go to /events"
  }
  assert {
    condition = module.poller.environment_variable_names == sort([
      "QUEUE_URL", "DLQ_URL", "CUSTOMERS_TABLE", "LEDGER_TABLE", "CONTROL_TABLE", "IDEMPOTENCY_ENABLED",
      "CLAIM_LEASE_SECONDS", "LEDGER_TTL_DAYS", "ALLOWED_RECIPIENT_DOMAINS", "CONFIGURATION_SET_NAME",
      "TARGET_UTILISATION", "SES_MAX_SEND_RATE_OVERRIDE", "MAXIMUM_CONCURRENCY", "SEND_CONCURRENCY",
      "SEND_API",
      "QUOTA_CACHE_SECONDS", "CUSTOMER_CACHE_CAPACITY", "CUSTOMER_CACHE_TTL_SECONDS",
      "RETRY_BASE_DELAY_SECONDS", "RETRY_MAX_DELAY_SECONDS", "PARK_BASE_DELAY_SECONDS",
      "PARK_MAX_DELAY_SECONDS", "METRICS_NAMESPACE",
    ])
    error_message = "the deployed poller sets exactly the env vars of the settings table"
  }
  assert {
    condition     = output.control_table_name == "sesload-control"
    error_message = "the control table is <name_prefix>-control and is an output"
  }
  assert {
    condition = output.alarm_names == [
      "sesload-dlq-not-empty", "sesload-throttle-ratio", "sesload-oldest-message-age", "sesload-access-denied",
      "sesload-emails-parked", "sesload-quota-fetch-failures", "sesload-poller-timeouts",
      "sesload-guardrail-pauses", "sesload-guard-events-dlq",
    ]
    error_message = "every alarm is named from name_prefix and listed in the outputs"
  }
  assert {
    condition     = output.configuration_set_name == "sesload-config" && output.template_name == "sesload-template"
    error_message = "default names derive from name_prefix (the sample's load-test-config / SimpleEmail would collide with it in one account)"
  }
  assert {
    condition     = output.athena_database_name == "sesload" && output.athena_workgroup_name == "sesload"
    error_message = "Athena database and workgroup"
  }
  assert {
    condition     = output.dashboard_url == "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards:name=sesload-monitoring"
    error_message = "dashboard URL in the deployment region; the name derives from name_prefix"
  }
  assert {
    condition     = output.queue_url == "https://sqs.eu-west-1.amazonaws.com/123456789012/mock-queue" && output.poller_function_name == "sesload-poller"
    error_message = "queue and poller outputs"
  }
  assert {
    condition     = module.ingest_api.account_cloudwatch_role_arn == null && !output.api_logging_enabled
    error_message = "by default the stack leaves the account-wide API Gateway CloudWatch role alone (and so cannot log)"
  }
  assert {
    condition     = output.region == "eu-west-1" && startswith(output.athena_results_location, "s3://") && endswith(output.athena_results_location, "/athena-results/") && length(jsondecode(output.athena_report_policy_json).Statement) > 0
    error_message = "sesload report --athena reads workgroup, database, region and results location from the outputs; the report policy is an output, attached to no one"
  }
  assert {
    condition     = output.poller_batch_capacity.max_send_rate == 14 && output.poller_batch_capacity.max_batch_for_timeout >= 20
    error_message = "at the SES production default (14/s) the default batch fits the default timeout"
  }
}

# The guardrails are on by default: the guard reads the same control table, counts the events of
# the stack's configuration set, and the dashboard alarms on its pauses.
run "guardrails_are_wired_by_default" {
  command = plan

  variables {
    guardrail_bounce_rate = 0.1
  }

  assert {
    condition     = output.guard_function_name == "sesload-guard"
    error_message = "the guard Lambda is deployed by default and is an output"
  }
  assert {
    condition     = module.guardrail[0].environment_variable_names == sort(["CONTROL_TABLE", "METRICS_NAMESPACE", "GUARDRAIL_BOUNCE_RATE", "GUARDRAIL_COMPLAINT_RATE", "GUARDRAIL_MIN_SENDS", "GUARDRAIL_WINDOW_MINUTES"])
    error_message = "the guard sets exactly the env vars of the settings table it reads"
  }
  assert {
    condition     = module.guardrail[0].event_destination_name == "sesload-guardrail" && module.guardrail[0].event_rule_name == "sesload-guardrail-ses-events"
    error_message = "the configuration set's EventBridge destination and rule are named from name_prefix"
  }
}

run "guardrails_off_deploy_nothing_of_them" {
  command = plan

  variables {
    guardrail_enabled = false
  }

  assert {
    condition     = length(module.guardrail) == 0 && output.guard_function_name == null && output.guard_events_queue_url == null
    error_message = "guardrail_enabled = false creates no guard, rule, queue or event destination"
  }
  assert {
    condition     = !contains(output.alarm_names, "sesload-guardrail-pauses") && !contains(output.alarm_names, "sesload-guard-events-dlq")
    error_message = "and no guardrail alarm"
  }
}

run "names_can_be_set" {
  command = plan

  variables {
    name_prefix            = "loadtest2"
    template_name          = "SimpleEmail"
    configuration_set_name = "load-test-config"
    dashboard_name         = "SES-queue-monitoring"
  }

  assert {
    condition     = output.template_name == "SimpleEmail" && output.configuration_set_name == "load-test-config"
    error_message = "the derived names stay overridable"
  }
}

run "prefix_names_the_defaults" {
  command = plan

  variables {
    name_prefix = "loadtest2"
  }

  assert {
    condition     = output.template_name == "loadtest2-template" && output.configuration_set_name == "loadtest2-config"
    error_message = "a second deployment (another name_prefix) gets its own template and configuration set"
  }
}

# The sandbox (1 email/s), maximum_concurrency 2, timeout 30 s, batch 20: one instance sends 0.49/s,
# so a batch takes 40.8 s + 3 s reserve. The check warns and names the values that fit.
run "sandbox_default_batch_does_not_fit_the_timeout" {
  command = plan

  variables {
    ses_max_send_rate_override = 1
  }

  expect_failures = [check.batch_fits_function_timeout]

  assert {
    condition     = output.poller_batch_capacity.max_batch_for_timeout == 13 && output.poller_batch_capacity.min_timeout_for_batch == 44
    error_message = "batch_size <= 13 or function_timeout_seconds >= 44"
  }
}

run "expected_rate_is_used_without_an_override" {
  command = plan

  variables {
    expected_max_send_rate = 1
  }

  expect_failures = [check.batch_fits_function_timeout]
}

run "sandbox_with_the_largest_batch_that_fits" {
  command = plan

  variables {
    ses_max_send_rate_override = 1
    batch_size                 = 13
  }

  assert {
    condition     = output.poller_batch_capacity.batch_drain_seconds + 3 <= 30
    error_message = "13 emails at 0.49/s take 26.5 s + 3 s"
  }
}

run "sandbox_with_the_smallest_timeout_that_fits" {
  command = plan

  variables {
    expected_max_send_rate     = 1
    function_timeout_seconds   = 44
    visibility_timeout_seconds = 265
  }

  assert {
    condition     = output.poller_batch_capacity.min_timeout_for_batch == 44
    error_message = "44 s is the smallest timeout for 20 emails at 0.49/s"
  }
}

run "one_second_less_does_not_fit" {
  command = plan

  variables {
    expected_max_send_rate   = 1
    function_timeout_seconds = 43
  }

  expect_failures = [check.batch_fits_function_timeout]
}

# Raising the timeout (as the check above suggests) without the visibility timeout is refused.
run "visibility_timeout_follows_the_function_timeout" {
  command = plan

  variables {
    function_timeout_seconds = 60 # needs visibility_timeout_seconds >= 6 x 60 + 1 = 361; default 300
  }

  expect_failures = [var.visibility_timeout_seconds]
}

run "root_validations" {
  command = plan

  variables {
    region                 = "moon-1"
    name_prefix            = "Not_Valid"
    sender_identity        = "nobody"
    expected_max_send_rate = 0
  }

  expect_failures = [
    var.region,
    var.name_prefix,
    var.sender_identity,
    var.expected_max_send_rate,
  ]
}

run "guardrail_root_validations" {
  command = plan

  variables {
    guardrail_bounce_rate    = 1.5
    guardrail_complaint_rate = -0.1
    guardrail_min_sends      = 2.5
    guardrail_window_minutes = 0
  }

  expect_failures = [
    var.guardrail_bounce_rate,
    var.guardrail_complaint_rate,
    var.guardrail_min_sends,
    var.guardrail_window_minutes,
  ]
}
