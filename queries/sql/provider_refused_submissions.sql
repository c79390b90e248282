-- Submission files of the built-in source `aanbieders` that the ingester refused or that lost rows, with why.
-- Parameter: $names (the file names the web wrote).
SELECT r.file_name,
       coalesce(r.error_nl, string_agg(DISTINCT x.message_nl, '; ')),
       coalesce(r.error_en, string_agg(DISTINCT x.message_en, '; '))
FROM ingest_run AS r
LEFT JOIN rejected_row AS x ON x.run_id = r.run_id
WHERE r.source_id = 'aanbieders' AND r.file_name IN (SELECT unnest($names::VARCHAR[]))
  AND r.status IN ('failed', 'partial')
GROUP BY r.file_name, r.error_nl, r.error_en
