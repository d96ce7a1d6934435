-- 01 campaign summary: what happened in one campaign, in one row.
--
-- Parameters: ? = the campaign, then ? and ? = the first and last dt partition to read
--             (yyyy-MM-dd, the UTC day the events reached Firehose), in this order.
-- Columns:
--   campaign              the campaign (NULL when it has no events)
--   first_event_at        ISO-8601 time of the earliest event (send, delivery, bounce... time)
--   last_event_at         ISO-8601 time of the latest event
--   duration_seconds      last_event_at - first_event_at, in seconds (0.0 with a single event)
--   events                event records
--   messages              distinct SES message ids
--   sends                 Send events
--   deliveries            Delivery events
--   bounces               Bounce events, and split by bounce type:
--   permanent_bounces, transient_bounces, undetermined_bounces
--   complaints            Complaint events
--   rendering_failures    Rendering Failure events (SES accepted the call, the template did not render)
--   rejects               Reject events
--   delivery_delays       DeliveryDelay events
--   subjects              Send events that carry a subject
--   distinct_subjects     distinct subjects among them (personalised subjects differ per customer)
WITH ev AS (
    SELECT
        eventtype,
        mail.messageid AS message_id,
        mail.commonheaders.subject,
        bounce.bouncetype AS bounce_type,
        element_at(element_at(mail.tags, 'campaign'), 1) AS campaign,
        coalesce(
            delivery.timestamp, bounce.timestamp, complaint.timestamp, deliverydelay.timestamp, mail.timestamp
        ) AS event_timestamp
    FROM ses_events
    WHERE
        element_at(element_at(mail.tags, 'campaign'), 1) = ?
        AND dt BETWEEN ? AND ?
)

SELECT
    arbitrary(campaign) AS campaign,
    min(event_timestamp) AS first_event_at,
    max(event_timestamp) AS last_event_at,
    coalesce(
        to_unixtime(max(from_iso8601_timestamp(event_timestamp)))
        - to_unixtime(min(from_iso8601_timestamp(event_timestamp))),
        0.0
    ) AS duration_seconds,
    count(*) AS events,
    count(DISTINCT message_id) AS messages,
    count_if(eventtype = 'Send') AS sends,
    count_if(eventtype = 'Delivery') AS deliveries,
    count_if(eventtype = 'Bounce') AS bounces,
    count_if(eventtype = 'Bounce' AND bounce_type = 'Permanent') AS permanent_bounces,
    count_if(eventtype = 'Bounce' AND bounce_type = 'Transient') AS transient_bounces,
    count_if(eventtype = 'Bounce' AND bounce_type = 'Undetermined') AS undetermined_bounces,
    count_if(eventtype = 'Complaint') AS complaints,
    count_if(eventtype = 'Rendering Failure') AS rendering_failures,
    count_if(eventtype = 'Reject') AS rejects,
    count_if(eventtype = 'DeliveryDelay') AS delivery_delays,
    count_if(eventtype = 'Send' AND subject IS NOT NULL) AS subjects,
    count(DISTINCT CASE WHEN eventtype = 'Send' THEN subject END) AS distinct_subjects
FROM ev;
