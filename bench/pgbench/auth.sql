-- The authentication lookup every call makes.
SELECT id, login, secret, api_enabled, legacy_sha1, trial, blocked_reason, created_at, allow_from
  FROM resellers WHERE login = 'bench' LIMIT 1;
