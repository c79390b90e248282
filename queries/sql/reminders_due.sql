-- Services of the given providers whose latest figure (ties: the latest loaded) has used 75% or more of its
-- freshness window at $now ('soon'), or all of it ('stale': older than the window), decided on exact
-- microseconds: 4 x age >= 3 x window, age > window.
-- Parameters: $providers (provider ids), $now.
WITH
latest AS (
    SELECT o.service_id,
           arg_max({'valid_at': o.valid_at, 'source_id': o.source_id},
                   {'valid_at': o.valid_at, 'ingested_at': o.ingested_at}) AS o
    FROM capacity_observation AS o
    JOIN service AS s USING (service_id)
    WHERE s.provider_id IN (SELECT unnest($providers::VARCHAR[]))
    GROUP BY o.service_id
),
aged AS (
    SELECT s.service_id, s.provider_id, s.name AS service_name, p.name AS provider_name, l.o.valid_at,
           coalesce(src.freshness_days, ct.freshness_days)::BIGINT * 86400000000 AS window_us,
           epoch_us($now::TIMESTAMPTZ) - epoch_us(l.o.valid_at) AS age_us
    FROM latest AS l
    JOIN service AS s USING (service_id)
    JOIN care_type AS ct USING (care_type)
    LEFT JOIN provider AS p USING (provider_id)
    LEFT JOIN source AS src ON src.source_id = l.o.source_id
)
SELECT service_id, provider_id, service_name, coalesce(provider_name, provider_id), valid_at,
       CASE WHEN age_us > window_us THEN 'stale' ELSE 'soon' END AS stage
FROM aged
WHERE 4 * age_us >= 3 * window_us
ORDER BY provider_id, service_name, service_id
