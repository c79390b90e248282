-- A provider's submissions of the last day that the built-in source `aanbieders` refused or that lost rows,
-- with why, when they are newer than the provider's latest processed update.
-- Parameters: $prefix (the start of the provider's submission file names), $provider_id.
SELECT max(r.finished_at) AS finished_at,
       coalesce(any_value(r.error_nl), string_agg(DISTINCT x.message_nl, '; ')) AS why_nl,
       coalesce(any_value(r.error_en), string_agg(DISTINCT x.message_en, '; ')) AS why_en
FROM ingest_run AS r
LEFT JOIN rejected_row AS x ON x.run_id = r.run_id
WHERE r.source_id = 'aanbieders' AND starts_with(r.file_name, $prefix) AND r.status IN ('failed', 'partial')
  AND r.finished_at > now() - INTERVAL 1 DAY
  AND r.finished_at > coalesce((SELECT max(processed_at) FROM provider_update WHERE provider_id = $provider_id),
                               '-infinity'::TIMESTAMPTZ)
GROUP BY r.run_id
ORDER BY finished_at
