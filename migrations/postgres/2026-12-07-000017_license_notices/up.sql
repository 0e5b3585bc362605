-- Events for machines about licenses nobody changed (src/domain/licenses/notices.rs): when
-- `license.stale` was last queued for the license (it is due again once the server has
-- checked in after that and fallen silent again) and when `trial.expiring` was (once per
-- trial). A move starts the license afresh: its row here goes.
CREATE TABLE license_notices (
    license_id BIGINT PRIMARY KEY REFERENCES ip_licenses (id) ON DELETE CASCADE,
    stale_noticed_at TIMESTAMP,
    trial_warned_at TIMESTAMP
);
