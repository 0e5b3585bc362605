//! What the operator creates and changes in a reseller's account, from any face: the types
//! and limits it may register, trial, API access, allowed sources, blocks and its secret,
//! each with its webhook event and the author of the change.

use std::collections::BTreeMap;

use diesel::prelude::*;

use super::audit::{self, AccountAction};
use super::{find_by_login, get, validate_login, validate_secret};
use crate::db::models::{NewReseller, Reseller, ResellerType};
use crate::db::schema::{reseller_types, resellers};
use crate::db::{write_transaction, DbConnection};
use crate::domain::catalogue::find_type;
use crate::domain::webhooks::{outbox, EventType};
use crate::domain::Source;
use crate::error::DomainError;
use crate::net::normalised_cidrs;
use crate::secrets::SecretBox;

/// Which types a reseller may register, with optional limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub limits: BTreeMap<i32, Option<i32>>,
}

pub struct NewAccount<'a> {
    pub login: &'a str,
    pub secret: &'a str,
    pub trial: bool,
    pub grants: &'a Grants,
    pub now: chrono::NaiveDateTime,
    /// Who creates it (the default keys its products come with are recorded as theirs).
    pub by: &'a Source,
}

/// Who changes an account, and when.
#[derive(Debug, Clone)]
pub struct ChangedBy<'a> {
    pub source: &'a Source,
    pub now: chrono::NaiveDateTime,
}

pub fn create(
    conn: &mut DbConnection,
    account: &NewAccount<'_>,
    secrets: &SecretBox,
) -> Result<Reseller, DomainError> {
    validate_login(account.login)?;
    validate_secret(account.secret)?;
    let sealed = secrets
        .seal(account.login, account.secret)
        .map_err(DomainError::Internal)?;
    write_transaction(conn, |c| {
        if find_by_login(c, account.login)?.is_some() {
            return Err(DomainError::conflict(format!(
                "reseller {:?} already exists",
                account.login
            )));
        }
        diesel::insert_into(resellers::table)
            .values(NewReseller {
                login: account.login,
                secret: &sealed,
                api_enabled: true,
                legacy_sha1: true,
                trial: account.trial,
                created_at: account.now,
            })
            .execute(c)?;
        let reseller = get(c, account.login)?;
        replace_grants(c, reseller.id, account.grants, account.by, account.now)?;
        let by = ChangedBy {
            source: account.by,
            now: account.now,
        };
        let detail = format!("types={}", grants_text(account.grants));
        audit::record(
            c,
            Some(reseller.id),
            AccountAction::ResellerCreate,
            Some(detail),
            &by,
        )?;
        Ok(reseller)
    })
}

/// Replaces the reseller's enabled types and limits with `grants`, and gives each newly
/// enabled key-taking type its default key (dated `now`).
pub fn replace_grants(
    conn: &mut DbConnection,
    reseller_id: i64,
    grants: &Grants,
    by: &Source,
    now: chrono::NaiveDateTime,
) -> Result<(), DomainError> {
    for type_id in grants.limits.keys() {
        if find_type(conn, *type_id)?.is_none() {
            return Err(DomainError::not_found(format!(
                "unknown license type {type_id}"
            )));
        }
    }
    diesel::delete(reseller_types::table.filter(reseller_types::reseller_id.eq(reseller_id)))
        .execute(conn)?;
    // One row at a time: diesel's multi-backend connection has no batch insert.
    for (type_id, limit) in &grants.limits {
        diesel::insert_into(reseller_types::table)
            .values(ResellerType {
                reseller_id,
                type_id: *type_id,
                license_limit: *limit,
            })
            .execute(conn)?;
    }
    let reseller: Reseller = resellers::table
        .find(reseller_id)
        .select(Reseller::as_select())
        .first(conn)?;
    crate::domain::keys::manage::ensure_default_keys(conn, &reseller, &by.to_string(), now)?;
    Ok(())
}

