-- Shortfall cells from derived.shortfall_now (see derive.sql), for a moment inside its window.
-- Parameters: $at, $level, $care_type, $target_group, $region (filters NULL for all).
SELECT $at::TIMESTAMPTZ AS at_ts, region_code, region_name, care_type, target_group, services, services_fresh,
       places, available, waiting, unmet_now, norm_places, norm_gap, per_10k, national_median_per_10k,
       median_wait_intake_days, median_wait_treatment_days, wait_breaches, wait_norm_intake_days,
       wait_norm_treatment_days, inhabitants, target_population
FROM derived.shortfall_now
WHERE level = $level
  AND ($care_type IS NULL OR care_type = $care_type)
  AND ($target_group IS NULL OR target_group = $target_group)
  AND ($region IS NULL OR region_code = $region)
ORDER BY row_order
