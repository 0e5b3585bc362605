//! Removing a set of licenses a person confirmed: every license of a reseller that matches a
//! filter (the console's "remove every license matching the filter" and "remove unused
//! licenses"). The confirmation page states how many licenses and carries a fingerprint of
//! exactly which; the removal selects them again inside its transaction and removes them only
//! if the set is still the confirmed one. Otherwise nothing is removed and the caller is shown
//! the new set, to confirm again.

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use super::remove;
use crate::db::models::License;
use crate::db::{write_transaction, DbConnection};
use crate::domain::ip::LicenseIp;
use crate::domain::license_search::{self, After, Filter, Sort};
use crate::domain::Actor;
use crate::error::DomainError;

/// Rows read per round trip while collecting every license that matches.
const COLLECT_BATCH: i64 = 1_000;

/// The licenses that match a filter now.
#[derive(Debug, Clone)]
pub struct Selection {
    licenses: Vec<License>,
}

impl Selection {
    pub fn count(&self) -> usize {
        self.licenses.len()
    }

    /// Names exactly this set of licenses (their row ids), whatever the order they were read
    /// in: a license removed and another added in its place changes it, as a count would not.
    pub fn fingerprint(&self) -> String {
        let mut ids: Vec<i64> = self.licenses.iter().map(|l| l.id).collect();
        ids.sort_unstable();
        let mut hash = Sha256::new();
        for id in ids {
            hash.update(id.to_le_bytes());
        }
        hex::encode(&hash.finalize()[..16])
    }
}

/// Every license held by the reseller at `now` that matches `filter`.
pub fn select(
    conn: &mut DbConnection,
    reseller_id: i64,
    filter: &Filter,
    now: NaiveDateTime,
) -> Result<Selection, DomainError> {
    let sort = Sort::default();
    let mut licenses = Vec::new();
    let mut after: Option<After> = None;
    loop {
        let page = license_search::page(
            conn,
            Some(reseller_id),
            filter,
            sort,
            after.as_ref(),
            COLLECT_BATCH,
            now,
        )?;
        let done = (page.len() as i64) < COLLECT_BATCH;
        after = page.last().map(|l| After::of(l, sort));
        licenses.extend(page);
        if done {
            return Ok(Selection { licenses });
        }
    }
}

/// What a confirmed removal did.
#[derive(Debug)]
pub enum ConfirmedRemoval {
    /// The set was the confirmed one; this many licenses were removed.
    Removed(usize),
    /// The set changed since it was confirmed: nothing was removed; this is the set now.
    Changed(Selection),
}

/// Removes every license of the actor that matches `filter`, if they are exactly the set
/// whose `fingerprint` was confirmed; all of them or none, in one transaction.
pub fn remove_confirmed(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    filter: &Filter,
    fingerprint: &str,
) -> Result<ConfirmedRemoval, DomainError> {
    write_transaction(conn, |c| {
        let selection = select(c, actor.reseller.id, filter, actor.now)?;
        if selection.fingerprint() != fingerprint {
            return Ok(ConfirmedRemoval::Changed(selection));
        }
        for license in &selection.licenses {
            let ip = LicenseIp::parse(&license.ip).ok_or_else(|| {
                DomainError::Internal(format!("stored IP {:?} does not parse", license.ip))
            })?;
            remove(c, actor, &ip, Some(license.type_id))?;
        }
        Ok(ConfirmedRemoval::Removed(selection.count()))
    })
}
