-- list.json: authentication, then every page of the caller's licenses (keyset paging).
SELECT id, login, secret, api_enabled, legacy_sha1, trial, blocked_reason, created_at, allow_from
  FROM resellers WHERE login = 'bench' LIMIT 1;
SELECT * FROM ip_licenses WHERE reseller_id = :rid ORDER BY ip, type_id;
