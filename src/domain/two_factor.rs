//! Two-factor login for console users: TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second
//! steps, one step of clock drift either way), computed by the `totp-rs` crate, and ten
//! recovery codes, each usable once. The secret is sealed with the master key (`SecretBox`,
//! re-sealed by `ipls rekey`); a code's time step must be later than the last one accepted,
//! so no code logs in twice. Setting up keeps the new secret apart (`totp_pending`) until a
//! code made from it proves the authenticator app holds it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

use super::random;
use super::resellers::audit::{self, AccountAction};
use super::resellers::ChangedBy;
use crate::db::models::ConsoleUser;
use crate::db::schema::{console_login_steps, console_recovery_codes, console_users};
use crate::db::{write_transaction, DbConnection};
use crate::error::DomainError;
use crate::secrets::SecretBox;

/// The issuer an authenticator app shows beside the account.
pub const ISSUER: &str = "ipls";
const STEP_SECS: u64 = 30;
const DIGITS: usize = 6;
/// 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
pub const RECOVERY_CODES: usize = 10;
/// How long the second step of a login may wait after the password was right.
pub const LOGIN_STEP_MINUTES: i64 = 5;

/// A secret being set up: what the authenticator app needs.
pub struct Enrolment {
    /// The secret in base32, to type into the app.
    pub secret: String,
    /// The `otpauth://` address an app reads from the QR code.
    pub uri: String,
}

fn label(user_id: i64) -> String {
    format!("console-totp:{user_id}")
}

fn totp(secret: Vec<u8>) -> Result<TOTP, DomainError> {
    TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP_SECS, secret)
        .map_err(|e| DomainError::Internal(format!("TOTP secret refused: {e:?}")))
}

fn open(secrets: &SecretBox, user_id: i64, sealed: &str) -> Result<TOTP, DomainError> {
    let clear = secrets.open(&label(user_id), sealed).ok_or_else(|| {
        DomainError::Internal(format!("the TOTP secret of user {user_id} does not open"))
    })?;
    totp(hex::decode(clear).map_err(|e| DomainError::Internal(e.to_string()))?)
}

pub fn is_enabled(user: &ConsoleUser) -> bool {
    user.totp_secret.is_some()
}

/// Starts setting up (again): a new random secret, kept sealed until `enable`.
pub fn begin(
    conn: &mut DbConnection,
    user: &ConsoleUser,
    secrets: &SecretBox,
) -> Result<Enrolment, DomainError> {
    let secret = random::bytes::<SECRET_BYTES>()?;
    let sealed = secrets
        .seal(&label(user.id), &hex::encode(secret))
        .map_err(DomainError::Internal)?;
    diesel::update(console_users::table.find(user.id))
        .set(console_users::totp_pending.eq(Some(sealed)))
        .execute(conn)?;
    let secret = totp(secret.to_vec())?.get_secret_base32();
    let label = format!("{ISSUER}:{}", user.email);
    let account = percent_encoding::utf8_percent_encode(&label, LABEL);
    let uri = format!(
        "otpauth://totp/{account}?secret={secret}&issuer={ISSUER}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}"
    );
    Ok(Enrolment { secret, uri })
}

/// What an otpauth label escapes: everything but RFC 3986's unreserved characters, and `:`
/// and `@`, which the label is made of.
const LABEL: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':')
    .remove(b'@');

/// The 30-second step of `now`.
fn step_of(now: NaiveDateTime) -> u64 {
    u64::try_from(now.and_utc().timestamp()).unwrap_or(0) / STEP_SECS
}

/// The step among now's and its neighbours whose code `code` is, if any.
fn matching_step(totp: &TOTP, code: &str, now: NaiveDateTime) -> Option<u64> {
    let step = step_of(now);
    [step.saturating_sub(1), step, step + 1]
        .into_iter()
        .find(|s| {
            bool::from(
                totp.generate(s * STEP_SECS)
                    .as_bytes()
                    .ct_eq(code.as_bytes()),
            )
        })
}

