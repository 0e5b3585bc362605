-- Operator API tokens for the admin API: only the SHA-256 of the token is stored.
CREATE TABLE admin_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    read_only BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

-- Answers to POSTs sent with an Idempotency-Key, replayed when the same token sends the same
-- key again: the request's hash, and the answer sealed with the master key (it may hold a
-- new reseller's secret).
CREATE TABLE idempotency_keys (
    token_id BIGINT NOT NULL REFERENCES admin_tokens (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (token_id, key)
);
