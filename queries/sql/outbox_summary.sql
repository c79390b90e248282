-- The mail outbox for data stewards, in one row: messages per state (retrying: queued after a failed attempt),
-- the oldest message still queued, and the $limit most recent messages with a problem (failed, uncertain,
-- retrying), newest first. Never a message body: bodies may hold personal links.
WITH problems AS (
    SELECT message_id, kind, recipient, subject, state, attempts, last_error, created_at, next_attempt_at,
           smtp_message_id
    FROM mail_outbox
    WHERE state IN ('failed', 'uncertain') OR (state = 'queued' AND attempts > 0)
    ORDER BY created_at DESC, message_id DESC
    LIMIT $limit
)
SELECT count(*) FILTER (WHERE state = 'queued')                    AS queued,
       count(*) FILTER (WHERE state = 'queued' AND attempts > 0)   AS retrying,
       count(*) FILTER (WHERE state = 'sending')                   AS sending,
       count(*) FILTER (WHERE state = 'sent')                      AS sent,
       count(*) FILTER (WHERE state = 'failed')                    AS failed,
       count(*) FILTER (WHERE state = 'uncertain')                 AS uncertain,
       min(created_at) FILTER (WHERE state = 'queued')             AS oldest_queued_at,
       (SELECT coalesce(list(struct_pack(message_id, kind, recipient, subject, state, attempts, last_error,
                                         created_at, next_attempt_at, smtp_message_id)
                             ORDER BY created_at DESC, message_id DESC), [])
        FROM problems)                                             AS problems
FROM mail_outbox
