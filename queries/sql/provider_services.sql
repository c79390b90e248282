-- The services of one provider as the fields of a canonical report (what its update form prefills and
-- what a form submission is checked as), each with its latest figure (ties: the latest loaded) and the
-- freshness window of that figure. Works on the warehouse and on a published copy.
-- Parameter: $provider_id.
WITH
latest AS (
    SELECT o.service_id,
           arg_max({'valid_at': o.valid_at, 'source_id': o.source_id, 'unit': o.unit, 'maximum': o.maximum,
                    'available': o.available, 'status': o.status, 'waiting_count': o.waiting_count,
                    'wait_days_intake': o.wait_days_intake, 'wait_days_treatment': o.wait_days_treatment},
                   {'valid_at': o.valid_at, 'ingested_at': o.ingested_at}) AS o
    FROM capacity_observation AS o
    JOIN service AS s USING (service_id)
    WHERE s.provider_id = $provider_id
    GROUP BY o.service_id
),
groups AS (
    SELECT service_id, string_agg(target_group, '; ' ORDER BY target_group) AS target_groups
    FROM service_target_group
    GROUP BY service_id
),
areas AS (
    SELECT service_id, string_agg(area_level || ':' || area_code, '; ' ORDER BY area_level, area_code) AS service_area
    FROM service_area
    GROUP BY service_id
)
SELECT s.service_id, s.name AS service_name, s.provider_id, p.name AS provider_name, s.care_type,
       g.target_groups, a.service_area, l.o.unit, s.framework, s.age_min, s.age_max, s.whole_family,
       array_to_string(s.languages, '; ') AS languages,
       array_to_string(s.violence_profiles, '; ') AS violence_profiles,
       s.phone, s.email, s.website, s.referral_route,
       l.o.valid_at, l.o.maximum, l.o.available, l.o.status, l.o.waiting_count, l.o.wait_days_intake,
       l.o.wait_days_treatment, coalesce(src.freshness_days, ct.freshness_days) AS freshness_days
FROM service AS s
JOIN care_type AS ct USING (care_type)
LEFT JOIN provider AS p USING (provider_id)
LEFT JOIN groups AS g USING (service_id)
LEFT JOIN areas AS a USING (service_id)
LEFT JOIN latest AS l USING (service_id)
LEFT JOIN source AS src ON src.source_id = l.o.source_id
WHERE s.provider_id = $provider_id
ORDER BY s.name, s.service_id