/// A code as typed: spaces and dashes dropped, lower case.
fn normalised(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

fn recovery_hash(code: &str) -> String {
    hex::encode(Sha256::digest(normalised(code).as_bytes()))
}

/// Finishes setting up: if `code` comes from the pending secret, it becomes the user's
/// secret, and ten new recovery codes are made; they are returned (in clear) only here.
pub fn enable(
    conn: &mut DbConnection,
    user_id: i64,
    code: &str,
    secrets: &SecretBox,
    by: &ChangedBy<'_>,
) -> Result<Vec<String>, DomainError> {
    let code = normalised(code);
    write_transaction(conn, |c| {
        let (email, reseller_id, pending): (String, Option<i64>, Option<String>) =
            console_users::table
                .find(user_id)
                .select((
                    console_users::email,
                    console_users::reseller_id,
                    console_users::totp_pending,
                ))
                .first(c)?;
        let pending = pending.ok_or_else(|| {
            DomainError::invalid("start the setup first: no new secret is waiting for a code")
        })?;
        let step = matching_step(&open(secrets, user_id, &pending)?, &code, by.now)
            .ok_or_else(|| {
                DomainError::invalid(
                    "that code does not match: check the app's clock and type the code it shows now",
                )
            })?;
        diesel::update(console_users::table.find(user_id))
            .set((
                console_users::totp_secret.eq(Some(pending)),
                console_users::totp_pending.eq(None::<String>),
                console_users::totp_last_step.eq(Some(i64::try_from(step).unwrap_or(i64::MAX))),
            ))
            .execute(c)?;
        let codes = new_recovery_codes(c, user_id)?;
        let detail = format!("user={email}");
        audit::record(c, reseller_id, AccountAction::TwoFactorOn, Some(detail), by)?;
        Ok(codes)
    })
}

/// Replaces the user's recovery codes with ten new ones (`xxxx-xxxx-xxxx`, 48 bits each).
fn new_recovery_codes(conn: &mut DbConnection, user_id: i64) -> Result<Vec<String>, DomainError> {
    diesel::delete(
        console_recovery_codes::table.filter(console_recovery_codes::user_id.eq(user_id)),
    )
    .execute(conn)?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let hex = hex::encode(random::bytes::<6>()?);
        let code = format!("{}-{}-{}", &hex[..4], &hex[4..8], &hex[8..]);
        diesel::insert_into(console_recovery_codes::table)
            .values((
                console_recovery_codes::user_id.eq(user_id),
                console_recovery_codes::code_hash.eq(recovery_hash(&code)),
            ))
            .execute(conn)?;
        codes.push(code);
    }
    Ok(codes)
}

/// Turns two-factor login off for the user (the caller has checked who asks), with its
/// recovery codes.
pub fn disable(
    conn: &mut DbConnection,
    user_id: i64,
    by: &ChangedBy<'_>,
) -> Result<(), DomainError> {
    write_transaction(conn, |c| {
        let (email, reseller_id): (String, Option<i64>) = console_users::table
            .find(user_id)
            .select((console_users::email, console_users::reseller_id))
            .first(c)
            .optional()?
            .ok_or_else(|| DomainError::not_found("that user no longer exists"))?;
        diesel::update(console_users::table.find(user_id))
            .set((
                console_users::totp_secret.eq(None::<String>),
                console_users::totp_pending.eq(None::<String>),
                console_users::totp_last_step.eq(None::<i64>),
            ))
            .execute(c)?;
        diesel::delete(
            console_recovery_codes::table.filter(console_recovery_codes::user_id.eq(user_id)),
        )
        .execute(c)?;
        let detail = format!("user={email}");
        audit::record(
            c,
            reseller_id,
            AccountAction::TwoFactorOff,
            Some(detail),
            by,
        )
    })
}

/// Whether `code` is the user's current TOTP code (a step after the last one accepted) or
/// one of its unused recovery codes; either is used up by this.
pub fn verify(
    conn: &mut DbConnection,
    user_id: i64,
    code: &str,
    secrets: &SecretBox,
    now: NaiveDateTime,
) -> Result<bool, DomainError> {
    let code = normalised(code);
    write_transaction(conn, |c| {
        let (sealed, last): (Option<String>, Option<i64>) = console_users::table
            .find(user_id)
            .select((console_users::totp_secret, console_users::totp_last_step))
            .first(c)?;
        let Some(sealed) = sealed else {
            return Ok(false);
        };
        if code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit()) {
            let Some(step) = matching_step(&open(secrets, user_id, &sealed)?, &code, now) else {
                return Ok(false);
            };
            let step = i64::try_from(step).unwrap_or(i64::MAX);
            // Only a later step than the last accepted: a code seen once (over a shoulder,
            // in a proxy's log) does not log in again.
            let updated = diesel::update(
                console_users::table.find(user_id).filter(
                    console_users::totp_last_step
                        .is_null()
                        .or(console_users::totp_last_step.lt(step)),
                ),
            )
            .set(console_users::totp_last_step.eq(Some(step)))
            .execute(c)?;
            return Ok(updated == 1 && last.is_none_or(|l| l < step));
        }
        let used = diesel::update(
            console_recovery_codes::table
                .filter(console_recovery_codes::user_id.eq(user_id))
                .filter(console_recovery_codes::code_hash.eq(recovery_hash(&code)))
                .filter(console_recovery_codes::used_at.is_null()),
        )
        .set(console_recovery_codes::used_at.eq(Some(now)))
        .execute(c)?;
        Ok(used == 1)
    })
}

