//! Mail to people waiting to go (the outbox): each message is queued in the transaction that
//! decided it (a report period, a reset link) and sent by the mail worker, which leases a
//! few at a time, sends each and records what became of it. A failure for now is retried on
//! the schedule; a refusal for good (SMTP 5xx) ends the message and marks its address failing
//! until a later message to it goes through.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::commit_signal::Signal;
use crate::db::schema::mail_outbox;
use crate::db::DbConnection;
use crate::error::DomainError;

/// What a message is (`kind`), in the outbox and `ipls mail deliveries`.
pub const STALE: &str = "not_checking_in";
pub const STATEMENT: &str = "statement";
pub const TRIALS: &str = "trials_ending";
pub const DIGEST: &str = "operator_digest";
pub const RESET: &str = "password_reset";

/// A message to queue.
pub struct NewMail<'a> {
    pub kind: &'static str,
    pub reseller_id: Option<i64>,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// A file name and its text (the statement's CSV).
    pub attachment: Option<(&'a str, &'a str)>,
}

/// A queued message as the worker sends it and `ipls mail deliveries` lists it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mail_outbox)]
pub struct Mail {
    pub id: i64,
    pub kind: String,
    pub reseller_id: Option<i64>,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    pub attachment_name: Option<String>,
    pub attachment: Option<String>,
    /// The Message-ID's left part: the same for every attempt, so that a copy sent twice
    /// (see `docs/operations.md`, "Mail") is recognisably one message.
    pub message_id: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub failed_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
}

impl Mail {
    pub fn state(&self) -> &'static str {
        match (self.sent_at, self.failed_at) {
            (Some(_), _) => "sent",
            (None, Some(_)) => "failed",
            (None, None) if self.attempts > 0 => "retrying",
            (None, None) => "queued",
        }
    }
}

/// Queues one message, due at once.
pub fn queue(
    conn: &mut DbConnection,
    mail: &NewMail<'_>,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    let message_id = format!(
        "ipls.{}.{}",
        now.and_utc().timestamp(),
        hex::encode(crate::domain::random::bytes::<12>()?)
    );
    let (name, text) = mail.attachment.unzip();
    diesel::insert_into(mail_outbox::table)
        .values((
            mail_outbox::kind.eq(mail.kind),
            mail_outbox::reseller_id.eq(mail.reseller_id),
            mail_outbox::to_address.eq(mail.to),
            mail_outbox::subject.eq(mail.subject),
            mail_outbox::body.eq(mail.body),
            mail_outbox::attachment_name.eq(name),
            mail_outbox::attachment.eq(text),
            mail_outbox::message_id.eq(&message_id),
            mail_outbox::next_attempt_at.eq(now),
        ))
        .execute(conn)?;
    // Inside a transaction: wakes this instance's mail worker once it commits (others find
    // the message on their next look).
    MAIL_QUEUED.on_commit();
    Ok(())
}

/// Raised when a transaction that queued mail commits.
pub static MAIL_QUEUED: Signal = Signal::new();

fn unsettled() -> diesel::dsl::And<
    diesel::dsl::IsNull<mail_outbox::sent_at>,
    diesel::dsl::IsNull<mail_outbox::failed_at>,
> {
    mail_outbox::sent_at
        .is_null()
        .and(mail_outbox::failed_at.is_null())
}

/// Leases up to `limit` due messages to `owner` until `until`, oldest first. Each lease is a
/// compare-and-set on the row as read, so two workers never hold one message; a worker killed
/// while holding it leaves it to whoever looks after `until`. A few more than `limit` are read,
/// so that a worker that loses the first to another still finds work.
pub fn claim(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    until: NaiveDateTime,
    owner: &str,
    limit: i64,
) -> Result<Vec<Mail>, DomainError> {
    let free = mail_outbox::lease_until
        .is_null()
        .or(mail_outbox::lease_until.lt(now));
    let due: Vec<i64> = mail_outbox::table
        .filter(unsettled())
        .filter(mail_outbox::next_attempt_at.le(now))
        .filter(free)
        .order(mail_outbox::id)
        .limit(limit + 8)
        .select(mail_outbox::id)
        .load(conn)?;
    let mut claimed = Vec::new();
    for id in due {
        if claimed.len() as i64 >= limit {
            break;
        }
        let free = mail_outbox::lease_until
            .is_null()
            .or(mail_outbox::lease_until.lt(now));
        let taken = diesel::update(mail_outbox::table.find(id).filter(unsettled()).filter(free))
            .set((
                mail_outbox::lease_owner.eq(owner),
                mail_outbox::lease_until.eq(until),
            ))
            .execute(conn)?;
        if taken == 1 {
            claimed.push(
                mail_outbox::table
                    .find(id)
                    .select(Mail::as_select())
                    .first(conn)?,
            );
        }
    }
    Ok(claimed)
}

