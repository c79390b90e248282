-- 003: when each service first reported, so that "a service counts at t once it has an
-- observation with valid_at <= t" needs no scan of the whole history. Kept by the loader.
ALTER TABLE service ADD COLUMN first_valid_at TIMESTAMPTZ;

UPDATE service SET first_valid_at = f.first_valid_at
FROM (SELECT service_id, min(valid_at) AS first_valid_at FROM capacity_observation GROUP BY service_id) AS f
WHERE service.service_id = f.service_id;
