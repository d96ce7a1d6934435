-- email_events: one row per SES event with the names the reports use, and its dt/hour partition.
--
-- Parameters: none (a view cannot take parameters). Filter on campaign and dt: a dt filter on this
-- view reaches the table's partitions (the view neither groups nor joins), so
-- `WHERE campaign = 'run1' AND dt BETWEEN '2026-11-27' AND '2026-11-28'` reads only those days.
-- Columns:
--   message_id          SES message id (mail.messageid)
--   campaign            the message's `campaign` tag (NULL when it has none)
--   unique_code         the message's `unique_code` tag (the request's idempotency key; NULL if absent)
--   recipient           first destination address
--   subject             rendered subject (mail.commonheaders.subject)
--   event_type          Send | Delivery | Bounce | Complaint | Reject | Rendering Failure | DeliveryDelay
--                       | Open | Click
--   sent_at             ISO-8601 time SES accepted the message (mail.timestamp)
--   delivered_at        ISO-8601 time of a Delivery event (NULL for other events)
--   processing_time_ms  delivery.processingtimemillis (SES accept -> remote MTA accept)
--   bounce_type, bounce_subtype, complaint_feedback_type   details of a bounce / complaint
--   failure_message     Rendering Failure error text
--   status              what the event says about its message: rendering_failed, rejected,
--                       complained, bounced, delivered, delayed, or sent (Send, Open, Click)
--   status_rank         how decisive that status is (7 = rendering_failed ... 1 = sent): a message's
--                       final status is max_by(status, status_rank) over its events
--   dt, hour            the partition (UTC arrival date and hour at Firehose)
-- Tags are read with element_at: it returns NULL for a missing key, where the subscript operator
-- (mail.tags['campaign']) fails the whole query in Athena.
CREATE OR REPLACE VIEW email_events AS
SELECT
    mail.messageid AS message_id,
    element_at(element_at(mail.tags, 'campaign'), 1) AS campaign,
    element_at(element_at(mail.tags, 'unique_code'), 1) AS unique_code,
    element_at(mail.destination, 1) AS recipient,
    mail.commonheaders.subject,
    eventtype AS event_type,
    mail.timestamp AS sent_at,
    delivery.timestamp AS delivered_at,
    delivery.processingtimemillis AS processing_time_ms,
    bounce.bouncetype AS bounce_type,
    bounce.bouncesubtype AS bounce_subtype,
    complaint.complaintfeedbacktype AS complaint_feedback_type,
    failure.errormessage AS failure_message,
    CASE eventtype
        WHEN 'Rendering Failure' THEN 'rendering_failed'
        WHEN 'Reject' THEN 'rejected'
        WHEN 'Complaint' THEN 'complained'
        WHEN 'Bounce' THEN 'bounced'
        WHEN 'Delivery' THEN 'delivered'
        WHEN 'DeliveryDelay' THEN 'delayed'
        ELSE 'sent'
    END AS status,
    CASE eventtype
        WHEN 'Rendering Failure' THEN 7
        WHEN 'Reject' THEN 6
        WHEN 'Complaint' THEN 5
        WHEN 'Bounce' THEN 4
        WHEN 'Delivery' THEN 3
        WHEN 'DeliveryDelay' THEN 2
        ELSE 1
    END AS status_rank,
    dt,
    hour
FROM ses_events;
