-- Per provider, the share of expected reports received over the last $days days: each service is
-- expected to report once per freshness window of its care type (or its source's override); a window
-- counts as received when any figure of the service falls in it. Parameters: $at, $days.
WITH
moment AS (SELECT $at::TIMESTAMPTZ AS at_ts),
services AS (
    SELECT sv.service_id, sv.provider_id, coalesce(src.freshness_days, ct.freshness_days) AS window_days
    FROM service AS sv
    JOIN care_type AS ct USING (care_type)
    LEFT JOIN source AS src ON src.source_id = sv.source_id
),
-- the windows (counted back from $at) in which each service reported at least once
windows AS (
    SELECT DISTINCT o.service_id,
           floor((epoch(m.at_ts) - epoch(o.valid_at)) / (86400.0 * s.window_days)) AS window_number
    FROM capacity_observation AS o
    CROSS JOIN moment AS m
    JOIN services AS s USING (service_id)
    WHERE o.valid_at <= m.at_ts AND o.valid_at > m.at_ts - to_hours(24 * $days)
),
received AS (
    SELECT service_id, count(*) AS windows FROM windows GROUP BY service_id
)
SELECT p.provider_id, p.name AS provider_name, count(*) AS services,
       sum(ceil($days / s.window_days)) AS expected_reports,
       sum(coalesce(r.windows, 0)) AS received_reports,
       sum(coalesce(r.windows, 0)) / sum(ceil($days / s.window_days)) AS share_received
FROM services AS s
JOIN provider AS p USING (provider_id)
LEFT JOIN received AS r USING (service_id)
GROUP BY p.provider_id, p.name
ORDER BY share_received, p.name
