ALTER TABLE resellers DROP COLUMN secret_used_at;
ALTER TABLE resellers DROP COLUMN secret_set_at;
DROP TABLE reseller_secrets;
