DROP INDEX ip_licenses_by_owner_type;
DROP INDEX ip_licenses_by_owner_added;
DROP TABLE console_sessions;
DROP TABLE console_users;
