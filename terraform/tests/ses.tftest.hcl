# Unit tests of modules/ses (plan mode, mocked provider, offline).

mock_provider "aws" {
  source          = "./tests/mocks/aws"
  override_during = plan
}

variables {
  name_prefix  = "t"
  firehose_arn = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/t-ses-events"
}

run "template_configuration_set_and_destination" {
  command = plan

  module {
    source = "./modules/ses"
  }

  assert {
    condition     = aws_ses_template.this.name == "t-template"
    error_message = "the template's default name derives from name_prefix (not the sample's SimpleEmail)"
  }
  assert {
    condition = alltrue([for part in [aws_ses_template.this.subject, aws_ses_template.this.html, aws_ses_template.this.text] : strcontains(part, "{{first_name}}")]) && (
      strcontains(aws_ses_template.this.html, "{{unique_code}}") && strcontains(aws_ses_template.this.text, "{{unique_code}}")
    )
    error_message = "the template personalises with {{first_name}} and carries {{unique_code}}"
  }
  assert {
    condition     = length(aws_sesv2_configuration_set.this) == 1 && aws_sesv2_configuration_set.this[0].configuration_set_name == "t-config"
    error_message = "a new configuration set <prefix>-config is created by default (not the sample's load-test-config)"
  }
  assert {
    condition     = aws_sesv2_configuration_set_event_destination.firehose.event_destination[0].enabled == true
    error_message = "the event destination must be enabled (the provider default is false)"
  }
  assert {
    condition     = toset(aws_sesv2_configuration_set_event_destination.firehose.event_destination[0].matching_event_types) == toset(["SEND", "REJECT", "BOUNCE", "COMPLAINT", "DELIVERY", "OPEN", "CLICK", "RENDERING_FAILURE", "DELIVERY_DELAY"])
    error_message = "every event type the ses_events table has columns for is published, OPEN and CLICK included"
  }
  assert {
    condition     = aws_sesv2_configuration_set_event_destination.firehose.event_destination[0].kinesis_firehose_destination[0].delivery_stream_arn == var.firehose_arn
    error_message = "events go to the Firehose stream"
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.ses_to_firehose.policy).Statement[0].Resource == [var.firehose_arn]
    error_message = "the SES role may put records into this stream only"
  }
  assert {
    condition = (
      jsondecode(aws_iam_role.ses_to_firehose.assume_role_policy).Statement[0].Principal.Service == "ses.amazonaws.com" &&
      jsondecode(aws_iam_role.ses_to_firehose.assume_role_policy).Statement[0].Condition.ArnLike["aws:SourceArn"] == "arn:aws:ses:eu-west-1:123456789012:configuration-set/t-config"
    )
    error_message = "only SES, on behalf of this configuration set, may assume the role"
  }
}

run "names_can_be_set" {
  command = plan

  module {
    source = "./modules/ses"
  }

  variables {
    template_name          = "SimpleEmail"
    configuration_set_name = "load-test-config"
  }

  assert {
    condition     = aws_ses_template.this.name == "SimpleEmail" && aws_sesv2_configuration_set.this[0].configuration_set_name == "load-test-config" && output.configuration_set_name == "load-test-config"
    error_message = "explicit names override the derived ones"
  }
}

run "existing_configuration_set" {
  command = plan

  module {
    source = "./modules/ses"
  }

  variables {
    create_configuration_set = false
    configuration_set_name   = "already-there"
  }

  assert {
    condition     = length(aws_sesv2_configuration_set.this) == 0
    error_message = "an existing configuration set is not created"
  }
  assert {
    condition     = aws_sesv2_configuration_set_event_destination.firehose.configuration_set_name == "already-there"
    error_message = "the destination is added to the existing set"
  }
}

run "validations_reject_bad_values" {
  command = plan

  module {
    source = "./modules/ses"
  }

  variables {
    name_prefix            = "a b"
    configuration_set_name = "has space"
    template_name          = "x/y"
    template_subject       = " "
    template_html          = "<p>no code</p>"
    template_text          = "no code"
    firehose_arn           = "arn:aws:s3:::bucket"
    event_types            = ["OPENED"]
  }

  expect_failures = [
    var.name_prefix,
    var.configuration_set_name,
    var.template_name,
    var.template_subject,
    var.template_html,
    var.template_text,
    var.firehose_arn,
    var.event_types,
  ]
}
