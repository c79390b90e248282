-- The webhook outbox for data stewards, in one row: calls per state (retrying: queued after a failed attempt),
-- the oldest call still queued, and the $limit most recent calls with a problem (failed, uncertain, retrying),
-- newest first, each naming its receiver by host only (lower-case, as urllib's hostname). Never a body, never the
-- rest of the address: its path or query may carry a token.
WITH problems AS (
    SELECT delivery_id, subscription_id,
           -- scheme://, then any user@ (up to the last @), then the host: [an IPv6 address] or up to : / ? #
           lower(trim(regexp_extract(url, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#]*@)?(\[[^\]/?#]*\]|[^:/?#]*)', 1),
                      '[]')) AS host,
           state, attempts, last_status, last_error, created_at, next_attempt_at
    FROM webhook_outbox
    WHERE state IN ('failed', 'uncertain') OR (state = 'queued' AND attempts > 0)
    ORDER BY created_at DESC, delivery_id DESC
    LIMIT $limit
)
SELECT count(*) FILTER (WHERE state = 'queued')                    AS queued,
       count(*) FILTER (WHERE state = 'queued' AND attempts > 0)   AS retrying,
       count(*) FILTER (WHERE state = 'sending')                   AS sending,
       count(*) FILTER (WHERE state = 'sent')                      AS sent,
       count(*) FILTER (WHERE state = 'failed')                    AS failed,
       count(*) FILTER (WHERE state = 'uncertain')                 AS uncertain,
       min(created_at) FILTER (WHERE state = 'queued')             AS oldest_queued_at,
       (SELECT coalesce(list(struct_pack(delivery_id, subscription_id, host, state, attempts, last_status,
                                         last_error, created_at, next_attempt_at)
                             ORDER BY created_at DESC, delivery_id DESC), [])
        FROM problems)                                             AS problems
FROM webhook_outbox
