-- What resellers ask of a license beyond CLN (docs/api.md, "Beyond CLN").
-- A note (free text, at most 500 characters) and an external id (a billing panel's service
-- id, unique per reseller): never in the CLN faces' answers.
ALTER TABLE ip_licenses ADD COLUMN note TEXT;
ALTER TABLE ip_licenses ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX ip_licenses_external_id ON ip_licenses (reseller_id, external_id)
    WHERE external_id IS NOT NULL;

-- A suspended license keeps its row (its IP, its place in limits); this row says since when,
-- why, and when it is removed unless resumed first. It follows the license through a move.
CREATE TABLE license_suspensions (
    license_id BIGINT PRIMARY KEY REFERENCES ip_licenses (id) ON DELETE CASCADE,
    suspended_at TIMESTAMP NOT NULL,
    reason TEXT NOT NULL,
    remove_at TIMESTAMP
);
CREATE INDEX license_suspensions_remove_at ON license_suspensions (remove_at)
    WHERE remove_at IS NOT NULL;

-- A trial account's trial of a product family (CLN's FAQ): started once per account, ending
-- for every server of the family a trial-length after it started.
CREATE TABLE account_trials (
    reseller_id BIGINT NOT NULL REFERENCES resellers (id) ON DELETE CASCADE,
    family TEXT NOT NULL REFERENCES license_families (name),
    started_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    PRIMARY KEY (reseller_id, family)
);
