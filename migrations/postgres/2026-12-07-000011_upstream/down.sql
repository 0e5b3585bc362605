DROP TABLE upstream_claims;
DROP TABLE upstream_ops;
ALTER TABLE ip_licenses DROP COLUMN relay_state;
DROP TABLE upstream_routes;
DROP TABLE upstreams;
