-- The latest figures providers sent through their links, for data stewards: when, who, which link, which
-- service, and what changed (JSON list of {field, before, after}). Parameter: $limit.
SELECT u.submitted_at, u.processed_at, coalesce(p.name, u.provider_id) AS provider_name,
       coalesce(s.name, u.service_id) AS service_name, u.link_id, u.action, u.changes
FROM provider_update AS u
LEFT JOIN provider AS p USING (provider_id)
LEFT JOIN service AS s USING (service_id)
ORDER BY u.submitted_at DESC, u.service_id
LIMIT $limit
