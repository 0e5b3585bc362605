ALTER TABLE license_notices DROP COLUMN trial_mailed_at;
ALTER TABLE license_notices DROP COLUMN stale_mailed_at;
DROP TABLE mail_outbox;
DROP TABLE mail_reports;
DROP TABLE report_mailing;
