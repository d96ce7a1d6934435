-- 06 reconciliation inputs: what the event lake says about every message of a campaign, in one row.
-- `sesload report` adds the local stack's own counters (accepted, DLQ by reason, still queued) and
-- checks accepted = sent + dlq + queued, where sent = sent_requests below.
--
-- Parameters: ? = the campaign, then ? and ? = the first and last dt partition to read
--             (yyyy-MM-dd, the UTC day the events reached Firehose), in this order.
-- Reads the email_events view (sql/views/email_events.sql) under the dt filter and groups it by
-- message id as the email_status view does (the view itself cannot be pruned by dt).
-- Columns:
--   messages                       distinct SES message ids (SES accepted the call)
--   unique_codes                   distinct unique_code tags among them
--   messages_without_unique_code   messages without a unique_code tag (cannot be deduplicated)
--   sent_requests                  unique_codes + messages_without_unique_code: requests that were sent
--   duplicate_unique_codes         unique_codes sent as more than one message
--   duplicate_sends                messages beyond the first per unique_code (messages - sent_requests)
--   delivered, bounced, complained, rendering_failed, rejected, delivery_delayed, pending
--                                  messages by final status (pending: sent, no outcome event yet)
--   duplicate_send_events          message ids with more than one Send event (event-level duplicates)
--   first_send_at, last_send_at    ISO-8601 times of the first and last accepted message
--   send_span_seconds              last_send_at - first_send_at (0.0 with one message)
--   achieved_send_rate             messages per second over that span; NULL when the span is 0
--                                  (a rate over no time is undefined, not infinite)
WITH s AS (
    SELECT
        message_id,
        arbitrary(unique_code) AS unique_code,
        max_by(status, status_rank) AS status,
        count_if(event_type = 'Send') AS send_events,
        min(sent_at) AS sent_at
    FROM email_events
    WHERE
        campaign = ?
        AND dt BETWEEN ? AND ?
    GROUP BY message_id
),

totals AS (
    SELECT
        count(*) AS messages,
        count(DISTINCT unique_code) AS unique_codes,
        count_if(unique_code IS NULL) AS messages_without_unique_code,
        count_if(status = 'delivered') AS delivered,
        count_if(status = 'bounced') AS bounced,
        count_if(status = 'complained') AS complained,
        count_if(status = 'rendering_failed') AS rendering_failed,
        count_if(status = 'rejected') AS rejected,
        count_if(status = 'delayed') AS delivery_delayed,
        count_if(status = 'sent') AS pending,
        count_if(send_events > 1) AS duplicate_send_events,
        min(sent_at) AS first_send_at,
        max(sent_at) AS last_send_at,
        coalesce(
            to_unixtime(max(from_iso8601_timestamp(sent_at))) - to_unixtime(min(from_iso8601_timestamp(sent_at))),
            0.0
        ) AS send_span_seconds
    FROM s
),

dup AS (
    SELECT count(*) AS duplicate_unique_codes
    FROM (
        SELECT unique_code
        FROM s
        WHERE unique_code IS NOT NULL
        GROUP BY unique_code
        HAVING count(*) > 1
    ) AS d
)

SELECT
    t.messages,
    t.unique_codes,
    t.messages_without_unique_code,
    t.unique_codes + t.messages_without_unique_code AS sent_requests,
    dup.duplicate_unique_codes,
    t.messages - t.unique_codes - t.messages_without_unique_code AS duplicate_sends,
    t.delivered,
    t.bounced,
    t.complained,
    t.rendering_failed,
    t.rejected,
    t.delivery_delayed,
    t.pending,
    t.duplicate_send_events,
    t.first_send_at,
    t.last_send_at,
    t.send_span_seconds,
    cast(t.messages AS double) / nullif(t.send_span_seconds, 0.0) AS achieved_send_rate
FROM totals AS t
CROSS JOIN dup;
