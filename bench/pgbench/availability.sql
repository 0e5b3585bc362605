-- availability.json: authentication, licenses on the address, the caller's counts per
-- type, its enabled types.
\set i random(0, :n - 1)
SELECT id, login, secret, api_enabled, legacy_sha1, trial, blocked_reason, created_at, allow_from
  FROM resellers WHERE login = 'bench' LIMIT 1;
SELECT reseller_id, type_id, slot FROM ip_licenses
  WHERE ip = '10.' || ((:i / 65536) % 256) || '.' || ((:i / 256) % 256) || '.' || (:i % 256)
    AND (trial_expires_at IS NULL OR trial_expires_at > now()::timestamp);
SELECT type_id, count(*) FROM ip_licenses
  WHERE reseller_id = :rid AND (trial_expires_at IS NULL OR trial_expires_at > now()::timestamp)
  GROUP BY type_id;
SELECT t.id, t.name, t.family, f.exclusive, f.convertible, g.license_limit
  FROM reseller_types g JOIN license_types t ON t.id = g.type_id JOIN license_families f ON f.name = t.family
  WHERE g.reseller_id = :rid ORDER BY t.id;
