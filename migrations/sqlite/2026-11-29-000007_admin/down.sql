DROP TABLE idempotency_keys;
DROP TABLE admin_tokens;
