//! Removing many licenses at once after a confirmation that states how many: every license
//! matching the IP Licenses page's filter, or every license whose server has been silent for
//! N days ("Not checking in": CLN's "Remove unused server licenses", which stops their
//! billing). The confirmation carries the set's fingerprint; the removal acts on exactly that
//! set or on none (`licenses::remove_confirmed`), and shows the new count when it changed.

use actix_web::{web, HttpResponse};
use chrono::Duration;
use maud::html;
use serde::Deserialize;

use super::filter::ListQuery;
use super::guard;
use super::license_actions::as_actor;
use super::page::{csrf_field, html_response, shell, PageResult, Section};
use super::stale_pages::{stale_days, StaleQuery};
use crate::auth::session::Console;
use crate::db;
use crate::domain::license_search::Filter;
use crate::domain::licenses::{self, ConfirmedRemoval, Selection};
use crate::domain::roles::Permission;
use crate::state::AppState;

/// Which licenses a removal names, as the forms carry it.
enum Chosen<'a> {
    /// The IP Licenses page's filter.
    Matching(&'a ListQuery),
    /// Silent for `days` days, within the page's address filter.
    Silent(&'a StaleQuery),
}

impl Chosen<'_> {
    fn filter(&self, now: chrono::NaiveDateTime) -> Result<Filter, super::page::ConsoleError> {
        Ok(match self {
            Chosen::Matching(query) => query.filter()?,
            Chosen::Silent(query) => Filter {
                stale_since: Some(now - Duration::days(stale_days(query)?)),
                ..query.list.filter()?
            },
        })
    }

    fn described(&self) -> String {
        match self {
            Chosen::Matching(query) if query.is_filtered() => "matching the filter".into(),
            Chosen::Matching(_) => "of this account".into(),
            Chosen::Silent(query) => format!(
                "whose servers have not checked in for {} days",
                stale_days(query).unwrap_or_default()
            ),
        }
    }

    /// Where the confirmation posts, and where Cancel and Back lead.
    fn action(&self) -> &'static str {
        match self {
            Chosen::Matching(_) => "/console/licenses/remove-matching",
            Chosen::Silent(_) => "/console/stale/remove",
        }
    }

    fn back(&self) -> String {
        match self {
            Chosen::Matching(query) => format!("/console/licenses?{}", query.to_query()),
            Chosen::Silent(query) => format!("/console/stale?{}", query.to_query()),
        }
    }

    fn section(&self) -> Section {
        match self {
            Chosen::Matching(_) => Section::Licenses,
            Chosen::Silent(_) => Section::Stale,
        }
    }

    /// The hidden fields that name the set again.
    fn fields(&self) -> Vec<(&'static str, String)> {
        match self {
            Chosen::Matching(query) => vec![
                ("type", query.type_id.clone()),
                ("ip", query.ip.clone()),
                ("q", query.q.clone()),
            ],
            Chosen::Silent(query) => {
                vec![("days", query.days.clone()), ("ip", query.list.ip.clone())]
            }
        }
    }
}

/// The page that states how many licenses a removal takes and asks to go on; `changed` (the
/// count confirmed before) says why it is shown again.
fn confirmation(
    who: &Console,
    chosen: &Chosen<'_>,
    selection: &Selection,
    changed: Option<usize>,
) -> HttpResponse {
    let count = selection.count();
    let described = chosen.described();
    let body = html! {
        @if let Some(confirmed) = changed {
            p.error role="alert" {
                "Nothing was removed: you confirmed " (confirmed) " licenses, but the licenses "
                (described) " changed since. Check the new count and confirm again."
            }
        }
        p.warning role="alert" {
            "This removes " strong.count { (count) } " licenses " (described)
            ": their servers stop being licensed and their billing stops. It cannot be undone."
        }
        form method="post" action=(chosen.action()) {
            (csrf_field(who))
            @for (name, value) in chosen.fields() {
                input type="hidden" name=(name) value=(value);
            }
            input type="hidden" name="confirmed_count" value=(count);
            input type="hidden" name="confirmed" value=(selection.fingerprint());
            button.danger type="submit" { "Remove " (count) " licenses" }
            " "
            a href=(chosen.back()) { "Cancel" }
        }
    };
    html_response(shell("Remove licenses", Some(who), chosen.section(), body))
}

async fn confirm(state: &AppState, who: &Console, chosen: Chosen<'_>) -> PageResult {
    let reseller = guard::reseller_read(who, Permission::ManageLicenses)?.clone();
    let now = state.clock.now().naive_utc();
    let filter = chosen.filter(now)?;
    let selection = db::run(&state.pool, move |c| {
        licenses::select(c, reseller.id, &filter, now)
    })
    .await?;
    Ok(confirmation(who, &chosen, &selection, None))
}

/// What the confirmation posts back: the set's count and fingerprint.
#[derive(Deserialize)]
pub struct Confirmed {
    #[serde(default)]
    csrf: String,
    /// The count the confirmation stated, to say what changed.
    #[serde(default)]
    confirmed_count: String,
    /// The confirmed set's fingerprint (`licenses::Selection::fingerprint`).
    #[serde(default)]
    confirmed: String,
}

/// Removes what was confirmed, exactly: if the set changed since, nothing is removed and the
/// confirmation is shown again with the new count.
async fn remove(
    state: &AppState,
    who: &Console,
    chosen: Chosen<'_>,
    confirmed: &Confirmed,
) -> PageResult {
    let reseller = guard::reseller_write(who, &confirmed.csrf, Permission::ManageLicenses)?.clone();
    let filter = chosen.filter(state.clock.now().naive_utc())?;
    let fingerprint = confirmed.confirmed.clone();
    let outcome = as_actor(state, who, &reseller, move |c, actor| {
        licenses::remove_confirmed(c, actor, &filter, &fingerprint)
    })
    .await?;
    let removed = match outcome {
        ConfirmedRemoval::Removed(n) => n,
        ConfirmedRemoval::Changed(selection) => {
            let before = confirmed.confirmed_count.trim().parse().unwrap_or(0);
            return Ok(confirmation(who, &chosen, &selection, Some(before)));
        }
    };
    let body = html! {
        p.notice role="status" { "Removed " strong.count { (removed) } " licenses." }
        p { a href=(chosen.back()) { "Back" } }
    };
    Ok(html_response(shell(
        "Licenses removed",
        Some(who),
        chosen.section(),
        body,
    )))
}

/// `GET /console/licenses/remove-matching`: how many licenses the filter matches now.
pub async fn confirm_matching(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<ListQuery>,
) -> PageResult {
    confirm(&state, &who, Chosen::Matching(&query)).await
}

#[derive(Deserialize)]
pub struct MatchingForm {
    #[serde(flatten)]
    confirmed: Confirmed,
    #[serde(flatten)]
    query: ListQuery,
}

pub async fn remove_matching(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<MatchingForm>,
) -> PageResult {
    remove(&state, &who, Chosen::Matching(&form.query), &form.confirmed).await
}

/// `GET /console/stale/remove`: how many licenses have been silent that long now.
pub async fn confirm_unused(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<StaleQuery>,
) -> PageResult {
    confirm(&state, &who, Chosen::Silent(&query)).await
}

#[derive(Deserialize)]
pub struct UnusedForm {
    #[serde(flatten)]
    confirmed: Confirmed,
    #[serde(flatten)]
    query: StaleQuery,
}

pub async fn remove_unused(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<UnusedForm>,
) -> PageResult {
    remove(&state, &who, Chosen::Silent(&form.query), &form.confirmed).await
}
