-- derived.moment_latest: every service's latest figure at the copy's standard earlier moments (the week
-- and month ends before its last figure, listed in derived.moments), for trends and month series.
-- Parameters: $times, $max_window_days, $window_start, $window_end.
CREATE OR REPLACE TABLE derived.moment_latest AS
WITH
times AS (SELECT unnest($times::TIMESTAMPTZ[]) AS at_ts),
services AS (SELECT service_id FROM service),
{latest_at_moments}
SELECT at_ts, service_id, o FROM scanned
