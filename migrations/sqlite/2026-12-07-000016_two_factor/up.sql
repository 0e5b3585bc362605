-- Two-factor login for console users (TOTP, RFC 6238; src/domain/two_factor.rs). The secret is
-- sealed with the master key like every other secret; `totp_pending` holds one being set up
-- until its first code proves the authenticator has it; `totp_last_step` is the time step of
-- the last code accepted, so that no code is accepted twice.
ALTER TABLE console_users ADD COLUMN totp_secret TEXT;
ALTER TABLE console_users ADD COLUMN totp_pending TEXT;
ALTER TABLE console_users ADD COLUMN totp_last_step BIGINT;

-- Recovery codes, each usable once: only their SHA-256 is kept.
CREATE TABLE console_recovery_codes (
    user_id BIGINT NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TIMESTAMP,
    PRIMARY KEY (user_id, code_hash)
);

-- A login whose password was right and whose second factor is awaited: the SHA-256 of the
-- random id in the browser's cookie, for a few minutes.
CREATE TABLE console_login_steps (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);

-- One-time password reset links the operator issues (`ipls user reset-link`): the SHA-256 of
-- the token in the link, until it is used or runs out.
CREATE TABLE console_password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
    expires_at TIMESTAMP NOT NULL
);
