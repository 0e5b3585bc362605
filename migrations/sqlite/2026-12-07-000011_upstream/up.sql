-- Upstreams: CLN, or any CLN-compatible API (another ipls), that licenses of some types are
-- carried to (docs/upstream.md). The secret is sealed with the master key.
CREATE TABLE upstreams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    login TEXT NOT NULL,
    secret TEXT NOT NULL,
    -- Calls at once, and calls per second, this instance makes to it.
    concurrency INTEGER NOT NULL,
    rate_per_second INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- One instance at a time reconciles it (the scheduled run).
    reconcile_lease_until TIMESTAMP,
    reconcile_lease_owner TEXT,
    last_reconcile_at TIMESTAMP,
    -- The last reconcile's counts by kind of difference (JSON), for `upstream show`, the
    -- console and the metrics of every instance.
    last_reconcile_counts TEXT,
    -- Set when the "upstream failing" alert (metric, webhook) was raised for the current
    -- run of failures, so that each run raises it once across instances; cleared when the
    -- upstream confirms again.
    failing_alerted_at TIMESTAMP
);

-- Which types are carried to which upstream: a type to at most one.
CREATE TABLE upstream_routes (
    type_id INTEGER PRIMARY KEY REFERENCES license_types (id),
    upstream_id BIGINT NOT NULL REFERENCES upstreams (id) ON DELETE CASCADE
);

-- A license of a routed type is first an intent ('registering') while the upstream is asked,
-- or being withdrawn ('withdrawing') after an answer that did not say; NULL once settled.
-- Either way it holds its IP and counts in limits.
ALTER TABLE ip_licenses ADD COLUMN relay_state TEXT;

-- The relay's outbox: changes to carry to an upstream, written in the transaction of the local
-- change, sent in order per IP and retried until the upstream confirms.
CREATE TABLE upstream_ops (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    upstream_id BIGINT NOT NULL REFERENCES upstreams (id) ON DELETE CASCADE,
    ip TEXT NOT NULL,
    -- 'register', 'remove', 'update' (els_allowed), 'convert' (type_id to type_to).
    op TEXT NOT NULL,
    type_id INTEGER NOT NULL,
    els_allowed BOOLEAN,
    type_to INTEGER,
    -- Who asked (the history's source), for the upstream repair's history row.
    source TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- 'pending' until the upstream confirms, then 'done'.
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    -- Leased by one instance's worker while it calls the upstream (it expires if that
    -- instance dies, and another takes the change over).
    lease_until TIMESTAMP,
    first_failure_at TIMESTAMP,
    last_error TEXT,
    done_at TIMESTAMP
);
CREATE INDEX upstream_ops_queue ON upstream_ops (upstream_id, state, ip, id);
CREATE INDEX upstream_ops_state ON upstream_ops (state, id);

-- What ipls may hold at an upstream because ipls registered (or adopted, or imported) it:
-- written before the upstream is asked, dropped once the upstream confirms its removal. A
-- license held upstream that no claim names is foreign: reconcile reports it, never removes it.
CREATE TABLE upstream_claims (
    upstream_id BIGINT NOT NULL REFERENCES upstreams (id) ON DELETE CASCADE,
    ip TEXT NOT NULL,
    type_id INTEGER NOT NULL,
    since TIMESTAMP NOT NULL,
    PRIMARY KEY (upstream_id, ip, type_id)
);
