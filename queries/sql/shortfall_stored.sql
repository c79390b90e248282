-- Shortfall cells stored in the copy (derived.shortfall, see derive.sql) at the stored moments $stored (the
-- caller maps a moment of the copy's window to its computed_at). Parameters: $stored (TIMESTAMPTZ[]), $level,
-- $framework, $care_type, $target_group, $region, $only_region (filters NULL for all; as in shortfall.sql,
-- $only_region gives no national median).
SELECT at_ts, level, region_code, region_name, care_type, target_group, services, services_fresh, places, available,
       waiting, unmet_now, norm_places, norm_gap, per_10k,
       CASE WHEN $only_region IS NULL THEN national_median_per_10k END AS national_median_per_10k,
       median_wait_intake_days, median_wait_treatment_days, wait_breaches, wait_norm_intake_days,
       wait_norm_treatment_days, inhabitants, target_population
FROM derived.shortfall
WHERE level = $level
  AND framework IS NOT DISTINCT FROM $framework
  AND list_contains($stored::TIMESTAMPTZ[], at_ts)
  AND ($care_type IS NULL OR care_type = $care_type)
  AND ($target_group IS NULL OR target_group = $target_group)
  AND (coalesce($region, $only_region) IS NULL OR region_code = coalesce($region, $only_region))
ORDER BY at_ts, row_order
