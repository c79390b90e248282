-- 002: what each HTTP/HSDS feed last answered, for conditional GET and
-- exactly-once loading of feed content.
CREATE TABLE feed_state (
    source_id     VARCHAR PRIMARY KEY REFERENCES source (source_id),
    etag          VARCHAR,
    last_modified VARCHAR,
    content_hash  VARCHAR,
    fetched_at    TIMESTAMPTZ NOT NULL
);
