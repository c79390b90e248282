-- 007: the file operations a batch still owes after its commit: moving its inbox file to the archive or
-- quarantine (or keeping only its scrubbed copy), writing its report (`.afgewezen.csv`, `.fout.txt`),
-- deleting a file with personal data of clients. A row is written with the batch's commit (for a refused
-- or re-dropped inbox file just before it) and deleted once all of them are done; a row found at the next
-- run of its source was interrupted (a kill, a power cut) and is done again from what the warehouse holds.
--   stamp: the batch's start, the time in the names of its report; base: the name (unique when listed)
--   its file or copy gets in archive/ or quarantine/, NULL without an inbox file; run_id: the run whose
--   rejected rows are reported, NULL for a refused or re-dropped file.
CREATE TABLE IF NOT EXISTS pending_put_away (
    source_id    VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    file_name    VARCHAR NOT NULL,
    stamp        TIMESTAMPTZ NOT NULL,
    inbox_file   VARCHAR,
    base         VARCHAR,
    run_id       BIGINT,
    PRIMARY KEY (source_id, content_hash, stamp)
);
