-- email_status: one row per SES message id with its final status.
--
-- Parameters: none (a view cannot take parameters; filter on the campaign column).
-- Columns:
--   message_id          SES message id (mail.messageid)
--   campaign            the message's `campaign` tag (NULL when it has none)
--   unique_code         the message's `unique_code` tag (the request's idempotency key; NULL if absent)
--   recipient           first destination address
--   subject             rendered subject (mail.commonheaders.subject)
--   sent_at             ISO-8601 time SES accepted the message (mail.timestamp)
--   status              final status, most decisive event first:
--                       rendering_failed > rejected > complained > bounced > delivered > delayed > sent
--   send_events ... delay_events   number of events of each type seen for this message id (a value
--                       above 1 means the event was published or stored more than once)
--   delivered_at        ISO-8601 time of the first Delivery event
--   processing_time_ms  delivery.processingtimemillis (SES accept -> remote MTA accept)
--   bounce_type, bounce_subtype, complaint_feedback_type   details of the bounce / complaint
--   failure_message     Rendering Failure error text
-- Tags are read with element_at: it returns NULL for a missing key, where the subscript operator
-- (mail.tags['campaign']) fails the whole query in Athena.
CREATE OR REPLACE VIEW email_status AS
WITH ev AS (
    SELECT
        eventtype,
        mail.messageid AS message_id,
        element_at(element_at(mail.tags, 'campaign'), 1) AS campaign,
        element_at(element_at(mail.tags, 'unique_code'), 1) AS unique_code,
        element_at(mail.destination, 1) AS recipient,
        mail.commonheaders.subject,
        mail.timestamp AS mail_timestamp,
        delivery.timestamp AS delivery_timestamp,
        delivery.processingtimemillis AS processing_time_ms,
        bounce.bouncetype AS bounce_type,
        bounce.bouncesubtype AS bounce_subtype,
        complaint.complaintfeedbacktype AS complaint_feedback_type,
        failure.errormessage AS failure_message
    FROM ses_events_recent
)

SELECT
    message_id,
    arbitrary(campaign) AS campaign,
    arbitrary(unique_code) AS unique_code,
    arbitrary(recipient) AS recipient,
    arbitrary(subject) AS subject,
    min(mail_timestamp) AS sent_at,
    CASE
        WHEN count_if(eventtype = 'Rendering Failure') > 0 THEN 'rendering_failed'
        WHEN count_if(eventtype = 'Reject') > 0 THEN 'rejected'
        WHEN count_if(eventtype = 'Complaint') > 0 THEN 'complained'
        WHEN count_if(eventtype = 'Bounce') > 0 THEN 'bounced'
        WHEN count_if(eventtype = 'Delivery') > 0 THEN 'delivered'
        WHEN count_if(eventtype = 'DeliveryDelay') > 0 THEN 'delayed'
        ELSE 'sent'
    END AS status,
    count_if(eventtype = 'Send') AS send_events,
    count_if(eventtype = 'Delivery') AS delivery_events,
    count_if(eventtype = 'Bounce') AS bounce_events,
    count_if(eventtype = 'Complaint') AS complaint_events,
    count_if(eventtype = 'Reject') AS reject_events,
    count_if(eventtype = 'Rendering Failure') AS rendering_failure_events,
    count_if(eventtype = 'DeliveryDelay') AS delay_events,
    min(delivery_timestamp) AS delivered_at,
    max(processing_time_ms) AS processing_time_ms,
    max(bounce_type) AS bounce_type,
    max(bounce_subtype) AS bounce_subtype,
    max(complaint_feedback_type) AS complaint_feedback_type,
    max(failure_message) AS failure_message
FROM ev
GROUP BY message_id;
