-- Shortfall figures per moment x region x care type x target group (DESIGN.md, "Shortfall").
-- Parameters: $level (NULL: every level, as derive fills the copy's table), $times (TIMESTAMPTZ[]), $care_type, $target_group, $framework, $region, $only_region,
-- $max_window_days, $window_start, $window_end, $from_copy, $last_figure (filters NULL for all). Reads the
-- derived tables of the copy (derive.sql). $region filters the result (national medians still compare with
-- every region); $only_region leaves out every other region's services early (fast, for trends of one
-- region; national medians are then NULL). Status and its reasons are derived in status.py.
WITH
times AS (SELECT unnest($times::TIMESTAMPTZ[]) AS at_ts),
region_pop AS (
    SELECT level, region_code, region_name, inhabitants, children FROM derived.region_pop
    WHERE $level IS NULL OR level = $level
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
service_weight AS (
    SELECT level, service_id, region_code, weight FROM derived.service_weight WHERE $level IS NULL OR level = $level
),
services AS (
    SELECT s.service_id, s.care_type, g.target_group
    FROM service AS s
    JOIN service_target_group AS g USING (service_id)
    JOIN combos AS c ON c.care_type = s.care_type AND c.target_group = g.target_group
    WHERE ($framework IS NULL OR s.framework IN ($framework, 'both'))
      AND ($only_region IS NULL OR s.service_id IN (SELECT service_id FROM service_weight
                                                      WHERE region_code = $only_region))
),
-- a service counts at a moment once it has reported at or before it
known AS (
    SELECT t.at_ts, s.service_id
    FROM times AS t
    JOIN service AS s ON s.first_valid_at <= t.at_ts
    WHERE s.service_id IN (SELECT service_id FROM services)
),
-- its latest figure at that moment, looked for only within the longest freshness window: an older one
-- is stale anyway (ties: the latest loaded). With $from_copy: from the copy's last observation on
-- ($last_figure) derived.latest, for the copy's standard earlier moments (week and month ends)
-- derived.moment_latest; otherwise the observations are scanned (latest_at_moments.sql).
{latest_at_moments},
recent AS (
    SELECT t.at_ts, l.service_id, l.o
    FROM times AS t
    JOIN derived.latest AS l ON l.o.valid_at <= t.at_ts AND l.o.valid_at >= t.at_ts - to_hours(24 * $max_window_days)
    WHERE $from_copy AND t.at_ts >= $last_figure AND l.service_id IN (SELECT service_id FROM services)
    UNION ALL
    SELECT m.at_ts, m.service_id, m.o
    FROM derived.moment_latest AS m
    WHERE $from_copy AND m.at_ts < $last_figure AND m.at_ts IN (SELECT at_ts FROM times)
      AND m.service_id IN (SELECT service_id FROM services)
    UNION ALL
    SELECT at_ts, service_id, o FROM scanned WHERE NOT $from_copy
),
observed AS (
    SELECT k.at_ts, k.service_id, r.o.valid_at, r.o.maximum, r.o.available, r.o.waiting_count,
           r.o.wait_days_intake, r.o.wait_days_treatment, c.care_type, c.target_group, c.wait_norm_intake_days,
           c.wait_norm_treatment_days,
           -- fresh while its age is at most the window, in elapsed microseconds (exact at the edge)
           coalesce(epoch_us(k.at_ts) - epoch_us(r.o.valid_at)
                        <= 86400000000 * coalesce(src.freshness_days, c.freshness_days), false) AS fresh
    FROM known AS k
    JOIN services AS s USING (service_id)
    JOIN combos AS c ON c.care_type = s.care_type AND c.target_group = s.target_group
    LEFT JOIN recent AS r ON r.at_ts = k.at_ts AND r.service_id = k.service_id
    LEFT JOIN source AS src ON src.source_id = r.o.source_id
),
cells AS (
    SELECT o.at_ts, w.level, w.region_code, o.care_type, o.target_group,
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
    GROUP BY o.at_ts, w.level, w.region_code, o.care_type, o.target_group
),
figures AS (
    SELECT t.at_ts, r.level, r.region_code, r.region_name, c.care_type, c.target_group, c.care_order, c.group_order,
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
    LEFT JOIN cells AS x ON x.at_ts = t.at_ts AND x.level = r.level AND x.region_code = r.region_code
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
    SELECT at_ts, level, region_code, region_name, care_type, target_group, services, services_fresh, places, available,
           waiting, unmet_now, norm_places, norm_gap, per_10k,
           CASE WHEN $only_region IS NULL
                THEN median(per_10k) OVER (PARTITION BY at_ts, level, care_type, target_group) END
               AS national_median_per_10k,
           median_wait_intake_days, median_wait_treatment_days, wait_breaches,
           wait_norm_intake_days, wait_norm_treatment_days, inhabitants, target_population, care_order, group_order
    FROM measured
)
WHERE coalesce($region, $only_region) IS NULL OR region_code = coalesce($region, $only_region)
ORDER BY at_ts, level, care_order, group_order, region_code
