-- 010: a persistent outbox of e-mail (reminders and the like), written by the ingest process only.
-- A message is queued in the same transaction as what caused it and sent later by ingest/outbox.py: marked
-- 'sending' (and committed) before the SMTP conversation, 'sent' after it. A row still 'sending' after a restart
-- may or may not have arrived; it becomes 'uncertain' and is never sent again (at most once).
-- link_id: an id the sender's personaliser uses to fill placeholders at send time (NULL: send the stored bodies).
-- smtp_message_id: the Message-ID header, chosen at the first attempt and kept for retries, so a steward can
-- look an 'uncertain' message up in the mail server's log.
CREATE SEQUENCE mail_outbox_id START 1;

CREATE TABLE mail_outbox (
    message_id      BIGINT PRIMARY KEY DEFAULT nextval('mail_outbox_id'),
    kind            VARCHAR NOT NULL CHECK (kind <> ''),
    recipient       VARCHAR NOT NULL CHECK (recipient <> ''),
    subject         VARCHAR NOT NULL,
    body_text       VARCHAR NOT NULL,
    body_html       VARCHAR,
    link_id         VARCHAR,
    state           VARCHAR NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'uncertain')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      VARCHAR,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ,
    smtp_message_id VARCHAR,
    CHECK (state <> 'sent' OR sent_at IS NOT NULL)
);

CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);
