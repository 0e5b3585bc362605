//! KernelCare's sticky tag, as CLN's key popup has it: a per-key date that pins the key's
//! servers to patches released before it. Set and cleared by the key's reseller (console,
//! CLI, admin API); a history event (`key.updated`, `sticky_tag=`) like any key change.

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;

use super::products::Product;
use super::{context, find_own, subject, with_retries};
use crate::db::models::ActivationKey;
use crate::db::schema::activation_keys;
use crate::db::DbConnection;
use crate::domain::events::{self, Action};
use crate::domain::{ensure_active, Actor};
use crate::error::DomainError;

/// The first day a sticky tag may name (KernelCare's first tagged patch set).
pub fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2018, 5, 28).unwrap_or(NaiveDate::MIN)
}

/// The tag as typed (`YYYY-MM-DD`), within 2018-05-28 and the day before `today`.
pub fn parse(text: &str, today: NaiveDate) -> Result<NaiveDate, DomainError> {
    let text = text.trim();
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        DomainError::invalid(format!(
            "sticky tag {:?} is not a date (YYYY-MM-DD)",
            crate::wire::shorten(text)
        ))
    })?;
    let last = today - Duration::days(1);
    // A well-formed date outside the window is refused (409 in the admin API), not invalid:
    // the window moves with the days, so no schema can say it.
    if day < first_day() || day > last {
        return Err(DomainError::refused(format!(
            "sticky tag {day} is outside {} to {last} (the day before today)",
            first_day()
        )));
    }
    Ok(day)
}

/// Sets (Some) or clears (None) the caller's KernelCare key's sticky tag; Ok(None) when the
/// caller has no such KernelCare key. The date must have passed `parse`.
pub fn set(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    key_text: &str,
    tag: Option<NaiveDate>,
) -> Result<Option<ActivationKey>, DomainError> {
    ensure_active(actor.reseller)?;
    with_retries(conn, |c| {
        let Some(key) = find_own(c, actor.reseller.id, None, key_text)? else {
            return Ok(None);
        };
        if Product::of_type(key.type_id) != Some(Product::KernelCare) {
            return Err(DomainError::refused(
                "only KernelCare keys take a sticky tag",
            ));
        }
        if key.sticky_tag != tag {
            diesel::update(activation_keys::table.find(key.id))
                .set(activation_keys::sticky_tag.eq(tag))
                .execute(c)?;
            let shown = tag.map_or_else(|| "none".to_string(), |d| d.to_string());
            let extra = format!("sticky_tag={shown}");
            let context = context(actor.reseller, actor.source, actor.now);
            events::record_key(c, context, Action::KeyUpdate, subject(&key), Some(&extra))?;
        }
        super::find(c, key_text)
    })
}
