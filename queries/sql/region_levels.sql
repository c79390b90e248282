-- Region levels with their number of regions, default level first.
SELECT l.level, l.label_nl, l.label_en, l.origin, l.is_default, count(r.region_code) AS regions
FROM region_level AS l
LEFT JOIN region AS r USING (level)
GROUP BY l.level, l.label_nl, l.label_en, l.origin, l.is_default, l.sort_order
ORDER BY l.is_default DESC, l.sort_order, l.level
