//! The operator's cross-reseller pages: who holds an IP, and monthly prices per type.

use actix_web::{web, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::dates;
use super::guard;
use super::license_rows::relay_badge;
use super::page::{csrf_field, html_response, notice, shell, PageResult, Section};
use crate::auth::session::Console;
use crate::db;
use crate::domain::catalogue::all_types;
use crate::domain::ip::LicenseIp;
use crate::domain::prices::{self, format_cents, parse_cents};
use crate::domain::queries::holders_of;
use crate::domain::upstream::{ops, RelayStatus};
use crate::error::DomainError;
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct IpQuery {
    #[serde(default)]
    ip: String,
}

/// "Who holds this IP?": every license on it, whoever's.
pub async fn holders(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<IpQuery>,
) -> PageResult {
    guard::operator_read(&who)?;
    let text = query.ip.trim().to_string();
    let rows = if text.is_empty() {
        None
    } else {
        let ip = LicenseIp::parse(&text)
            .ok_or_else(|| DomainError::invalid(format!("{text:?} is not an IP address")))?;
        Some(
            db::run(&state.pool, move |c| {
                let rows = holders_of(c, &ip)?;
                Ok((rows, ops::pending_among(c, Some(&[ip.to_string()]))?))
            })
            .await?,
        )
    };
    let now = state.clock.now().naive_utc();
    let body = html! {
        form.filter method="get" action="/console/operator/licenses" role="search" {
            label for="who-ip" { "Who holds IP" }
            input #who-ip name="ip" value=(text) required;
            button type="submit" { "Look up" }
        }
        @if let Some((rows, pending)) = &rows {
            @if rows.is_empty() {
                p.empty { "No reseller holds " (text) "." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Reseller" } th scope="col" { "Type" } th scope="col" { "Added" } th scope="col" { "Last check-in" } th scope="col" { "State" } } }
                    tbody {
                        @for (license, login) in rows {
                            tr {
                                td { a href={"/console/operator/resellers/" (login)} { (login) } }
                                td { (license.type_id) }
                                td { (dates::day(license.created_at)) }
                                td { (dates::time_or(license.last_checkin, "never")) }
                                td {
                                    @if license.is_expired(now) { "expired trial" } @else if license.trial_expires_at.is_some() { "trial" } @else { "held" }
                                    (relay_badge(RelayStatus::of(license, pending)))
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html_response(shell(
        "Licenses",
        Some(&who),
        Section::AllLicenses,
        body,
    )))
}

#[derive(Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    notice: String,
}

pub async fn prices_page(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<Shown>,
) -> PageResult {
    guard::operator_read(&who)?;
    let (types, priced) = db::run(&state.pool, |c| Ok((all_types(c)?, prices::all(c)?))).await?;
    let body = html! {
        (notice((query.notice == "saved").then_some("Price saved.")))
        table.prices {
            thead { tr { th scope="col" { "Type" } th scope="col" { "Monthly price" } th scope="col" { "Set" } } }
            tbody {
                @for t in &types {
                    tr {
                        td { (t.name) " (" (t.id) ")" }
                        td { (priced.get(&t.id).map(|c| format_cents(*c)).unwrap_or_else(|| "not priced".into())) }
                        td {
                            form method="post" action="/console/operator/prices" {
                                (csrf_field(&who))
                                input type="hidden" name="type" value=(t.id);
                                label.visually-hidden for={"price-" (t.id)} { "Monthly price of " (t.name) }
                                input id={"price-" (t.id)} name="price" inputmode="decimal" placeholder="12.50" required;
                                button type="submit" { "Set" }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html_response(shell(
        "Prices",
        Some(&who),
        Section::Prices,
        body,
    )))
}

#[derive(Deserialize)]
pub struct PriceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, rename = "type")]
    type_id: String,
    #[serde(default)]
    price: String,
}

pub async fn set_price(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<PriceForm>,
) -> PageResult {
    guard::operator_write(&who, &form.csrf)?;
    let type_id: i32 = form
        .type_id
        .trim()
        .parse()
        .map_err(|_| DomainError::invalid("not a license type"))?;
    let cents = parse_cents(form.price.trim()).ok_or_else(|| {
        DomainError::invalid(format!(
            "{:?} is not a price such as 12.50",
            form.price.trim()
        ))
    })?;
    let now = state.clock.now().naive_utc();
    db::run(&state.pool, move |c| prices::set(c, type_id, cents, now)).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("location", "/console/operator/prices?notice=saved"))
        .finish())
}
