-- One register.json and one remove.json of a fresh address, statement for statement.
\set k random(0, 100000000)
-- register: type, grant, then the transaction
SELECT t.id, t.name, t.family, f.exclusive, f.convertible
  FROM license_types t JOIN license_families f ON f.name = t.family WHERE t.id = 16 LIMIT 1;
SELECT license_limit FROM reseller_types WHERE reseller_id = :rid AND type_id = 16 LIMIT 1;
BEGIN;
SELECT * FROM ip_licenses WHERE ip = '12.' || ((:k / 65536) % 256) || '.' || ((:k / 256) % 256) || '.' || (:k % 256) ORDER BY type_id;
INSERT INTO ip_licenses (reseller_id, ip, type_id, slot, els_allowed, created_at, trial_expires_at)
  VALUES (:rid, '12.' || ((:k / 65536) % 256) || '.' || ((:k / 256) % 256) || '.' || (:k % 256), 16, 'kernelcare', false, now()::timestamp, NULL)
  ON CONFLICT DO NOTHING;
SELECT * FROM ip_licenses WHERE ip = '12.' || ((:k / 65536) % 256) || '.' || ((:k / 256) % 256) || '.' || (:k % 256) AND type_id = 16 LIMIT 1;
INSERT INTO license_events (at, reseller_id, action, ip, type_id, detail, source)
  VALUES (now()::timestamp, :rid, 'register', '12.' || ((:k / 65536) % 256) || '.' || ((:k / 256) % 256) || '.' || (:k % 256), 16, NULL, '127.0.0.1');
COMMIT;
-- remove: the transaction
BEGIN;
SELECT * FROM ip_licenses WHERE reseller_id = :rid AND ip = '12.' || ((:k / 65536) % 256) || '.' || ((:k / 256) % 256) || '.' || (:k % 256) AND type_id = 16 ORDER BY type_id;
DELETE FROM ip_licenses WHERE reseller_id = :rid AND ip = '12.' || ((:k / 65536) % 256) || '.' || ((:k / 256) % 256) || '.' || (:k % 256) AND type_id = 16;
INSERT INTO license_events (at, reseller_id, action, ip, type_id, detail, source)
  VALUES (now()::timestamp, :rid, 'remove', '12.' || ((:k / 65536) % 256) || '.' || ((:k / 256) % 256) || '.' || (:k % 256), 16, NULL, '127.0.0.1');
COMMIT;
