DROP TRIGGER license_events_no_update ON license_events;
DROP FUNCTION license_events_append_only();
DROP TABLE license_events;
DROP TABLE trial_uses;
DROP TABLE ip_licenses;
DROP TABLE reseller_types;
DROP TABLE resellers;
DROP TABLE license_types;
DROP TABLE license_families;
