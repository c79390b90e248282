-- Figures providers send through their personal update link (ingest/provider_form.py): which link, when,
-- which values changed (audit, shown to data stewards), and the reminders queued before figures turn stale.

CREATE TABLE provider_update (
    submission_id VARCHAR NOT NULL CHECK (regexp_full_match(submission_id, '[0-9a-f]{32}')),
    service_id    VARCHAR NOT NULL,
    link_id       VARCHAR NOT NULL,
    provider_id   VARCHAR NOT NULL,
    action        VARCHAR NOT NULL CHECK (action IN ('update', 'confirm')),
    submitted_at  TIMESTAMPTZ NOT NULL,
    run_id        BIGINT NOT NULL,
    processed_at  TIMESTAMPTZ NOT NULL,
    changes       VARCHAR NOT NULL,    -- JSON list of {"field", "before", "after"}; [] when nothing changed
    PRIMARY KEY (submission_id, service_id)
);
CREATE INDEX provider_update_provider ON provider_update (provider_id, submitted_at);

-- One row per reminder queued: a service's latest figure (valid_at) reached a stage of its freshness window
-- ('soon': 75% used, 'stale': used up), for one invite (its address). Never queued twice.
CREATE TABLE provider_reminder (
    service_id VARCHAR NOT NULL,
    valid_at   TIMESTAMPTZ NOT NULL,
    stage      VARCHAR NOT NULL CHECK (stage IN ('soon', 'stale')),
    link_id    VARCHAR NOT NULL,
    message_id BIGINT NOT NULL,
    queued_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (service_id, valid_at, stage, link_id)
);
