-- The rejected rows of each source's most recent run that rejected any, newest sources first.
-- Parameter: $per_source (how many rows per source).
WITH latest AS (
    SELECT source_id, max(run_id) AS run_id FROM rejected_row GROUP BY source_id
)
SELECT r.source_id, r.run_id, r.file_name, r.row_number, r.column_name, r.value, r.message_nl, r.message_en
FROM rejected_row AS r
JOIN latest USING (source_id, run_id)
QUALIFY row_number() OVER (PARTITION BY r.source_id ORDER BY r.row_number NULLS FIRST) <= $per_source
ORDER BY r.source_id, r.row_number NULLS FIRST
