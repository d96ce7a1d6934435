-- 02 duplicates: was any email sent more than once? One row per offending key; no rows = none.
--
-- Parameters: ? = the campaign, then ? and ? = the first and last dt partition to read
--             (yyyy-MM-dd, the UTC day the events reached Firehose), in this order.
-- A "sent message" is an SES message id with a Send, Rendering Failure or Reject event (SES accepted
-- the SendEmail call and returned that id).
-- Checks (check_name):
--   unique_code  the request's idempotency key (message tag `unique_code`) has more than one SES
--                message id: the same request was sent twice. This is the check that matters.
--   recipient    a recipient got more than one message in the campaign. Expected when a load test
--                reuses one address (success@simulator.amazonses.com); a real duplicate when every
--                request has its own recipient (e.g. success+<code>@simulator.amazonses.com).
--   message_id   the original's check: one message id with more than one Send event, i.e. the event
--                was published or stored twice (at-least-once delivery), not a second email.
-- Columns:
--   check_name     unique_code | recipient | message_id
--   duplicate_key  the offending unique_code, recipient or message id
--   occurrences    messages (unique_code, recipient) or Send events (message_id)
--   first_sent_at  ISO-8601 time of the first of them
--   last_sent_at   ISO-8601 time of the last of them
WITH accepted AS (
    SELECT
        eventtype,
        mail.messageid AS message_id,
        mail.timestamp AS sent_at,
        element_at(element_at(mail.tags, 'unique_code'), 1) AS unique_code,
        element_at(mail.destination, 1) AS recipient
    FROM ses_events
    WHERE
        element_at(element_at(mail.tags, 'campaign'), 1) = ?
        AND dt BETWEEN ? AND ?
        AND eventtype IN ('Send', 'Rendering Failure', 'Reject')
),

messages AS (
    SELECT
        message_id,
        arbitrary(unique_code) AS unique_code,
        arbitrary(recipient) AS recipient,
        min(sent_at) AS sent_at,
        count_if(eventtype = 'Send') AS send_events
    FROM accepted
    GROUP BY message_id
)

SELECT
    'unique_code' AS check_name,
    unique_code AS duplicate_key,
    count(*) AS occurrences,
    min(sent_at) AS first_sent_at,
    max(sent_at) AS last_sent_at
FROM messages
WHERE unique_code IS NOT NULL
GROUP BY unique_code
HAVING count(*) > 1

UNION ALL

SELECT
    'recipient' AS check_name,
    recipient AS duplicate_key,
    count(*) AS occurrences,
    min(sent_at) AS first_sent_at,
    max(sent_at) AS last_sent_at
FROM messages
WHERE recipient IS NOT NULL
GROUP BY recipient
HAVING count(*) > 1

UNION ALL

SELECT
    'message_id' AS check_name,
    message_id AS duplicate_key,
    send_events AS occurrences,
    sent_at AS first_sent_at,
    sent_at AS last_sent_at
FROM messages
WHERE send_events > 1

ORDER BY check_name DESC, occurrences DESC, duplicate_key ASC;
