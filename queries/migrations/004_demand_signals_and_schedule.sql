-- 004: anonymous "searched, found nothing" signals from professionals (unmet demand), and each
-- source's next scheduled run as the ingest scheduler planned it.
CREATE TABLE demand_signal (
    signal_id     VARCHAR PRIMARY KEY CHECK (regexp_full_match(signal_id, '[0-9a-f]{32}')),
    gemeente_code VARCHAR NOT NULL REFERENCES municipality (gemeente_code),
    care_type     VARCHAR NOT NULL REFERENCES care_type (care_type),
    target_group  VARCHAR NOT NULL REFERENCES target_group (target_group),
    reason        VARCHAR NOT NULL CHECK (reason IN ('no_service', 'no_room', 'wait_too_long', 'not_eligible',
                                                     'other')),
    signalled_at  TIMESTAMPTZ NOT NULL,
    source_id     VARCHAR NOT NULL,
    run_id        BIGINT NOT NULL
);

ALTER TABLE source ADD COLUMN next_run_at TIMESTAMPTZ;
