-- Local compatibility prelude: Trino (Athena) functions that DuckDB lacks or defines differently,
-- as DuckDB macros, so the files in sql/views and sql/queries run unchanged on the local lake.
-- Loaded by `sesload query` / `sesload report` (and the tests) before sql/local/ses_events.sql.
-- Rule for the saved queries: use only functions that exist in both engines or are defined here,
-- and CAST to double before dividing (Trino divides integers as integers, DuckDB does not).

-- Athena sessions run in UTC; date_trunc and friends on timestamp with time zone depend on it.
SET TimeZone = 'UTC';

-- from_iso8601_timestamp('2026-11-27T10:00:00.123Z') -> timestamp with time zone.
CREATE OR REPLACE MACRO from_iso8601_timestamp(s) AS cast(s AS timestamptz);

-- to_unixtime(ts) -> double seconds since the epoch (with the fraction), as in Trino.
CREATE OR REPLACE MACRO to_unixtime(ts) AS epoch(ts);

-- from_unixtime(double seconds) -> timestamp with time zone.
CREATE OR REPLACE MACRO from_unixtime(x) AS to_timestamp(x);

-- json_extract_scalar(json, '$.path') -> varchar.
CREATE OR REPLACE MACRO json_extract_scalar(j, p) AS json_extract_string(j, p);

-- approx_distinct: exact here (the local lake is small; Athena's is an estimate, ~2.3 % error).
CREATE OR REPLACE MACRO approx_distinct(x) AS count(DISTINCT x);

-- approx_percentile: exact nearest-rank quantile here (sorted[ceil(p * n) - 1]), so tests can assert
-- on small data; Athena's is an approximation of the same quantity.
CREATE OR REPLACE MACRO approx_percentile(x, p) AS quantile_disc(x, p);

-- element_at: Trino returns the map VALUE for a key (NULL when the key is missing) and the array
-- element at a 1-based index (NULL when out of range). DuckDB's own element_at(map, key) returns a
-- LIST of values and has no array form. The subscript operator already has Trino's NULL semantics
-- in DuckDB, but not in Trino (mail.tags['x'] fails there when 'x' is missing), so the saved queries
-- use element_at and this macro gives it Trino's meaning.
CREATE OR REPLACE MACRO element_at(container, key_or_index) AS container[key_or_index];

-- count_if: DuckDB's returns HUGEINT (128-bit), Trino's BIGINT; keep Trino's type.
CREATE OR REPLACE MACRO count_if(x) AS coalesce(cast(sum(CASE WHEN x THEN 1 ELSE 0 END) AS bigint), 0);
