-- The levels a region code belongs to, default level first.
SELECT r.level, r.region_name FROM region AS r JOIN region_level AS l USING (level)
WHERE r.region_code = $region ORDER BY l.is_default DESC, l.sort_order
