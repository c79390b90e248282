-- When the ingest scheduler plans to run each source next.
SELECT source_id, next_run_at FROM source
