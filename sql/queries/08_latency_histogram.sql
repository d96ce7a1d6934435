-- 08 latency histogram: distribution of delivery.processingtimemillis (SES accept -> remote MTA
-- accept) in half-octave buckets, for the report's latency chart.
--
-- Parameters: ? = the campaign, then ? and ? = the first and last dt partition to read
--             (yyyy-MM-dd, the UTC day the events reached Firehose), in this order.
-- Bucket k holds samples in [2^(k/2), 2^((k+1)/2)) milliseconds; samples under 1 ms fall in bucket 0.
-- Buckets without samples have no row.
-- Columns:
--   bucket_index     k
--   lower_ms         lower bound of the bucket, ms (rounded to an integer)
--   upper_ms         upper bound of the bucket, ms (rounded to an integer)
--   deliveries       samples in the bucket_index
WITH d AS (
    SELECT cast(floor(2 * log2(greatest(cast(delivery.processingtimemillis AS double), 1.0))) AS bigint) AS bucket_index
    FROM ses_events
    WHERE
        element_at(element_at(mail.tags, 'campaign'), 1) = ?
        AND dt BETWEEN ? AND ?
        AND eventtype = 'Delivery'
        AND delivery.processingtimemillis IS NOT NULL
)

SELECT
    bucket_index,
    cast(round(power(2.0, bucket_index / 2.0)) AS bigint) AS lower_ms,
    cast(round(power(2.0, (bucket_index + 1) / 2.0)) AS bigint) AS upper_ms,
    count(*) AS deliveries
FROM d
GROUP BY bucket_index
ORDER BY bucket_index;
