-- Sources a reseller authenticated from (an IPv4 address, an IPv6 /64): failures for that
-- login from elsewhere cannot lock these out.
CREATE TABLE known_sources (
    reseller_id BIGINT NOT NULL REFERENCES resellers (id) ON DELETE CASCADE,
    net TEXT NOT NULL,
    last_ok_at TIMESTAMP NOT NULL,
    PRIMARY KEY (reseller_id, net)
);

-- Failed-authentication budgets shared by all instances (token buckets, one row per key).
-- UNLOGGED: losing them in a crash only forgives some failures.
CREATE UNLOGGED TABLE auth_budgets (
    key TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    at TIMESTAMP NOT NULL
);
