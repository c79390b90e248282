-- Anonymous "searched, found nothing" signals (unmet demand) per region x care type x target group, with
-- the count per reason. A signal counts in the region of `$level` its municipality belongs to.
-- Parameters: $level, $start, $end (signals with $start < signalled_at <= $end), $region (NULL for all).
SELECT m.region_code, r.region_name, s.care_type, s.target_group,
       count(*) AS signals,
       count(*) FILTER (WHERE s.reason = 'no_service') AS no_service,
       count(*) FILTER (WHERE s.reason = 'no_room') AS no_room,
       count(*) FILTER (WHERE s.reason = 'wait_too_long') AS wait_too_long,
       count(*) FILTER (WHERE s.reason = 'not_eligible') AS not_eligible,
       count(*) FILTER (WHERE s.reason = 'other') AS other
FROM demand_signal AS s
JOIN region_membership AS m ON m.level = $level AND m.gemeente_code = s.gemeente_code
JOIN region AS r ON r.level = m.level AND r.region_code = m.region_code
JOIN care_type AS ct ON ct.care_type = s.care_type
JOIN target_group AS tg ON tg.target_group = s.target_group
WHERE s.signalled_at > $start AND s.signalled_at <= $end
  AND ($region IS NULL OR m.region_code = $region)
GROUP BY m.region_code, r.region_name, s.care_type, s.target_group, ct.sort_order, tg.sort_order
ORDER BY m.region_code, ct.sort_order, tg.sort_order