/// What became of one attempt.
pub enum Outcome {
    Sent,
    /// Failed for now: try again at this time.
    RetryAt(NaiveDateTime, String),
    /// Refused for good, or the schedule is used up.
    Failed(String),
}

/// Records an attempt of a message this `owner` holds; false when the lease was lost (then
/// nothing is written).
pub fn record(
    conn: &mut DbConnection,
    id: i64,
    owner: &str,
    now: NaiveDateTime,
    outcome: &Outcome,
) -> Result<bool, DomainError> {
    let held = mail_outbox::table
        .find(id)
        .filter(mail_outbox::lease_owner.eq(owner));
    let none: Option<NaiveDateTime> = None;
    let released = (
        mail_outbox::lease_owner.eq(None::<String>),
        mail_outbox::lease_until.eq(none),
        mail_outbox::attempts.eq(mail_outbox::attempts + 1),
    );
    let changed = match outcome {
        Outcome::Sent => diesel::update(held)
            .set((released, mail_outbox::sent_at.eq(Some(now))))
            .execute(conn)?,
        Outcome::RetryAt(at, error) => diesel::update(held)
            .set((
                released,
                mail_outbox::next_attempt_at.eq(*at),
                mail_outbox::last_error.eq(Some(error)),
            ))
            .execute(conn)?,
        Outcome::Failed(error) => diesel::update(held)
            .set((
                released,
                mail_outbox::failed_at.eq(Some(now)),
                mail_outbox::last_error.eq(Some(error)),
            ))
            .execute(conn)?,
    };
    if changed == 1 && !matches!(outcome, Outcome::RetryAt(..)) {
        // A reset link is a credential: once its message is settled, its text is not kept.
        diesel::update(
            mail_outbox::table
                .find(id)
                .filter(mail_outbox::kind.eq(RESET)),
        )
        .set(mail_outbox::body.eq(SETTLED_RESET_BODY))
        .execute(conn)?;
    }
    Ok(changed == 1)
}

/// What a settled reset message's text becomes.
pub const SETTLED_RESET_BODY: &str = "(a password reset link: not kept once sent)";

/// Which messages `ipls mail deliveries` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    All,
    /// Not sent yet: queued or retrying.
    Waiting,
    Failed,
}

/// The latest `limit` messages (newest first), of one reseller when given.
pub fn list(
    conn: &mut DbConnection,
    listing: Listing,
    reseller_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Mail>, DomainError> {
    let mut query = mail_outbox::table
        .select(Mail::as_select())
        .order(mail_outbox::id.desc())
        .limit(limit)
        .into_boxed();
    query = match listing {
        Listing::All => query,
        Listing::Waiting => query.filter(unsettled()),
        Listing::Failed => query.filter(mail_outbox::failed_at.is_not_null()),
    };
    if let Some(id) = reseller_id {
        query = query.filter(mail_outbox::reseller_id.eq(id));
    }
    Ok(query.load(conn)?)
}

/// Of `addresses`, those failing: the last message to each that was settled was refused or
/// gave up, with its error. A message sent to it later clears it.
pub fn failing(
    conn: &mut DbConnection,
    addresses: &[String],
) -> Result<Vec<(String, String)>, DomainError> {
    let mut failing = Vec::new();
    for address in addresses {
        let last: Option<(Option<NaiveDateTime>, Option<String>)> = mail_outbox::table
            .filter(mail_outbox::to_address.eq(address))
            .filter(
                mail_outbox::sent_at
                    .is_not_null()
                    .or(mail_outbox::failed_at.is_not_null()),
            )
            .order(mail_outbox::id.desc())
            .select((mail_outbox::failed_at, mail_outbox::last_error))
            .first(conn)
            .optional()?;
        if let Some((Some(_), error)) = last {
            failing.push((address.clone(), error.unwrap_or_default()));
        }
    }
    Ok(failing)
}
