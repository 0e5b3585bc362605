-- Sources a reseller authenticated from (an IPv4 address, an IPv6 /64): failures for that
-- login from elsewhere cannot lock these out. (Failure budgets of the single SQLite process
-- are kept in its memory.)
CREATE TABLE known_sources (
    reseller_id BIGINT NOT NULL REFERENCES resellers (id) ON DELETE CASCADE,
    net TEXT NOT NULL,
    last_ok_at TIMESTAMP NOT NULL,
    PRIMARY KEY (reseller_id, net)
);
