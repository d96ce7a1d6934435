-- 05 bounces and complaints by recipient and subtype.
--
-- Parameters: ? = the campaign, then ? and ? = the first and last dt partition to read
--             (yyyy-MM-dd, the UTC day the events reached Firehose), in this order.
-- The poller sends one recipient per message, so the message's destination is the bounced or
-- complaining recipient (mail.destination is unnested, which works the same in Athena and DuckDB).
-- Columns:
--   recipient                address
--   event_type               Bounce | Complaint
--   bounce_type              Permanent | Transient | Undetermined ('' for complaints)
--   bounce_subtype           General, NoEmail, Suppressed, OnAccountSuppressionList, ... ('' for complaints)
--   complaint_feedback_type  abuse, fraud, ... ('' for bounces or when the report has none)
--   events                   events of that kind
--   messages                 distinct message ids among them
WITH ev AS (
    SELECT
        eventtype,
        mail.messageid AS message_id,
        mail.destination,
        coalesce(bounce.bouncetype, '') AS bounce_type,
        coalesce(bounce.bouncesubtype, '') AS bounce_subtype,
        coalesce(complaint.complaintfeedbacktype, '') AS complaint_feedback_type
    FROM ses_events
    WHERE
        element_at(element_at(mail.tags, 'campaign'), 1) = ?
        AND dt BETWEEN ? AND ?
        AND eventtype IN ('Bounce', 'Complaint')
)

SELECT
    d.recipient,
    ev.eventtype AS event_type,
    ev.bounce_type,
    ev.bounce_subtype,
    ev.complaint_feedback_type,
    count(*) AS events,
    count(DISTINCT ev.message_id) AS messages
FROM ev
CROSS JOIN unnest(ev.destination) AS d (recipient)
GROUP BY d.recipient, ev.eventtype, ev.bounce_type, ev.bounce_subtype, ev.complaint_feedback_type
ORDER BY events DESC, d.recipient ASC, event_type ASC, ev.bounce_type ASC, ev.bounce_subtype ASC;
