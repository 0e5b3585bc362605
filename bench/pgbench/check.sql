-- check.json: the types held on one seeded address (credentials come from ipls's cache).
\set i random(0, :n - 1)
SELECT type_id FROM ip_licenses
  WHERE ip = '10.' || ((:i / 65536) % 256) || '.' || ((:i / 256) % 256) || '.' || (:i % 256)
    AND (trial_expires_at IS NULL OR trial_expires_at > now()::timestamp)
  ORDER BY type_id;
