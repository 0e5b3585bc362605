-- Named API secrets beside an account's first one (resellers.secret), for integrations that
-- rotate on their own: a CLN token verifies against any of them. Sealed with the master key,
-- as the first one is. At most 5 secrets per account in all (the domain's rule).
CREATE TABLE reseller_secrets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reseller_id BIGINT NOT NULL REFERENCES resellers (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- Written at most once a minute per secret (auth::secret_use).
    last_used_at TIMESTAMP,
    UNIQUE (reseller_id, name)
);

-- The first secret's own dates: when it was last set (NULL: when the account was made) and
-- last used.
ALTER TABLE resellers ADD COLUMN secret_set_at TIMESTAMP;
ALTER TABLE resellers ADD COLUMN secret_used_at TIMESTAMP;
