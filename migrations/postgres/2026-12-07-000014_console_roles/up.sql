-- CLN's sub-login roles beside operator, full and read-only (src/domain/roles.rs).
ALTER TABLE console_users DROP CONSTRAINT console_users_role_check;
ALTER TABLE console_users ADD CONSTRAINT console_users_role_check
    CHECK (role IN ('operator', 'full', 'billing', 'licenses', 'servers',
                    'billing-read-only', 'servers-read-only', 'read-only'));
