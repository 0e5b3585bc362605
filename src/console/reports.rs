//! The read-only report pages, shared by both kinds of user: a reseller's user sees its own
//! account, an operator every reseller (with a login column and filter): usage per month
//! (with CSV) and the history. Servers not checking in are in `stale_pages`.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::dates;
use super::export::field;
use super::{guard, usage_chart};

/// Months the usage pages' chart shows, ending with the month shown.
const TREND_MONTHS: usize = 12;
use super::page::{html_response, shell, ConsoleError, PageResult, Section};
use crate::auth::session::Console;
use crate::db;
use crate::domain::catalogue::all_types;
use crate::domain::events::{audit, AuditFilter};
use crate::domain::month::Month;
use crate::domain::prices::format_cents;
use crate::domain::roles::{Permission, Role};
use crate::domain::Source;
use crate::domain::{resellers, usage, usage_trend};
use crate::error::DomainError;
use crate::state::AppState;

fn is_operator(who: &Console) -> bool {
    who.role() == Role::Operator
}

/// Reseller logins by id, for the operator's views.
async fn logins(state: &AppState) -> Result<HashMap<i64, String>, ConsoleError> {
    Ok(db::run(&state.pool, resellers::logins_by_id).await?)
}

#[derive(Deserialize, Default)]
pub struct UsageQuery {
    #[serde(default)]
    month: String,
    #[serde(default)]
    format: String,
}

pub async fn usage(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<UsageQuery>,
) -> PageResult {
    let today = state.clock.now().date_naive();
    let month = match query.month.trim() {
        "" => Month::containing(today),
        text => Month::parse(text)
            .ok_or_else(|| DomainError::invalid(format!("{text:?} is not a month (YYYY-MM)")))?,
    };
    let id = guard::report_scope(&who, Permission::ViewBilling)?;
    let chart_too = query.format != "csv";
    let (lines, types, trend) = db::run(&state.pool, move |c| {
        let trend = if chart_too {
            usage_trend::license_days(c, id, month, TREND_MONTHS, today)?
        } else {
            Vec::new()
        };
        Ok((usage::report(c, id, &month, today)?, all_types(c)?, trend))
    })
    .await?;
    let names: HashMap<i32, String> = types.into_iter().map(|t| (t.id, t.name)).collect();
    let operator = is_operator(&who);
    let logins = if operator {
        logins(&state).await?
    } else {
        HashMap::new()
    };
    let login_of = |id: i64| logins.get(&id).cloned().unwrap_or_default();
    if query.format == "csv" {
        let mut out = String::from(if operator {
            "reseller,type,type_name,license_days,peak,amount,suspended_days\r\n"
        } else {
            "type,type_name,license_days,peak,amount,suspended_days\r\n"
        });
        for line in &lines {
            let u = &line.usage;
            if operator {
                field(&login_of(u.reseller_id), &mut out);
                out.push(',');
            }
            out.push_str(&format!("{},", u.type_id));
            field(names.get(&u.type_id).map_or("", String::as_str), &mut out);
            let amount = line.amount_cents.map(format_cents).unwrap_or_default();
            out.push_str(&format!(
                ",{},{},{amount},{}\r\n",
                u.license_days, u.peak, u.suspended_days
            ));
        }
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "content-disposition",
                format!("attachment; filename=\"usage-{month}.csv\""),
            ))
            .body(out));
    }
    let total: i64 = lines.iter().filter_map(|l| l.amount_cents).sum();
    let action = if operator {
        "/console/operator/usage"
    } else {
        "/console/usage"
    };
    let body = html! {
        form.filter method="get" action=(action) {
            label for="month" { "Month" }
            input #month type="month" name="month" value=(month.to_string());
            button type="submit" { "Show" }
            " "
            a href={(action) "?format=csv&month=" (month)} download { "CSV" }
        }
        table.usage.stack {
            thead { tr {
                @if operator { th scope="col" { "Reseller" } }
                th scope="col" { "Type" } th scope="col" { "License-days" } th scope="col" { "Peak" } th scope="col" { "Amount" } th scope="col" { "Suspended days" }
            } }
            tbody {
                @for line in &lines {
                    @let u = &line.usage;
                    tr {
                        @if operator { td data-label="Reseller" { (login_of(u.reseller_id)) } }
                        td data-label="Type" { (names.get(&u.type_id).map_or("", String::as_str)) " (" (u.type_id) ")" }
                        td data-label="License-days" { (u.license_days) }
                        td data-label="Peak" { (u.peak) }
                        td data-label="Amount" { (line.amount_cents.map(format_cents).unwrap_or_else(|| "not priced".into())) }
                        td data-label="Suspended days" { (u.suspended_days) }
                    }
                }
            }
            tfoot { tr {
                th scope="row" colspan=(if operator { 4 } else { 3 }) { "Total" }
                td #usage-total { (format_cents(total)) }
                td {}
            } }
        }
        h2 { "The last " (TREND_MONTHS) " months" }
        (usage_chart::chart(&trend, &names))
    };
    Ok(html_response(shell(
        &format!("Usage {month}"),
        Some(&who),
        Section::Usage,
        body,
    )))
}

