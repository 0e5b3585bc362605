-- Webhook endpoints: the operator's (reseller_id NULL: every reseller's events) or one
-- reseller's. `events` is '*' or a comma-wrapped list (',license.registered,reseller.blocked,').
-- `secret` is the whsec_ signing secret, sealed with the master key. A delivery worker holds
-- an endpoint by its lease while it sends, so one instance delivers an endpoint's events in
-- order at a time.
CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    reseller_id BIGINT REFERENCES resellers (id) ON DELETE CASCADE,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    disabled_reason TEXT,
    lease_until TIMESTAMP,
    lease_owner TEXT,
    created_at TIMESTAMP NOT NULL
);

-- The outbox: one row per (event, endpoint), written in the transaction of the change it
-- reports. `message_id` is the webhook-id header, the same on every attempt.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- NULL: due at once (a new delivery); otherwise when the next retry is due.
    next_attempt_at TIMESTAMP,
    delivered_at TIMESTAMP,
    -- The last attempt's answer. A delivery's successful attempt is recorded only here (one
    -- row update per webhook sent); webhook_attempts keeps the failed ones before it.
    last_status INTEGER,
    last_duration_ms INTEGER,
    last_response TEXT,
    last_error TEXT
);
-- The head of each endpoint's queue, found without reading delivered rows.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, id) WHERE state = 'pending';

-- The delivery log: one row per failed attempt, with the first 2 KB of the answer.
CREATE TABLE webhook_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at TIMESTAMP NOT NULL,
    status INTEGER,
    duration_ms INTEGER NOT NULL,
    response TEXT,
    error TEXT
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);

-- Trials that ran out are found by the delivery worker (license.expired) without a scan.
CREATE INDEX ip_licenses_trial_end ON ip_licenses (trial_expires_at) WHERE trial_expires_at IS NOT NULL;
