//! A license's note and external id (ours, never in the CLN faces): free text for the
//! reseller, and its billing panel's service id, unique among the reseller's licenses.

use diesel::prelude::*;
use serde_json::json;

use super::{as_read, changed_as_read, held_or_not_found, with_retries};
use crate::db::models::License;
use crate::db::schema::ip_licenses;
use crate::db::DbConnection;
use crate::domain::events::{self, Action};
use crate::domain::ip::LicenseIp;
use crate::domain::{ensure_active, refuse_nul, Actor};
use crate::error::DomainError;

/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// Longest external id, in characters.
pub const MAX_EXTERNAL_ID_CHARS: usize = 100;

/// A note as given: trimmed; empty means none.
pub fn note_text(text: &str) -> Result<Option<String>, DomainError> {
    refuse_nul("note", text)?;
    let text = text.trim();
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(DomainError::invalid(format!(
            "note has at most {MAX_NOTE_CHARS} characters"
        )));
    }
    Ok((!text.is_empty()).then(|| text.to_string()))
}

/// An external id as given: trimmed; empty means none; no control characters.
pub fn external_id_text(text: &str) -> Result<Option<String>, DomainError> {
    let text = text.trim();
    if text.chars().count() > MAX_EXTERNAL_ID_CHARS || text.chars().any(char::is_control) {
        return Err(DomainError::invalid(format!(
            "external_id has at most {MAX_EXTERNAL_ID_CHARS} characters and no control characters"
        )));
    }
    Ok((!text.is_empty()).then(|| text.to_string()))
}

/// What to change: None leaves a field as it is, Some(None) clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnnotationChange {
    pub note: Option<Option<String>>,
    pub external_id: Option<Option<String>>,
}

impl AnnotationChange {
    pub fn is_empty(&self) -> bool {
        self.note.is_none() && self.external_id.is_none()
    }
}

/// Refuses an external id the reseller already gave another license (the unique index holds
/// it under races; this says which license has it).
pub(super) fn refuse_taken_external_id(
    conn: &mut DbConnection,
    reseller_id: i64,
    external_id: &str,
    except: Option<i64>,
) -> Result<(), DomainError> {
    let holder: Option<(i64, String, i32)> = ip_licenses::table
        .filter(ip_licenses::reseller_id.eq(reseller_id))
        .filter(ip_licenses::external_id.eq(external_id))
        .select((ip_licenses::id, ip_licenses::ip, ip_licenses::type_id))
        .first(conn)
        .optional()?;
    match holder {
        Some((id, ip, type_id)) if Some(id) != except => Err(DomainError::conflict(format!(
            "external_id {external_id} is already on your license of type {type_id} on IP {ip}"
        ))),
        _ => Ok(()),
    }
}

/// Sets the note and/or external id of the caller's license of `type_id` on `ip` (every type
/// it holds there when None; an external id names one license, so it needs the type when
/// there are several). Returns the licenses as they are now (unchanged when `change` is
/// empty).
pub fn annotate(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    ip: &LicenseIp,
    type_id: Option<i32>,
    change: &AnnotationChange,
) -> Result<Vec<License>, DomainError> {
    ensure_active(actor.reseller)?;
    let ip = ip.to_string();
    with_retries(conn, |c| {
        let mine = held_or_not_found(c, actor.reseller.id, &ip, type_id)?;
        if let Some(Some(external_id)) = &change.external_id {
            if mine.len() > 1 {
                return Err(DomainError::invalid(format!(
                    "an external_id names one license: give the type (IP {ip} has {})",
                    mine.len()
                )));
            }
            refuse_taken_external_id(c, actor.reseller.id, external_id, Some(mine[0].id))?;
        }
        let ids: Vec<i64> = mine.iter().map(|l| l.id).collect();
        for license in &mine {
            annotate_one(c, actor, license, change)?;
        }
        Ok(ip_licenses::table
            .filter(ip_licenses::id.eq_any(&ids))
            .order(ip_licenses::type_id)
            .select(License::as_select())
            .load(c)?)
    })
}

fn annotate_one(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    license: &License,
    change: &AnnotationChange,
) -> Result<(), DomainError> {
    let note = change.note.clone().unwrap_or(license.note.clone());
    let external_id = change
        .external_id
        .clone()
        .unwrap_or(license.external_id.clone());
    if note == license.note && external_id == license.external_id {
        return Ok(());
    }
    let updated = diesel::update(as_read(license))
        .set((
            ip_licenses::note.eq(&note),
            ip_licenses::external_id.eq(&external_id),
        ))
        .execute(conn)?;
    changed_as_read(updated)?;
    let mut changed = Vec::new();
    let mut extra = serde_json::Map::new();
    if note != license.note {
        changed.push("note");
        extra.insert("note".into(), json!(note));
    }
    if external_id != license.external_id {
        changed.push("external_id");
        extra.insert("external_id".into(), json!(external_id));
    }
    let detail = format!("changed={}", changed.join(","));
    events::record_with(
        conn,
        actor.into(),
        Action::Note,
        &license.ip,
        license.type_id,
        Some(detail),
        extra,
    )
}
