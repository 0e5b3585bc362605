//! "Not checking in" (CLN's "Systems Not Checking In"): the licenses whose server has been
//! silent for at least N days, one page at a time with the total, narrowed to an address or
//! CIDR block; for a reseller's login that may remove licenses, the way to remove them all
//! after a confirmation (`confirmed_removals`). An operator sees every reseller's.

use std::collections::HashMap;

use actix_web::web;
use chrono::Duration;
use maud::html;
use serde::Deserialize;

use super::filter::ListQuery;
use super::page::{html_response, shell, PageResult, Section};
use super::{dates, guard, paging};
use crate::auth::session::Console;
use crate::db;
use crate::domain::license_search::Filter;
use crate::domain::resellers;
use crate::domain::roles::{Permission, Role};
use crate::error::DomainError;
use crate::state::AppState;

/// Servers silent this long count as not checking in when the page is not told otherwise
/// (and on the dashboard).
pub const DEFAULT_STALE_DAYS: i64 = 7;

/// Longest threshold accepted (ten years).
const MAX_STALE_DAYS: i64 = 3_650;

#[derive(Deserialize, Default, Clone)]
pub struct StaleQuery {
    #[serde(default)]
    pub days: String,
    /// The address filter (`ip`), rows per page and the page position.
    #[serde(flatten)]
    pub list: ListQuery,
}

impl StaleQuery {
    /// The page's own parameters and the list's, for links.
    pub fn to_query(&self) -> String {
        let days = serde_urlencoded::to_string([("days", self.days.trim())]).unwrap_or_default();
        match self.list.to_query() {
            rest if rest.is_empty() => days,
            rest => format!("{days}&{rest}"),
        }
    }
}

/// The threshold asked for, in days.
pub fn stale_days(query: &StaleQuery) -> Result<i64, DomainError> {
    match query.days.trim() {
        "" => Ok(DEFAULT_STALE_DAYS),
        text => text
            .parse::<i64>()
            .ok()
            .filter(|d| (0..=MAX_STALE_DAYS).contains(d))
            .ok_or_else(|| {
                DomainError::invalid(format!("days is a whole number from 0 to {MAX_STALE_DAYS}"))
            }),
    }
}

pub async fn stale(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<StaleQuery>,
) -> PageResult {
    let mut query = query.into_inner();
    let days = stale_days(&query)?;
    query.days = days.to_string();
    // Only the address filter applies here; the order is the address's.
    query.list.type_id.clear();
    query.list.q.clear();
    query.list.sort.clear();
    query.list.dir.clear();
    let now = state.clock.now().naive_utc();
    let id = guard::report_scope(&who, Permission::ViewLicenses)?;
    let filter = Filter {
        stale_since: Some(now - Duration::days(days)),
        ..query.list.filter()?
    };
    let list = query.list.clone();
    let (paged, logins) = db::run(&state.pool, move |c| {
        let paged = paging::read(c, id, &filter, &list, now)?;
        let logins: HashMap<i64, String> = match id {
            Some(_) => HashMap::new(),
            None => resellers::logins_by_id(c)?,
        };
        Ok((paged, logins))
    })
    .await?;
    let operator = who.role() == Role::Operator;
    let action = if operator {
        "/console/operator/stale"
    } else {
        "/console/stale"
    };
    let removable = !operator
        && who.role().may(Permission::ManageLicenses)
        && who
            .reseller
            .as_ref()
            .is_some_and(|r| r.blocked_reason.is_none());
    let days_query = serde_urlencoded::to_string([("days", days.to_string())]).unwrap_or_default();
    let body = html! {
        form.filter method="get" action=(action) role="search" {
            label for="days" { "Silent for at least (days)" }
            input #days type="number" min="0" max=(MAX_STALE_DAYS) name="days" value=(days);
            label for="s-ip" { "IP or CIDR" }
            input #s-ip name="ip" value=(query.list.ip) placeholder="203.0.113.0/24";
            input type="hidden" name="per" value=(query.list.per);
            button type="submit" { "Show" }
        }
        p.summary {
            strong.count #total { (paged.total) } " servers have not checked in for " (days) " days"
            @if !query.list.ip.trim().is_empty() { " in " (query.list.ip.trim()) }
            " · " (paging::page_of(&query.list, &paged))
        }
        @if removable && paged.total > 0 {
            p { a.button.danger href={"/console/stale/remove?" (query.to_query())} { "Remove these " (paged.total) " unused licenses…" } }
        }
        table.stack #stale {
            thead { tr {
                @if operator { th scope="col" { "Reseller" } }
                th scope="col" { "IP" } th scope="col" { "Type" } th scope="col" { "Added (UTC)" } th scope="col" { "Last check-in (UTC)" }
            } }
            tbody {
                @for license in &paged.rows {
                    tr {
                        @if operator { td data-label="Reseller" { (logins.get(&license.reseller_id).cloned().unwrap_or_default()) } }
                        td.ip data-label="IP" { (license.ip) }
                        td data-label="Type" { (license.type_id) }
                        td data-label="Added" { (dates::day(license.created_at)) }
                        td data-label="Last check-in" { (dates::time_or(license.last_checkin, "never")) }
                    }
                }
            }
        }
        (paging::pager(&query.list, &days_query, &paged))
    };
    Ok(html_response(shell(
        "Servers not checking in",
        Some(&who),
        Section::Stale,
        body,
    )))
}
