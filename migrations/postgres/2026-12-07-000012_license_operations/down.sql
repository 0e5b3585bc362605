DROP TABLE account_trials;
DROP TABLE license_suspensions;
DROP INDEX ip_licenses_external_id;
ALTER TABLE ip_licenses DROP COLUMN external_id;
ALTER TABLE ip_licenses DROP COLUMN note;
