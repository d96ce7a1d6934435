-- email_status: one row per SES message id with its final status.
--
-- Parameters: none (a view cannot take parameters; filter on the campaign column).
-- Reads every partition: the grouping by message id keeps a dt filter from reaching the table. For a
-- bounded read, aggregate email_events under a dt filter as 06_reconciliation does.
-- Columns:
--   message_id          SES message id (mail.messageid)
--   campaign            the message's `campaign` tag (NULL when it has none)
--   unique_code         the message's `unique_code` tag (the request's idempotency key; NULL if absent)
--   recipient           first destination address
--   subject             rendered subject (mail.commonheaders.subject)
--   sent_at             ISO-8601 time SES accepted the message (mail.timestamp)
--   status              final status, most decisive event first (email_events.status_rank):
--                       rendering_failed > rejected > complained > bounced > delivered > delayed > sent
--   send_events ... delay_events   number of events of each type seen for this message id (a value
--                       above 1 means the event was published or stored more than once)
--   delivered_at        ISO-8601 time of the first Delivery event
--   processing_time_ms  delivery.processingtimemillis (SES accept -> remote MTA accept)
--   bounce_type, bounce_subtype, complaint_feedback_type   details of the bounce / complaint
--   failure_message     Rendering Failure error text
CREATE OR REPLACE VIEW email_status AS
SELECT
    message_id,
    arbitrary(campaign) AS campaign,
    arbitrary(unique_code) AS unique_code,
    arbitrary(recipient) AS recipient,
    arbitrary(subject) AS subject,
    min(sent_at) AS sent_at,
    max_by(status, status_rank) AS status,
    count_if(event_type = 'Send') AS send_events,
    count_if(event_type = 'Delivery') AS delivery_events,
    count_if(event_type = 'Bounce') AS bounce_events,
    count_if(event_type = 'Complaint') AS complaint_events,
    count_if(event_type = 'Reject') AS reject_events,
    count_if(event_type = 'Rendering Failure') AS rendering_failure_events,
    count_if(event_type = 'DeliveryDelay') AS delay_events,
    min(delivered_at) AS delivered_at,
    max(processing_time_ms) AS processing_time_ms,
    max(bounce_type) AS bounce_type,
    max(bounce_subtype) AS bounce_subtype,
    max(complaint_feedback_type) AS complaint_feedback_type,
    max(failure_message) AS failure_message
FROM email_events
GROUP BY message_id;
