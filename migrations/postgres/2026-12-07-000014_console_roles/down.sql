-- Back to three roles: logins with one of the new roles are removed (with their sessions).
DELETE FROM console_users WHERE role NOT IN ('operator', 'full', 'read-only');
ALTER TABLE console_users DROP CONSTRAINT console_users_role_check;
ALTER TABLE console_users ADD CONSTRAINT console_users_role_check
    CHECK (role IN ('operator', 'full', 'read-only'));
