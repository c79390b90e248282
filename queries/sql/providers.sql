-- Provider search: services whose area covers a municipality, with their latest figures at $at, ranked:
-- fresh with room first (most room first), then fresh by shortest wait, then stale or unreported
-- (ties of the latest figure: the latest loaded).
-- Parameters: $gemeente, $level + $region (services touching a region), $care_type, $target_group, $age,
-- $framework, $language, $violence_profile, $whole_family, $available_only, $at (each filter NULL for all),
-- $after_all_figures ($at is at or after the copy's last observation).
-- No address exists to return.
WITH
coverage AS (
    SELECT DISTINCT sm.service_id
    FROM derived.service_municipality AS sm
    WHERE ($gemeente IS NULL OR sm.gemeente_code = $gemeente)
      AND ($region IS NULL OR sm.gemeente_code IN (SELECT gemeente_code FROM region_membership
                                                   WHERE level = $level AND region_code = $region))
),
candidates AS (
    SELECT s.*, p.name AS provider_name, ct.freshness_days AS care_freshness_days,
           coalesce(g.target_groups, []::VARCHAR[]) AS target_groups   -- a service may name none
    FROM service AS s
    JOIN coverage USING (service_id)
    JOIN care_type AS ct USING (care_type)
    LEFT JOIN provider AS p USING (provider_id)
    LEFT JOIN derived.service_groups AS g USING (service_id)
    WHERE ($care_type IS NULL OR s.care_type = $care_type)
      AND ($target_group IS NULL OR list_contains(g.target_groups, $target_group))
      AND ($age IS NULL OR ((s.age_min IS NULL OR s.age_min <= $age) AND (s.age_max IS NULL OR s.age_max >= $age)))
      AND ($framework IS NULL OR s.framework IN ($framework, 'both'))
      AND ($language IS NULL OR list_contains(s.languages, $language))
      AND ($violence_profile IS NULL OR list_contains(s.violence_profiles, $violence_profile))
      AND (NOT coalesce($whole_family, false) OR s.whole_family)
),
moment AS (SELECT $at::TIMESTAMPTZ AS at_ts),
-- the latest figure at $at: from the copy's last observation on ($after_all_figures) derived.latest, else
-- a scan of the observations up to $at
latest AS (
    SELECT service_id, o
    FROM derived.latest
    WHERE $after_all_figures AND o.valid_at <= $at::TIMESTAMPTZ AND service_id IN (SELECT service_id FROM candidates)
    UNION ALL
    SELECT o.service_id,
           arg_max({'valid_at': o.valid_at, 'source_id': o.source_id, 'unit': o.unit, 'maximum': o.maximum,
                    'available': o.available, 'status': o.status, 'waiting_count': o.waiting_count,
                    'wait_days_intake': o.wait_days_intake, 'wait_days_treatment': o.wait_days_treatment},
                   {'valid_at': o.valid_at, 'ingested_at': o.ingested_at}) AS o
    FROM capacity_observation AS o
    WHERE NOT $after_all_figures AND o.valid_at <= $at::TIMESTAMPTZ
      AND o.service_id IN (SELECT service_id FROM candidates)
    GROUP BY o.service_id
),
ranked AS (
    SELECT c.service_id, c.name AS service_name, c.provider_name, c.care_type, c.target_groups, c.framework,
           c.age_min, c.age_max, c.whole_family, c.languages, c.violence_profiles, c.phone, c.email, c.website,
           c.referral_route, l.o.valid_at, l.o.unit, l.o.maximum, l.o.available, l.o.status AS reported_status,
           l.o.waiting_count, l.o.wait_days_intake, l.o.wait_days_treatment,
           (epoch(m.at_ts) - epoch(l.o.valid_at)) / 86400 AS age_days,
           coalesce(epoch_us(m.at_ts) - epoch_us(l.o.valid_at)
                        <= 86400000000 * coalesce(src.freshness_days, c.care_freshness_days), false) AS fresh
    FROM candidates AS c
    CROSS JOIN moment AS m
    LEFT JOIN latest AS l USING (service_id)
    LEFT JOIN source AS src ON src.source_id = l.o.source_id
)
SELECT *,
       CASE WHEN fresh AND available > 0 THEN 1 WHEN fresh THEN 2 ELSE 3 END AS rank_group
FROM ranked
WHERE NOT coalesce($available_only, false) OR (fresh AND available > 0)
ORDER BY rank_group,
         CASE WHEN fresh AND available > 0 THEN -available END NULLS LAST,
         CASE WHEN fresh THEN coalesce(wait_days_intake, wait_days_treatment) END NULLS LAST,
         CASE WHEN fresh THEN wait_days_treatment END NULLS LAST,
         age_days NULLS LAST,
         service_name
