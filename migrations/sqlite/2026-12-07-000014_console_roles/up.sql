-- CLN's sub-login roles beside operator, full and read-only (src/domain/roles.rs). SQLite
-- cannot change a CHECK in place: the table is rebuilt with the same rows and ids. Dropping
-- the old table would delete its sessions through their foreign key, so they are kept aside
-- and put back (nobody is logged out by the upgrade).
CREATE TEMPORARY TABLE kept_sessions AS SELECT * FROM console_sessions;
CREATE TABLE console_users_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('operator', 'full', 'billing', 'licenses', 'servers',
                                       'billing-read-only', 'servers-read-only', 'read-only')),
    reseller_id BIGINT REFERENCES resellers (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    CHECK ((role = 'operator') = (reseller_id IS NULL))
);
INSERT INTO console_users_new (id, email, password_hash, role, reseller_id, created_at)
    SELECT id, email, password_hash, role, reseller_id, created_at FROM console_users;
DROP TABLE console_users;
ALTER TABLE console_users_new RENAME TO console_users;
CREATE INDEX console_users_reseller ON console_users (reseller_id);
INSERT INTO console_sessions SELECT * FROM kept_sessions;
DROP TABLE kept_sessions;
