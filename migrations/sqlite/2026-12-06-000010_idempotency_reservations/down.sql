DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
    token_id BIGINT NOT NULL REFERENCES admin_tokens (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (token_id, key)
);
