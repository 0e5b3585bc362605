-- Core tables. Timestamps are UTC without zone (diesel Timestamp on both backends).
CREATE TABLE license_families (
    name TEXT PRIMARY KEY,
    -- exclusive: at most one type of the family per IP, across all resellers.
    exclusive BOOLEAN NOT NULL,
    -- convertible: convert.json may move a license between types of the family.
    convertible BOOLEAN NOT NULL
);

CREATE TABLE license_types (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    family TEXT NOT NULL REFERENCES license_families (name)
);

CREATE TABLE resellers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    login TEXT NOT NULL UNIQUE,
    -- The IP secret key: needed in clear to verify tokens; never logged.
    secret TEXT NOT NULL,
    api_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    legacy_sha1 BOOLEAN NOT NULL DEFAULT TRUE,
    trial BOOLEAN NOT NULL DEFAULT FALSE,
    -- NULL = active; otherwise why the account is blocked.
    blocked_reason TEXT,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE reseller_types (
    reseller_id BIGINT NOT NULL REFERENCES resellers (id) ON DELETE CASCADE,
    type_id INTEGER NOT NULL REFERENCES license_types (id),
    -- NULL = unlimited.
    license_limit INTEGER,
    PRIMARY KEY (reseller_id, type_id)
);

CREATE TABLE ip_licenses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reseller_id BIGINT NOT NULL REFERENCES resellers (id),
    -- Canonical text form; byte order (BINARY, the default) so that list order matches SQLite's.
    ip TEXT NOT NULL,
    type_id INTEGER NOT NULL REFERENCES license_types (id),
    -- Family name for exclusive families, the type id otherwise: unique (ip, slot)
    -- enforces family exclusivity in the database, race-free.
    slot TEXT NOT NULL,
    els_allowed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    registered_at TIMESTAMP,
    last_checkin TIMESTAMP,
    server_info TEXT,
    CONSTRAINT ip_licenses_ip_type UNIQUE (ip, type_id),
    CONSTRAINT ip_licenses_ip_slot UNIQUE (ip, slot)
);
CREATE INDEX ip_licenses_by_owner ON ip_licenses (reseller_id, ip, type_id);

-- One trial per product family per IP, ever (CLN's billing rule).
CREATE TABLE trial_uses (
    ip TEXT NOT NULL,
    family TEXT NOT NULL REFERENCES license_families (name),
    reseller_id BIGINT NOT NULL REFERENCES resellers (id),
    used_at TIMESTAMP NOT NULL,
    PRIMARY KEY (ip, family)
);

-- Append-only history: the audit log and the source of usage reports.
CREATE TABLE license_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    reseller_id BIGINT REFERENCES resellers (id),
    action TEXT NOT NULL,
    ip TEXT NOT NULL,
    type_id INTEGER,
    detail TEXT,
    source TEXT
);
CREATE INDEX license_events_by_reseller ON license_events (reseller_id, at);
CREATE INDEX license_events_by_ip ON license_events (ip, at);

CREATE TRIGGER license_events_no_update BEFORE UPDATE ON license_events
BEGIN
    SELECT RAISE(ABORT, 'license_events is append-only');
END;
CREATE TRIGGER license_events_no_delete BEFORE DELETE ON license_events
BEGIN
    SELECT RAISE(ABORT, 'license_events is append-only');
END;
