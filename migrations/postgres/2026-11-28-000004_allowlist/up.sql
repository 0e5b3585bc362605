-- Per-reseller source allowlist: comma-separated CIDRs; NULL = from anywhere.
ALTER TABLE resellers ADD COLUMN allow_from TEXT;