/// Grants as the audit writes them: `1,16:10` (type, and its limit when it has one).
fn grants_text(grants: &Grants) -> String {
    let parts: Vec<String> = grants
        .limits
        .iter()
        .map(|(type_id, limit)| match limit {
            Some(limit) => format!("{type_id}:{limit}"),
            None => type_id.to_string(),
        })
        .collect();
    parts.join(",")
}

/// The settings `changes` gives a new value, as `name=value` words for the audit (None when
/// none of them changes).
fn settings_changed(
    before: &Reseller,
    changes: &AccountChanges,
    allow_from: Option<&Option<String>>,
) -> Option<String> {
    let on = |v: bool| if v { "on" } else { "off" };
    let mut words = Vec::new();
    for (name, was, now) in [
        ("trial", before.trial, changes.trial),
        ("api", before.api_enabled, changes.api_enabled),
        ("legacy_sha1", before.legacy_sha1, changes.legacy_sha1),
    ] {
        if let Some(now) = now.filter(|now| *now != was) {
            words.push(format!("{name}={}", on(now)));
        }
    }
    if let Some(allow_from) = allow_from.filter(|a| **a != before.allow_from) {
        words.push(format!(
            "allow_from={}",
            allow_from.as_deref().unwrap_or("")
        ));
    }
    (!words.is_empty()).then(|| words.join(" "))
}

pub fn grants_of(conn: &mut DbConnection, reseller_id: i64) -> Result<Grants, DomainError> {
    let rows: Vec<(i32, Option<i32>)> = reseller_types::table
        .filter(reseller_types::reseller_id.eq(reseller_id))
        .order(reseller_types::type_id)
        .select((reseller_types::type_id, reseller_types::license_limit))
        .load(conn)?;
    Ok(Grants {
        limits: rows.into_iter().collect(),
    })
}

/// What `ipls reseller set` may change; None leaves a field as it is.
#[derive(Debug, Default)]
pub struct AccountChanges {
    pub grants: Option<Grants>,
    pub legacy_sha1: Option<bool>,
    pub api_enabled: Option<bool>,
    pub trial: Option<bool>,
    /// Some(None) unblocks, Some(Some(reason)) blocks.
    pub blocked_reason: Option<Option<String>>,
    pub secret: Option<String>,
    /// The CIDR blocks API calls must come from, comma-separated as the operator wrote them;
    /// empty: from anywhere. Stored in canonical form.
    pub allow_from: Option<String>,
}

/// The most CIDR blocks an account's allowlist may name.
pub const MAX_ALLOWED_BLOCKS: usize = 256;

/// An allowlist as stored: canonical blocks, comma-separated (None: from anywhere); at most
/// `MAX_ALLOWED_BLOCKS` of them.
pub fn allowed_sources(text: &str) -> Result<Option<String>, DomainError> {
    let named = text.split(',').filter(|b| !b.trim().is_empty()).count();
    if named > MAX_ALLOWED_BLOCKS {
        return Err(DomainError::invalid(format!(
            "allowed sources name at most {MAX_ALLOWED_BLOCKS} blocks; {named} given"
        )));
    }
    normalised_cidrs("allowed sources", text).map_err(DomainError::Invalid)
}

/// The most characters a block reason may have, as sent (it is stored trimmed).
pub const MAX_BLOCK_REASON_CHARS: usize = 500;

/// A block reason as stored: 1 to `MAX_BLOCK_REASON_CHARS` characters as sent, not only
/// ASCII spaces, no NUL; trimmed of ASCII spaces.
pub fn block_reason(text: &str) -> Result<String, DomainError> {
    crate::domain::refuse_nul("the block reason", text)?;
    let trimmed = text.trim_matches(crate::wire::patterns::is_ascii_space);
    if trimmed.is_empty() || text.chars().count() > MAX_BLOCK_REASON_CHARS {
        return Err(DomainError::invalid(format!(
            "a block reason has 1 to {MAX_BLOCK_REASON_CHARS} characters, not only spaces"
        )));
    }
    Ok(trimmed.to_string())
}

