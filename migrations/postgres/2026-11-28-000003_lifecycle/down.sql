DROP INDEX ip_licenses_by_checkin;
DROP TABLE prices;
ALTER TABLE ip_licenses DROP COLUMN trial_expires_at;
