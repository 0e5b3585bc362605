DROP TABLE console_password_resets;
DROP TABLE console_login_steps;
DROP TABLE console_recovery_codes;
ALTER TABLE console_users DROP COLUMN totp_last_step;
ALTER TABLE console_users DROP COLUMN totp_pending;
ALTER TABLE console_users DROP COLUMN totp_secret;