pub fn update(
    conn: &mut DbConnection,
    login: &str,
    changes: &AccountChanges,
    secrets: &SecretBox,
    by: &ChangedBy<'_>,
) -> Result<Reseller, DomainError> {
    let allow_from = changes
        .allow_from
        .as_deref()
        .map(allowed_sources)
        .transpose()?;
    let blocked_reason = match &changes.blocked_reason {
        Some(Some(reason)) => Some(Some(block_reason(reason)?)),
        other => other.clone(),
    };
    write_transaction(conn, |c| {
        let reseller = get(c, login)?;
        let target = resellers::table.find(reseller.id);
        if let Some(detail) = settings_changed(&reseller, changes, allow_from.as_ref()) {
            audit::record(
                c,
                Some(reseller.id),
                AccountAction::Settings,
                Some(detail),
                by,
            )?;
        }
        if let Some(v) = changes.legacy_sha1 {
            diesel::update(target)
                .set(resellers::legacy_sha1.eq(v))
                .execute(c)?;
        }
        if let Some(v) = changes.api_enabled {
            diesel::update(target)
                .set(resellers::api_enabled.eq(v))
                .execute(c)?;
        }
        if let Some(v) = changes.trial {
            diesel::update(target)
                .set(resellers::trial.eq(v))
                .execute(c)?;
        }
        if let Some(reason) = &blocked_reason {
            diesel::update(target)
                .set(resellers::blocked_reason.eq(reason))
                .execute(c)?;
            if reason.is_some() {
                // Its console users are logged out everywhere; a new login shows the block.
                crate::domain::sessions::end_for_reseller(c, reseller.id)?;
            }
            match (&reseller.blocked_reason, reason) {
                (before, Some(reason)) if before.as_ref() != Some(reason) => {
                    let detail = format!("reason={reason}");
                    audit::record(c, Some(reseller.id), AccountAction::Block, Some(detail), by)?;
                    emit_account_event(
                        c,
                        &reseller,
                        EventType::ResellerBlocked,
                        Some(reason),
                        by.now,
                    )?;
                }
                (Some(_), None) => {
                    audit::record(c, Some(reseller.id), AccountAction::Unblock, None, by)?;
                    emit_account_event(c, &reseller, EventType::ResellerUnblocked, None, by.now)?;
                }
                _ => {}
            }
        }
        if let Some(allow_from) = &allow_from {
            diesel::update(target)
                .set(resellers::allow_from.eq(allow_from))
                .execute(c)?;
        }
        if let Some(secret) = &changes.secret {
            validate_secret(secret)?;
            let sealed = secrets.seal(login, secret).map_err(DomainError::Internal)?;
            diesel::update(target)
                .set((
                    resellers::secret.eq(sealed),
                    resellers::secret_set_at.eq(Some(by.now)),
                ))
                .execute(c)?;
            audit::record(c, Some(reseller.id), AccountAction::SecretRotate, None, by)?;
            emit_account_event(c, &reseller, EventType::ResellerSecretRotated, None, by.now)?;
        }
        if let Some(grants) = &changes.grants {
            if *grants != grants_of(c, reseller.id)? {
                let detail = format!("types={}", grants_text(grants));
                audit::record(c, Some(reseller.id), AccountAction::Types, Some(detail), by)?;
            }
            replace_grants(c, reseller.id, grants, by.source, by.now)?;
        }
        get(c, login)
    })
}

/// Queues a `reseller.*` webhook event in the change's transaction, dated when the change was
/// made.
fn emit_account_event(
    conn: &mut DbConnection,
    reseller: &Reseller,
    kind: EventType,
    reason: Option<&String>,
    at: chrono::NaiveDateTime,
) -> Result<(), DomainError> {
    let mut data = serde_json::json!({
        "reseller": reseller.login,
        "reseller_id": reseller.id,
        "at": crate::wire::iso(at),
    });
    if let Some(reason) = reason {
        data["reason"] = serde_json::json!(reason);
    }
    outbox::emit(
        conn,
        outbox::Event {
            kind,
            reseller_id: reseller.id,
            at,
            data,
        },
    )?;
    Ok(())
}
