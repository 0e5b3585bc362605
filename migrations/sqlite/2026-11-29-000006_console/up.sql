-- Web console users: operators (no reseller) and a reseller's users (role full or read-only).
-- Only an argon2id hash of the password is stored (PHC string).
CREATE TABLE console_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('operator', 'full', 'read-only')),
    reseller_id BIGINT REFERENCES resellers (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    CHECK ((role = 'operator') = (reseller_id IS NULL))
);
CREATE INDEX console_users_reseller ON console_users (reseller_id);

-- Console sessions, in the database so that every instance sees them: the SHA-256 of the
-- cookie's random id (never the id itself) and the session's CSRF token.
CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);

-- The console's IP Licenses page sorts a reseller's licenses by IP (ip_licenses_by_owner),
-- by date added or by type, a keyset page at a time: each order needs its index.
CREATE INDEX ip_licenses_by_owner_added ON ip_licenses (reseller_id, created_at, id);
CREATE INDEX ip_licenses_by_owner_type ON ip_licenses (reseller_id, type_id, id);
