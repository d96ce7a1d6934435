-- 04 latency: how long from SES accepting a message to the receiving server accepting it.
--
-- Parameters: ? = the campaign, then ? and ? = the first and last dt partition to read
--             (yyyy-MM-dd, the UTC day the events reached Firehose), in this order.
-- One row per metric (no rows when the campaign has no deliveries):
--   processing_time_ms   delivery.processingtimemillis as SES reports it
--   send_to_delivery_ms  delivery.timestamp - mail.timestamp, from the event timestamps
-- Columns: metric, samples, min_ms, p50_ms, p90_ms, p99_ms, max_ms, avg_ms.
-- Percentiles are approx_percentile in Athena; locally the prelude computes them exactly
-- (nearest rank).
WITH d AS (
    SELECT
        cast(delivery.processingtimemillis AS double) AS processing_ms,
        cast(
            date_diff(
                'millisecond', from_iso8601_timestamp(mail.timestamp), from_iso8601_timestamp(delivery.timestamp)
            ) AS double
        ) AS send_to_delivery_ms
    FROM ses_events
    WHERE
        element_at(element_at(mail.tags, 'campaign'), 1) = ?
        AND dt BETWEEN ? AND ?
        AND eventtype = 'Delivery'
),

samples AS (
    SELECT
        'processing_time_ms' AS metric,
        processing_ms AS ms
    FROM d
    UNION ALL
    SELECT
        'send_to_delivery_ms' AS metric,
        send_to_delivery_ms AS ms
    FROM d
)

SELECT
    metric,
    count(ms) AS samples,
    min(ms) AS min_ms,
    approx_percentile(ms, 0.5) AS p50_ms,
    approx_percentile(ms, 0.9) AS p90_ms,
    approx_percentile(ms, 0.99) AS p99_ms,
    max(ms) AS max_ms,
    avg(ms) AS avg_ms
FROM samples
WHERE ms IS NOT NULL
GROUP BY metric
ORDER BY metric;
