-- 008: corrections. A provider who sends the same service and moment again with other figures corrects
-- them: the later load wins (capacity_observation holds it), and the figures it replaced are kept here for
-- audit, with when and by which run they were superseded. What was known at any load time stays queryable:
-- the observation as it stands, plus every version in this table with ingested_at <= that time.
CREATE TABLE IF NOT EXISTS superseded_observation (
    service_id          VARCHAR NOT NULL,
    valid_at            TIMESTAMPTZ NOT NULL,
    source_id           VARCHAR NOT NULL,
    unit                VARCHAR NOT NULL,
    maximum             INTEGER,
    available           INTEGER,
    status              VARCHAR NOT NULL,
    waiting_count       INTEGER,
    wait_days_intake    INTEGER,
    wait_days_treatment INTEGER,
    run_id              BIGINT NOT NULL,
    ingested_at         TIMESTAMPTZ NOT NULL,
    superseded_at       TIMESTAMPTZ NOT NULL,
    superseded_by_run   BIGINT NOT NULL
);
