-- Activation keys (contract keys.md): a reseller's key for one product type, which servers
-- register with. `servers` counts the key's rows in key_servers; a registration raises it
-- with one conditional UPDATE, and the CHECK makes the database itself refuse a key over its
-- limit (0 = unlimited), whatever races. `cidrs` NULL: servers may register from anywhere.
CREATE TABLE activation_keys (
    id BIGSERIAL PRIMARY KEY,
    reseller_id BIGINT NOT NULL REFERENCES resellers (id) ON DELETE CASCADE,
    type_id INTEGER NOT NULL REFERENCES license_types (id),
    key_text TEXT NOT NULL UNIQUE,
    server_limit INTEGER NOT NULL CHECK (server_limit >= 0),
    servers INTEGER NOT NULL DEFAULT 0 CHECK (servers >= 0),
    note TEXT NOT NULL DEFAULT '',
    cidrs TEXT,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT activation_keys_within_limit CHECK (server_limit = 0 OR servers <= server_limit)
);
-- One default key per reseller and product type.
CREATE UNIQUE INDEX activation_keys_one_default ON activation_keys (reseller_id, type_id) WHERE is_default;
CREATE INDEX activation_keys_by_owner ON activation_keys (reseller_id, type_id);

CREATE TABLE key_servers (
    id BIGSERIAL PRIMARY KEY,
    server_id TEXT NOT NULL UNIQUE,
    key_id BIGINT NOT NULL REFERENCES activation_keys (id) ON DELETE CASCADE,
    ip TEXT NOT NULL,
    hostname TEXT,
    created_at TIMESTAMP NOT NULL,
    last_checkin TIMESTAMP
);
CREATE INDEX key_servers_by_key ON key_servers (key_id);

-- Key-server history rows name their server: usage counts license-days per server.
ALTER TABLE license_events ADD COLUMN server_id TEXT;

-- `CLEAN` in the Imunify key API (ours: CLN documents no type number for it).
INSERT INTO license_types (id, name, family) VALUES (50, 'Imunify Clean', 'imunify');
