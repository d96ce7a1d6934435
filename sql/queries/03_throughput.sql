-- 03 throughput timeline: sends and deliveries per second over the campaign.
--
-- Parameters: ? = the campaign, then ? and ? = the first and last dt partition to read
--             (yyyy-MM-dd, the UTC day the events reached Firehose), in this order.
-- Seconds without any send or delivery have no row (a gap means 0).
-- Sends are counted at mail.timestamp (SES accepted the call), deliveries at delivery.timestamp.
-- Columns:
--   epoch_second           start of the second, Unix seconds (UTC)
--   offset_second          seconds since the campaign's first row
--   sends                  Send events in that second
--   deliveries             Delivery events in that second
--   cumulative_sends       Send events up to and including that second
--   cumulative_deliveries  Delivery events up to and including that second
WITH ev AS (
    SELECT
        eventtype,
        date_trunc(
            'second',
            from_iso8601_timestamp(CASE WHEN eventtype = 'Delivery' THEN delivery.timestamp ELSE mail.timestamp END)
        ) AS second_at
    FROM ses_events
    WHERE
        element_at(element_at(mail.tags, 'campaign'), 1) = ?
        AND dt BETWEEN ? AND ?
        AND eventtype IN ('Send', 'Delivery')
),

per_second AS (
    SELECT
        second_at,
        count_if(eventtype = 'Send') AS sends,
        count_if(eventtype = 'Delivery') AS deliveries
    FROM ev
    GROUP BY second_at
)

SELECT
    cast(to_unixtime(second_at) AS bigint) AS epoch_second,
    cast(to_unixtime(second_at) - to_unixtime(min(second_at) OVER ()) AS bigint) AS offset_second,
    sends,
    deliveries,
    sum(sends) OVER (ORDER BY second_at ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cumulative_sends,
    sum(deliveries) OVER (
        ORDER BY second_at ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS cumulative_deliveries
FROM per_second
ORDER BY epoch_second;
