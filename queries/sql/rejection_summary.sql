-- The rejected rows of each source's most recent run that rejected any, one line per distinct message (with
-- the value in it) and column: how many rows, the first rows and one value as examples; most frequent first.
-- Parameter: $source (NULL: every source).
WITH latest AS (
    SELECT source_id, max(run_id) AS run_id FROM rejected_row
    WHERE $source IS NULL OR source_id = $source
    GROUP BY source_id
)
SELECT r.source_id, any_value(r.file_name) AS file_name, r.column_name, r.message_nl, r.message_en,
       count(*) AS rows, list(r.row_number ORDER BY r.row_number NULLS FIRST)[1:3] AS example_rows,
       any_value(r.value) AS example_value
FROM rejected_row AS r
JOIN latest USING (source_id, run_id)
GROUP BY r.source_id, r.column_name, r.message_nl, r.message_en
ORDER BY r.source_id, rows DESC, min(r.row_number) NULLS FIRST
