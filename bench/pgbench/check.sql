-- check.json: authentication, then the types held on one seeded address.
\set i random(0, :n - 1)
SELECT id, login, secret, api_enabled, legacy_sha1, trial, blocked_reason, created_at, allow_from
  FROM resellers WHERE login = 'bench' LIMIT 1;
SELECT type_id FROM ip_licenses
  WHERE ip = '10.' || ((:i / 65536) % 256) || '.' || ((:i / 256) % 256) || '.' || (:i % 256)
    AND (trial_expires_at IS NULL OR trial_expires_at > now()::timestamp)
  ORDER BY type_id;
