-- HSDS 3.1 export: the number of services and one page of them (by service_id), each with its provider,
-- target groups, named service areas and latest capacity observation. One row: total_items, services
-- (a list of structs; empty past the last page). Parameters: $limit, $offset.
-- Never an address or location: none is stored.
WITH
page AS (
    SELECT * FROM service ORDER BY service_id LIMIT $limit OFFSET $offset
),
groups AS (
    SELECT g.service_id, list(g.target_group ORDER BY g.target_group) AS target_groups
    FROM service_target_group AS g
    JOIN page USING (service_id)
    GROUP BY g.service_id
),
areas AS (
    SELECT a.service_id,
           list({'level': a.area_level, 'code': a.area_code,
                 'name': coalesce(m.name, r.region_name, a.area_code)}
                ORDER BY a.area_level, a.area_code) AS areas
    FROM service_area AS a
    JOIN page USING (service_id)
    LEFT JOIN municipality AS m ON a.area_level = 'gemeente' AND m.gemeente_code = a.area_code
    LEFT JOIN region AS r ON r.level = a.area_level AND r.region_code = a.area_code
    GROUP BY a.service_id
),
latest AS (
    SELECT o.service_id, o.valid_at, o.unit, o.maximum, o.available, o.status AS reported_status,
           o.wait_days_intake, o.wait_days_treatment
    FROM capacity_observation AS o
    JOIN page USING (service_id)
    QUALIFY row_number() OVER (PARTITION BY o.service_id ORDER BY o.valid_at DESC, o.source_id) = 1
),
detailed AS (
    SELECT p.service_id, p.name, p.provider_id, coalesce(pr.name, p.provider_id) AS provider_name, p.care_type,
           p.framework, p.age_min, p.age_max, p.whole_family, p.languages, p.violence_profiles, p.phone, p.email,
           p.website, coalesce(g.target_groups, []) AS target_groups, coalesce(a.areas, []) AS areas,
           l.valid_at, l.unit, l.maximum, l.available, l.reported_status, l.wait_days_intake,
           l.wait_days_treatment
    FROM page AS p
    LEFT JOIN provider AS pr USING (provider_id)
    LEFT JOIN groups AS g USING (service_id)
    LEFT JOIN areas AS a USING (service_id)
    LEFT JOIN latest AS l USING (service_id)
)
SELECT (SELECT count(*) FROM service) AS total_items,
       coalesce((SELECT list(d ORDER BY d.service_id) FROM detailed AS d), []) AS services
