-- The console lists a reseller's licenses in numeric address order (192.0.2.2 before
-- 192.0.2.10, IPv6 after IPv4): `ip_key` is the address as a sortable text (LicenseIp's
-- `order_key`), written with every license and filled in for older rows at start
-- (`bootstrap`); '' until then.
ALTER TABLE ip_licenses ADD COLUMN ip_key TEXT NOT NULL DEFAULT '';
CREATE INDEX ip_licenses_by_owner_ip_key ON ip_licenses (reseller_id, ip_key, id);
