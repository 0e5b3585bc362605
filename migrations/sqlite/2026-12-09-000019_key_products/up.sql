-- CloudLinux OS and ELS keys reuse activation_keys and key_servers (src/domain/keys); what
-- they add for every product is here.

-- KernelCare's sticky tag (src/domain/keys/sticky.rs): a date pinning the key's servers to
-- patches released before it; NULL: none.
ALTER TABLE activation_keys ADD COLUMN sticky_tag DATE;

-- What a KernelCare server reports at check-in (src/domain/keys/monitoring.rs); NULL: not
-- reported. latest_patch_level: the newest level the server could apply.
ALTER TABLE key_servers ADD COLUMN kernel_id TEXT;
ALTER TABLE key_servers ADD COLUMN patch_level INTEGER;
ALTER TABLE key_servers ADD COLUMN latest_patch_level INTEGER;
ALTER TABLE key_servers ADD COLUMN kernel_supported BOOLEAN;

-- Server groups (src/domain/keys/groups.rs): a reseller's, for one product; names are
-- unique per reseller (the group calls name a group by its name alone).
CREATE TABLE server_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reseller_id BIGINT NOT NULL REFERENCES resellers (id) ON DELETE CASCADE,
    product TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    UNIQUE (reseller_id, name)
);
-- A server is in at most one group (the key: its row), its product's (a key server has one
-- product); a server or a group that goes takes its membership along.
CREATE TABLE server_group_members (
    server_row BIGINT PRIMARY KEY REFERENCES key_servers (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES server_groups (id) ON DELETE CASCADE
);
CREATE INDEX server_group_members_by_group ON server_group_members (group_id);

-- The read-only monitoring token of the Nagios reseller form, one per reseller, kept as its
-- SHA-256 (it is a credential).
CREATE TABLE monitoring_tokens (
    reseller_id BIGINT PRIMARY KEY REFERENCES resellers (id) ON DELETE CASCADE,
    token_sha256 TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
