-- The most recent corrections: figures a later load of the same service and moment replaced, with what stands
-- now, newest first. Parameter: $limit.
SELECT s.source_id, s.service_id, sv.name AS service_name, s.valid_at, s.superseded_at, s.superseded_by_run,
       s.maximum AS maximum_before, s.available AS available_before, s.waiting_count AS waiting_before,
       s.status AS status_before,
       c.maximum AS maximum_now, c.available AS available_now, c.waiting_count AS waiting_now, c.status AS status_now
FROM superseded_observation AS s
LEFT JOIN capacity_observation AS c USING (service_id, valid_at, source_id)
LEFT JOIN service AS sv USING (service_id)
ORDER BY s.superseded_at DESC, s.service_id, s.valid_at
LIMIT $limit
