-- 009: what a run's filters left out, and the configuration a file or feed answer was read with.
-- rows_filtered: rows the source's [[sources.filters]] did not keep (counted, never silently dropped).
-- config_fingerprint: a hash of the source's rules when the content was read; content seen under other rules
-- counts as new, so a corrected mapping takes effect at the next run (NULL: read before this migration).
ALTER TABLE ingest_run ADD COLUMN IF NOT EXISTS rows_filtered INTEGER DEFAULT 0;
ALTER TABLE file_seen ADD COLUMN IF NOT EXISTS config_fingerprint VARCHAR;
ALTER TABLE feed_state ADD COLUMN IF NOT EXISTS config_fingerprint VARCHAR;
