DROP TABLE key_servers;
DROP TABLE activation_keys;
ALTER TABLE license_events DROP COLUMN server_id;
DELETE FROM prices WHERE type_id = 50;
DELETE FROM reseller_types WHERE type_id = 50;
DELETE FROM license_types WHERE id = 50;
