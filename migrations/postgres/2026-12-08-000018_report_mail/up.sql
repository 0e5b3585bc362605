-- Report mailing (src/domain/report_mailing.rs): per reseller and product family, whether
-- its reports are mailed and to whom (up to 10 addresses, one per line), as CLN's "report
-- mailing" has it.
CREATE TABLE report_mailing (
    reseller_id BIGINT NOT NULL REFERENCES resellers (id) ON DELETE CASCADE,
    family TEXT NOT NULL REFERENCES license_families (name),
    active BOOLEAN NOT NULL DEFAULT FALSE,
    addresses TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (reseller_id, family)
);

-- Each report period decided (src/domain/mail/reports.rs): the unique key makes a second
-- instance's decision of the same period a conflict, so its mails are queued once.
CREATE TABLE mail_reports (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    period TEXT NOT NULL,
    decided_at TIMESTAMP NOT NULL,
    UNIQUE (kind, period)
);

-- Mail to people waiting to go, and what became of it (src/domain/mail/outbox.rs). The
-- Message-ID's left part holds when it was queued.
CREATE TABLE mail_outbox (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    reseller_id BIGINT REFERENCES resellers (id) ON DELETE SET NULL,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    attachment_name TEXT,
    attachment TEXT,
    message_id TEXT NOT NULL UNIQUE,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_owner TEXT,
    lease_until TIMESTAMP,
    sent_at TIMESTAMP,
    failed_at TIMESTAMP,
    last_error TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX mail_outbox_address ON mail_outbox (to_address, id);

-- Reported by mail once per silence and once per trial, as the webhook notices are.
ALTER TABLE license_notices ADD COLUMN stale_mailed_at TIMESTAMP;
ALTER TABLE license_notices ADD COLUMN trial_mailed_at TIMESTAMP;
