DROP INDEX IF EXISTS ip_licenses_trial_end;
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
