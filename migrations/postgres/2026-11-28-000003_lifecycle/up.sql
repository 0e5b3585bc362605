-- Trial licenses expire: NULL for paid licenses.
ALTER TABLE ip_licenses ADD COLUMN trial_expires_at TIMESTAMP;

-- Monthly price per license of a type, in cents, for usage reports.
CREATE TABLE prices (
    type_id INTEGER PRIMARY KEY REFERENCES license_types (id),
    monthly_cents BIGINT NOT NULL CHECK (monthly_cents >= 0),
    updated_at TIMESTAMP NOT NULL
);

-- Stale report: licenses by last check-in.
CREATE INDEX ip_licenses_by_checkin ON ip_licenses (last_checkin);
