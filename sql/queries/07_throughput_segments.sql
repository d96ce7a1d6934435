-- 07 throughput segments: the original's lower-20 % / middle-70 % / upper-10 % average rates,
-- for sends and for deliveries, without dividing by a span that can be zero.
--
-- Parameters: ? = the campaign, then ? and ? = the first and last dt partition to read
--             (yyyy-MM-dd, the UTC day the events reached Firehose), in this order.
-- The events of each type are cut at the 20th and 90th percentile of their timestamps:
--   lower_20   [first, p20)     middle_70  [p20, p90)     upper_10  [p90, last]
-- Columns:
--   event_type         Send | Delivery
--   segment            lower_20 | middle_70 | upper_10
--   events             events in the segment
--   start_epoch        segment start, Unix seconds (with milliseconds)
--   end_epoch          segment end, Unix seconds
--   span_seconds       end_epoch - start_epoch
--   events_per_second  events / span_seconds; NULL when the span is 0 (all events in the same
--                      millisecond: a rate over no time is undefined; the original divided by zero)
WITH ev AS (
    SELECT
        eventtype,
        to_unixtime(
            from_iso8601_timestamp(CASE WHEN eventtype = 'Delivery' THEN delivery.timestamp ELSE mail.timestamp END)
        ) AS t
    FROM ses_events
    WHERE
        element_at(element_at(mail.tags, 'campaign'), 1) = ?
        AND dt BETWEEN ? AND ?
        AND eventtype IN ('Send', 'Delivery')
),

bounds AS (
    SELECT
        eventtype,
        min(t) AS t0,
        approx_percentile(t, 0.2) AS t20,
        approx_percentile(t, 0.9) AS t90,
        max(t) AS t100
    FROM ev
    GROUP BY eventtype
),

counted AS (
    SELECT
        b.eventtype,
        b.t0,
        b.t20,
        b.t90,
        b.t100,
        count_if(e.t < b.t20) AS n_lower,
        count_if(e.t >= b.t20 AND e.t < b.t90) AS n_middle,
        count_if(e.t >= b.t90) AS n_upper
    FROM bounds AS b
    INNER JOIN ev AS e ON b.eventtype = e.eventtype
    GROUP BY b.eventtype, b.t0, b.t20, b.t90, b.t100
)

SELECT
    eventtype AS event_type,
    'lower_20' AS segment,
    n_lower AS events,
    t0 AS start_epoch,
    t20 AS end_epoch,
    t20 - t0 AS span_seconds,
    cast(n_lower AS double) / nullif(t20 - t0, 0.0) AS events_per_second
FROM counted
UNION ALL
SELECT
    eventtype AS event_type,
    'middle_70' AS segment,
    n_middle AS events,
    t20 AS start_epoch,
    t90 AS end_epoch,
    t90 - t20 AS span_seconds,
    cast(n_middle AS double) / nullif(t90 - t20, 0.0) AS events_per_second
FROM counted
UNION ALL
SELECT
    eventtype AS event_type,
    'upper_10' AS segment,
    n_upper AS events,
    t90 AS start_epoch,
    t100 AS end_epoch,
    t100 - t90 AS span_seconds,
    cast(n_upper AS double) / nullif(t100 - t90, 0.0) AS events_per_second
FROM counted
ORDER BY event_type DESC, segment ASC;
