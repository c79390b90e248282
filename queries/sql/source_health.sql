-- Per source: last run, last success, consecutive failures, rows rejected in the last run, and whether
-- its newest figure is stale. Parameter: $at.
WITH
moment AS (SELECT $at::TIMESTAMPTZ AS at_ts),
runs AS (
    SELECT r.*, row_number() OVER (PARTITION BY source_id ORDER BY run_id DESC) AS recency
    FROM ingest_run AS r
),
last_run AS (SELECT * FROM runs WHERE recency = 1),
last_success AS (
    SELECT source_id, max(finished_at) AS last_success_at, min(recency) AS first_ok_recency
    FROM runs WHERE status <> 'failed' GROUP BY source_id
),
windows AS (
    SELECT s.source_id, coalesce(s.freshness_days, min(ct.freshness_days)) AS freshness_days
    FROM source AS s
    LEFT JOIN service AS sv ON sv.source_id = s.source_id
    LEFT JOIN care_type AS ct ON ct.care_type = sv.care_type
    GROUP BY s.source_id, s.freshness_days
),
newest AS (
    SELECT source_id, max(valid_at) AS newest_valid_at, count(*) AS observations
    FROM capacity_observation, moment WHERE valid_at <= at_ts GROUP BY source_id
),
loaded AS (
    SELECT source_id, sum(rows_loaded) AS rows_loaded_total FROM ingest_run GROUP BY source_id
)
SELECT s.source_id, s.kind, s.location, s.schedule,
       l.started_at AS last_run_at, l.status AS last_status, l.rows_in AS last_rows_in,
       l.rows_loaded AS last_rows_loaded, l.rows_rejected AS last_rows_rejected,
       coalesce(l.rows_filtered, 0) AS last_rows_filtered, l.error_nl AS last_error_nl,
       l.error_en AS last_error_en, l.run_id AS last_run_id,
       ok.last_success_at,
       coalesce(ok.first_ok_recency - 1, (SELECT count(*) FROM runs WHERE runs.source_id = s.source_id))
           AS consecutive_failures,
       w.freshness_days, n.newest_valid_at,
       n.newest_valid_at + to_hours(24 * w.freshness_days) AS stale_since,
       -- submissions (anonymous signals) carry no capacity figures, so they are never stale
       s.kind <> 'submission' AND (n.newest_valid_at IS NULL
                                   OR epoch_us(m.at_ts) - epoch_us(n.newest_valid_at) > 86400000000 * w.freshness_days)
           AS stale,
       coalesce(ld.rows_loaded_total, 0) AS rows_loaded_total
FROM source AS s
CROSS JOIN moment AS m
LEFT JOIN last_run AS l USING (source_id)
LEFT JOIN last_success AS ok USING (source_id)
LEFT JOIN windows AS w USING (source_id)
LEFT JOIN newest AS n USING (source_id)
LEFT JOIN loaded AS ld USING (source_id)
ORDER BY stale DESC, consecutive_failures DESC, s.source_id
