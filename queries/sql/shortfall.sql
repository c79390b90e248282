-- Shortfall figures per moment x region x care type x target group (DESIGN.md, "Shortfall").
-- Parameters: $level, $times (TIMESTAMPTZ[]), $care_type, $target_group, $framework, $region, $child_share_15_24
-- (each filter NULL for all). Status and its reasons are derived from these figures in status.py.
WITH
times AS (SELECT unnest($times::TIMESTAMPTZ[]) AS at_ts),
pop AS (
    SELECT gemeente_code,
           arg_max(inhabitants, reference_date) AS inhabitants,
           arg_max(age_0_14 + $child_share_15_24 * age_15_24, reference_date) AS children  -- 0-17, estimated
    FROM population
    GROUP BY gemeente_code
),
member AS (
    SELECT gemeente_code, region_code FROM region_membership WHERE level = $level
),
region_pop AS (
    SELECT r.region_code, r.region_name, sum(p.inhabitants) AS inhabitants, sum(p.children) AS children
    FROM region AS r
    JOIN member AS m USING (region_code)
    JOIN pop AS p USING (gemeente_code)
    WHERE r.level = $level
    GROUP BY r.region_code, r.region_name
),
combos AS (
    SELECT c.care_type, c.target_group, ct.sort_order AS care_order, tg.sort_order AS group_order,
           ct.norm_places_per_10k, ct.wait_norm_intake_days, ct.wait_norm_treatment_days, ct.freshness_days,
           tg.population_basis
    FROM care_type_target_group AS c
    JOIN care_type AS ct USING (care_type)
    JOIN target_group AS tg USING (target_group)
    WHERE ($care_type IS NULL OR c.care_type = $care_type)
      AND ($target_group IS NULL OR c.target_group = $target_group)
),
services AS (
    SELECT s.service_id, s.care_type, g.target_group
    FROM service AS s
    JOIN service_target_group AS g USING (service_id)
    JOIN combos AS c ON c.care_type = s.care_type AND c.target_group = g.target_group
    WHERE $framework IS NULL OR s.framework IN ($framework, 'both')
),
service_municipality AS (
    SELECT DISTINCT a.service_id, coalesce(rm.gemeente_code, a.area_code) AS gemeente_code
    FROM service_area AS a
    LEFT JOIN region_membership AS rm ON a.area_level <> 'gemeente' AND rm.level = a.area_level
                                     AND rm.region_code = a.area_code
    WHERE a.area_level = 'gemeente' OR rm.gemeente_code IS NOT NULL
),
service_total AS (
    SELECT sm.service_id, sum(p.inhabitants) AS total
    FROM service_municipality AS sm JOIN pop AS p USING (gemeente_code)
    GROUP BY sm.service_id
),
-- a service covering several regions counts in each by the population share of its area there
service_weight AS (
    SELECT sm.service_id, m.region_code, sum(p.inhabitants) / any_value(t.total) AS weight
    FROM service_municipality AS sm
    JOIN pop AS p USING (gemeente_code)
    JOIN member AS m USING (gemeente_code)
    JOIN service_total AS t USING (service_id)
    GROUP BY sm.service_id, m.region_code
    HAVING sum(p.inhabitants) > 0
),
-- per moment and service, the latest observation true at that moment (an ASOF join)
latest AS (
    SELECT t.at_ts, d.service_id, o.valid_at, o.source_id, o.maximum, o.available, o.waiting_count,
           o.wait_days_intake, o.wait_days_treatment
    FROM times AS t
    CROSS JOIN (SELECT DISTINCT service_id FROM services) AS d
    ASOF JOIN capacity_observation AS o ON o.service_id = d.service_id AND o.valid_at <= t.at_ts
),
observed AS (
    SELECT l.*, c.care_type, c.target_group, c.wait_norm_intake_days, c.wait_norm_treatment_days,
           l.at_ts - l.valid_at <= to_days(coalesce(src.freshness_days, c.freshness_days)) AS fresh
    FROM latest AS l
    JOIN services AS s USING (service_id)
    JOIN combos AS c ON c.care_type = s.care_type AND c.target_group = s.target_group
    LEFT JOIN source AS src ON src.source_id = l.source_id
),
cells AS (
    SELECT o.at_ts, w.region_code, o.care_type, o.target_group,
           count(*) AS services,
           count(*) FILTER (WHERE o.fresh) AS services_fresh,
           sum(w.weight * o.maximum) FILTER (WHERE o.fresh) AS places,
           sum(w.weight * o.available) FILTER (WHERE o.fresh) AS available,
           sum(w.weight * o.waiting_count) FILTER (WHERE o.fresh) AS waiting,
           median(o.wait_days_intake) FILTER (WHERE o.fresh) AS median_wait_intake_days,
           median(o.wait_days_treatment) FILTER (WHERE o.fresh) AS median_wait_treatment_days,
           count(*) FILTER (WHERE o.fresh AND (o.wait_days_intake > o.wait_norm_intake_days
                                               OR o.wait_days_treatment > o.wait_norm_treatment_days))
               AS wait_breaches
    FROM observed AS o
    JOIN service_weight AS w USING (service_id)
    GROUP BY o.at_ts, w.region_code, o.care_type, o.target_group
),
figures AS (
    SELECT t.at_ts, r.region_code, r.region_name, c.care_type, c.target_group, c.care_order, c.group_order,
           r.inhabitants,
           CASE c.population_basis
               WHEN 'child' THEN coalesce(r.children, r.inhabitants)
               WHEN 'adult' THEN r.inhabitants - coalesce(r.children, 0)
               ELSE r.inhabitants END AS target_population,
           coalesce(x.services, 0) AS services,
           coalesce(x.services_fresh, 0) AS services_fresh,
           CASE WHEN x.services IS NULL THEN 0 ELSE x.places END AS places,
           CASE WHEN x.services IS NULL THEN 0 ELSE x.available END AS available,
           x.waiting,
           c.norm_places_per_10k * r.inhabitants / 10000 AS norm_places,
           x.median_wait_intake_days, x.median_wait_treatment_days,
           coalesce(x.wait_breaches, 0) AS wait_breaches,
           c.wait_norm_intake_days, c.wait_norm_treatment_days
    FROM times AS t
    CROSS JOIN region_pop AS r
    CROSS JOIN combos AS c
    LEFT JOIN cells AS x ON x.at_ts = t.at_ts AND x.region_code = r.region_code
                        AND x.care_type = c.care_type AND x.target_group = c.target_group
),
measured AS (
    SELECT *,
           -- greatest() would skip NULLs: an unknown operand must give an unknown result
           CASE WHEN waiting IS NULL OR available IS NULL THEN NULL
                ELSE greatest(0, waiting - available) END AS unmet_now,
           CASE WHEN norm_places IS NULL OR places IS NULL THEN NULL
                ELSE greatest(0, norm_places - places) END AS norm_gap,
           places / target_population * 10000 AS per_10k
    FROM figures
)
-- the national median is over every region of the level, so the region filter comes last
SELECT * EXCLUDE (care_order, group_order)
FROM (
    SELECT at_ts, region_code, region_name, care_type, target_group, services, services_fresh, places, available,
           waiting, unmet_now, norm_places, norm_gap, per_10k,
           median(per_10k) OVER (PARTITION BY at_ts, care_type, target_group) AS national_median_per_10k,
           median_wait_intake_days, median_wait_treatment_days, wait_breaches,
           wait_norm_intake_days, wait_norm_treatment_days, inhabitants, target_population, care_order, group_order
    FROM measured
)
WHERE $region IS NULL OR region_code = $region
ORDER BY at_ts, care_order, group_order, region_code
