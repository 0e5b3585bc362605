-- Back to three roles: logins with one of the new roles are removed (with their sessions).
CREATE TEMPORARY TABLE kept_sessions AS
    SELECT s.* FROM console_sessions s JOIN console_users u ON u.id = s.user_id
     WHERE u.role IN ('operator', 'full', 'read-only');
CREATE TABLE console_users_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('operator', 'full', 'read-only')),
    reseller_id BIGINT REFERENCES resellers (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    CHECK ((role = 'operator') = (reseller_id IS NULL))
);
INSERT INTO console_users_old (id, email, password_hash, role, reseller_id, created_at)
    SELECT id, email, password_hash, role, reseller_id, created_at FROM console_users
     WHERE role IN ('operator', 'full', 'read-only');
DROP TABLE console_users;
ALTER TABLE console_users_old RENAME TO console_users;
CREATE INDEX console_users_reseller ON console_users (reseller_id);
INSERT INTO console_sessions SELECT * FROM kept_sessions;
DROP TABLE kept_sessions;
