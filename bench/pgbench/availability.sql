-- availability.json: licenses on the address and the caller's enabled types (no counts:
-- the bench reseller has no limits; credentials come from ipls's cache).
\set i random(0, :n - 1)
SELECT reseller_id, type_id, slot FROM ip_licenses
  WHERE ip = '10.' || ((:i / 65536) % 256) || '.' || ((:i / 256) % 256) || '.' || (:i % 256)
    AND (trial_expires_at IS NULL OR trial_expires_at > now()::timestamp);
SELECT t.id, t.name, t.family, f.exclusive, f.convertible, g.license_limit
  FROM reseller_types g JOIN license_types t ON t.id = g.type_id JOIN license_families f ON f.name = t.family
  WHERE g.reseller_id = :rid ORDER BY t.id;