/// How many of the user's recovery codes are still unused.
pub fn recovery_codes_left(conn: &mut DbConnection, user_id: i64) -> Result<i64, DomainError> {
    Ok(console_recovery_codes::table
        .filter(console_recovery_codes::user_id.eq(user_id))
        .filter(console_recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Remembers a login whose password was right, awaiting its second factor.
pub fn await_code(
    conn: &mut DbConnection,
    id_hash: &str,
    user_id: i64,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    let stale = now - chrono::Duration::minutes(LOGIN_STEP_MINUTES);
    diesel::delete(console_login_steps::table.filter(console_login_steps::created_at.lt(stale)))
        .execute(conn)?;
    diesel::insert_into(console_login_steps::table)
        .values((
            console_login_steps::id_hash.eq(id_hash),
            console_login_steps::user_id.eq(user_id),
            console_login_steps::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The user whose login `id_hash` awaits a code, if it has not run out.
pub fn awaiting(
    conn: &mut DbConnection,
    id_hash: &str,
    now: NaiveDateTime,
) -> Result<Option<ConsoleUser>, DomainError> {
    let fresh = now - chrono::Duration::minutes(LOGIN_STEP_MINUTES);
    Ok(console_login_steps::table
        .inner_join(console_users::table)
        .filter(console_login_steps::id_hash.eq(id_hash))
        .filter(console_login_steps::created_at.ge(fresh))
        .select(ConsoleUser::as_select())
        .first(conn)
        .optional()?)
}

/// Forgets a login's second step (done, or given up).
pub fn end_step(conn: &mut DbConnection, id_hash: &str) -> Result<(), DomainError> {
    diesel::delete(console_login_steps::table.find(id_hash)).execute(conn)?;
    Ok(())
}

/// `ipls rekey`: every user's TOTP secret (and one being set up) re-sealed under `new`.
pub fn reseal_all(
    conn: &mut DbConnection,
    old: &SecretBox,
    new: &SecretBox,
) -> Result<usize, DomainError> {
    let rows: Vec<(i64, Option<String>, Option<String>)> = console_users::table
        .filter(
            console_users::totp_secret
                .is_not_null()
                .or(console_users::totp_pending.is_not_null()),
        )
        .select((
            console_users::id,
            console_users::totp_secret,
            console_users::totp_pending,
        ))
        .load(conn)?;
    let reseal = |id: i64, sealed: Option<String>| -> Result<Option<String>, DomainError> {
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let clear = old.open(&label(id), &sealed).ok_or_else(|| {
            DomainError::Internal(format!("the TOTP secret of user {id} does not open"))
        })?;
        Ok(Some(
            new.seal(&label(id), &clear)
                .map_err(DomainError::Internal)?,
        ))
    };
    let mut count = 0;
    for (id, secret, pending) in rows {
        count += usize::from(secret.is_some()) + usize::from(pending.is_some());
        let (secret, pending) = (reseal(id, secret)?, reseal(id, pending)?);
        diesel::update(console_users::table.find(id))
            .set((
                console_users::totp_secret.eq(secret),
                console_users::totp_pending.eq(pending),
            ))
            .execute(conn)?;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238, appendix B: the SHA-1 secret, 8 digits.
        let rfc = TOTP::new(Algorithm::SHA1, 8, 1, 30, b"12345678901234567890".to_vec()).unwrap();
        assert_eq!(rfc.generate(59), "94287082");
        assert_eq!(rfc.generate(1_111_111_109), "07081804");
        assert_eq!(rfc.generate(20_000_000_000), "65353130");
    }

    #[test]
    fn codes_match_their_step_and_neighbours_only() {
        let t = totp(b"12345678901234567890".to_vec()).unwrap();
        let now = chrono::DateTime::from_timestamp(1_111_111_109, 0)
            .unwrap()
            .naive_utc();
        let step = step_of(now);
        for (offset, matches) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let s = (step as i64 + offset) as u64;
            let code = t.generate(s * STEP_SECS);
            assert_eq!(
                matching_step(&t, &code, now) == Some(s),
                matches,
                "offset {offset}"
            );
        }
        assert_eq!(normalised(" AB12-cd34 "), "ab12cd34");
        let label = percent_encoding::utf8_percent_encode("ipls:a+b@x.example", LABEL);
        assert_eq!(label.to_string(), "ipls:a%2Bb@x.example");
    }
}
