-- 012: alerts and the weekly digest (ingest/alerts.py, ingest/digest.py), written by the ingest process only.
-- Subscriptions themselves live in data/alerts/subscriptions.sqlite3 (the web and the CLI write them; webhook
-- secrets never enter the warehouse or its published copies).

-- Images shown inside an e-mail's HTML as cid:<content_id> (the digest's trend charts), sent with the message.
CREATE TABLE mail_image (
    message_id BIGINT NOT NULL,
    content_id VARCHAR NOT NULL CHECK (regexp_full_match(content_id, '[A-Za-z0-9._-]{1,64}')),
    png        BLOB NOT NULL,
    PRIMARY KEY (message_id, content_id)
);

-- Webhook calls, queued with the alert that causes them and sent later, like mail_outbox: 'sending' is
-- committed before the HTTP request, 'sent' after a 2xx answer; a row still 'sending' after a restart becomes
-- 'uncertain' and is never sent again. body: the exact JSON sent (signed at send time with the subscription's
-- secret, which is looked up then and never stored here).
CREATE SEQUENCE webhook_outbox_id START 1;

CREATE TABLE webhook_outbox (
    delivery_id     BIGINT PRIMARY KEY DEFAULT nextval('webhook_outbox_id'),
    subscription_id VARCHAR NOT NULL,
    url             VARCHAR NOT NULL,
    body            VARCHAR NOT NULL,
    state           VARCHAR NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'uncertain')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_status     INTEGER,
    last_error      VARCHAR,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ,
    CHECK (state <> 'sent' OR sent_at IS NOT NULL)
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_attempt_at);

-- What each subscription last said about each thing it watches (item: a care type/target group cell, a
-- threshold, a day's signals, a source). announced: the state last told (or the first state seen, told to
-- nobody: announced_at NULL); seen: the state at the latest evaluation, seen_at: when it (or what was told)
-- last changed. A change is told once, and the next
-- change of the same item waits until the settle time after the last message has passed.
CREATE TABLE alert_state (
    subscription_id VARCHAR NOT NULL,
    item            VARCHAR NOT NULL,
    announced       VARCHAR NOT NULL,
    announced_at    TIMESTAMPTZ,
    seen            VARCHAR NOT NULL,
    seen_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (subscription_id, item)
);

-- One row per alert message queued (its mail and/or webhook call), with the transitions it told (JSON).
CREATE SEQUENCE alert_id START 1;
CREATE TABLE alert_sent (
    alert_id        BIGINT PRIMARY KEY DEFAULT nextval('alert_id'),
    subscription_id VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,
    publication     BIGINT,
    evaluated_at    TIMESTAMPTZ NOT NULL,
    transitions     VARCHAR NOT NULL,
    message_id      BIGINT,
    delivery_id     BIGINT
);
CREATE INDEX alert_sent_subscription ON alert_sent (subscription_id, evaluated_at);

-- One row per weekly digest queued: never twice for the same subscription and week, also after a restart.
CREATE TABLE digest_sent (
    subscription_id VARCHAR NOT NULL,
    week_of         DATE NOT NULL,
    queued_at       TIMESTAMPTZ NOT NULL,
    message_id      BIGINT,
    delivery_id     BIGINT,
    PRIMARY KEY (subscription_id, week_of)
);
