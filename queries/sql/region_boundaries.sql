-- The dissolved boundaries of every region of one level (GeoJSON geometries).
SELECT region_code, region_name, boundary_geojson FROM region WHERE level = $level ORDER BY region_code
