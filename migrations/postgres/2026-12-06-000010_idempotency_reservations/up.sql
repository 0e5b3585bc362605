-- Idempotency keys become reservations taken before the work (one request wins, the others
-- wait for its answer and replay it), scoped to the token, method and path, and kept for a
-- limited time (expires_at). Kept answers from before are dropped: they had no scope and
-- no expiry, and replaying them could show another endpoint's answer.
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
    token_id BIGINT NOT NULL REFERENCES admin_tokens (id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    -- 'pending' while the winning request works; 'done' with its answer.
    state TEXT NOT NULL,
    status INTEGER,
    -- The answer, sealed with the master key (it may hold a new reseller's secret).
    body TEXT,
    -- What the answer created (keys/KEY, webhooks/ID, resellers/LOGIN): once it is gone,
    -- the key no longer replays a dead resource.
    resource TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (token_id, method, path, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
