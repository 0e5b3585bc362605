-- The authentication lookup ipls makes when a login is not in its credentials cache
-- (at most once per IPLS_AUTH_CACHE_SECS per login; the "before" run made it on every call).
SELECT id, login, secret, api_enabled, legacy_sha1, trial, blocked_reason, created_at, allow_from
  FROM resellers WHERE login = 'bench' LIMIT 1;
