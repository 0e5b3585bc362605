ALTER TABLE resellers DROP COLUMN allow_from;
