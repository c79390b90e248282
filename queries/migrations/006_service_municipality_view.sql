-- 006: the municipalities each service covers (a region code in a service area stands for its
-- municipalities), defined once for the shortfall and the provider search.
CREATE VIEW service_municipality AS
SELECT DISTINCT a.service_id, coalesce(rm.gemeente_code, a.area_code) AS gemeente_code
FROM service_area AS a
LEFT JOIN region_membership AS rm ON a.area_level <> 'gemeente' AND rm.level = a.area_level
                                 AND rm.region_code = a.area_code
WHERE a.area_level = 'gemeente' OR rm.gemeente_code IS NOT NULL;
