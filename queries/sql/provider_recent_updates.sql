-- Per service of a provider, when its latest submission through a link was processed (the last day only).
-- Parameter: $provider_id.
SELECT service_id, max(processed_at) AS processed_at
FROM provider_update
WHERE provider_id = $provider_id AND processed_at > now() - INTERVAL 1 DAY
GROUP BY service_id