#[derive(Deserialize, Default)]
pub struct HistoryQuery {
    #[serde(default)]
    ip: String,
    #[serde(default)]
    reseller: String,
    #[serde(default)]
    since: String,
}

/// Rows shown at most (the newest).
const HISTORY_ROWS: i64 = 500;

/// Who acted, in words (`Source::describe`).
fn actor(source: Option<&str>, action: &str) -> String {
    source.map_or_else(|| "unknown".to_string(), |s| Source::describe(s, action))
}

pub async fn history(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<HistoryQuery>,
) -> PageResult {
    let operator = is_operator(&who);
    let since = match query.since.trim() {
        "" => None,
        text => Some(
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| DomainError::invalid(format!("{text:?} is not a date (YYYY-MM-DD)")))?
                .and_time(chrono::NaiveTime::MIN),
        ),
    };
    let ip = match query.ip.trim() {
        "" => None,
        text => Some(
            crate::domain::ip::LicenseIp::parse(text)
                .ok_or_else(|| DomainError::invalid(format!("{text:?} is not an IP address")))?
                .to_string(),
        ),
    };
    let logins = if operator {
        logins(&state).await?
    } else {
        HashMap::new()
    };
    let reseller_id = match (
        guard::report_scope(&who, Permission::ViewLicenses)?,
        query.reseller.trim(),
    ) {
        (Some(own), _) => Some(own),
        (None, "") => None,
        (None, login) => Some(
            logins
                .iter()
                .find(|(_, l)| l.as_str() == login)
                .map(|(id, _)| *id)
                .ok_or_else(|| DomainError::not_found(format!("no reseller {login:?}")))?,
        ),
    };
    let filter = AuditFilter {
        reseller_id,
        ip,
        since,
        before_id: None,
        limit: HISTORY_ROWS,
    };
    let mut events = db::run(&state.pool, move |c| audit(c, &filter)).await?;
    events.reverse();
    let action = if operator {
        "/console/operator/audit"
    } else {
        "/console/history"
    };
    let body = html! {
        form.filter method="get" action=(action) role="search" {
            @if operator {
                label for="h-reseller" { "Reseller" }
                input #h-reseller name="reseller" value=(query.reseller);
            }
            label for="h-ip" { "IP" }
            input #h-ip name="ip" value=(query.ip);
            label for="h-since" { "Since" }
            input #h-since type="date" name="since" value=(query.since);
            button type="submit" { "Filter" }
        }
        p.muted { "Newest first, at most " (HISTORY_ROWS) " events." }
        (events_table(&events, operator, &logins))
    };
    let (title, section) = if operator {
        ("Audit log", Section::Audit)
    } else {
        ("History", Section::History)
    };
    Ok(html_response(shell(title, Some(&who), section, body)))
}

fn events_table(
    events: &[crate::db::models::LicenseEvent],
    operator: bool,
    logins: &HashMap<i64, String>,
) -> Markup {
    html! {
        table.history {
            thead { tr {
                th scope="col" { "When (UTC)" }
                @if operator { th scope="col" { "Reseller" } }
                th scope="col" { "Action" } th scope="col" { "IP" } th scope="col" { "Type" } th scope="col" { "Detail" } th scope="col" { "Who" }
            } }
            tbody {
                @for e in events {
                    tr {
                        td { (dates::time(e.at)) }
                        @if operator { td { (e.reseller_id.and_then(|id| logins.get(&id).cloned()).unwrap_or_default()) } }
                        td { (e.action) }
                        td { (e.ip) }
                        td { (e.type_id.map(|t| t.to_string()).unwrap_or_default()) }
                        td { (e.detail.as_deref().unwrap_or("")) }
                        td { (actor(e.source.as_deref(), &e.action)) }
                    }
                }
            }
        }
    }
}
