DROP INDEX ip_licenses_by_owner_ip_key;
ALTER TABLE ip_licenses DROP COLUMN ip_key;
