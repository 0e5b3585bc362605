//! The reseller's dashboard: one box per product it may sell (used / limit, trial), each
//! leading to that product's licenses, and how many of its servers have stopped checking in.

use actix_web::web;
use chrono::Duration;
use maud::html;

use super::guard;
use super::page::{html_response, shell, PageResult, Section};
use super::stale_pages::DEFAULT_STALE_DAYS;
use crate::auth::session::Console;
use crate::db;
use crate::domain::catalogue::enabled_types;
use crate::domain::keys::Product;
use crate::domain::license_search::{self, Filter};
use crate::domain::queries::held_by_type;
use crate::state::AppState;

/// Where a product's box leads, as CLN's product boxes do: its IP licenses, or the keys of a
/// product sold by key.
fn licenses_of(type_id: i32) -> String {
    match Product::of_type(type_id) {
        Some(Product::KernelCare) => "/console/keys?product=kcare".to_string(),
        Some(Product::Imunify) => "/console/keys?product=imunify".to_string(),
        None => format!("/console/licenses?type={type_id}"),
    }
}

pub async fn show(state: web::Data<AppState>, who: Console) -> PageResult {
    let reseller = guard::reseller_user(&who)?.clone();
    let now = state.clock.now().naive_utc();
    let id = reseller.id;
    let (types, held, stale) = db::run(&state.pool, move |c| {
        let types = enabled_types(c, id)?;
        let held = held_by_type(c, id, now)?;
        let silent = Filter {
            stale_since: Some(now - Duration::days(DEFAULT_STALE_DAYS)),
            ..Filter::default()
        };
        let stale = license_search::count(c, Some(id), &silent, now)?;
        Ok((types, held, stale))
    })
    .await?;
    let body = html! {
        section.products aria-label="Products" {
            @for enabled in &types {
                @let t = &enabled.license_type;
                @let used = held.get(&t.id).copied().unwrap_or(0);
                article.product {
                    h2 { a href=(licenses_of(t.id)) { (t.name) } }
                    p.count {
                        span.used { (used) }
                        " / "
                        @match enabled.limit {
                            Some(limit) => span.limit { (limit) },
                            None => span.limit { "unlimited" },
                        }
                    }
                    p.muted { "type " (t.id) }
                }
            }
            @if types.is_empty() {
                p { "No product is enabled for this account yet; the operator enables them." }
            }
        }
        section.facts {
            p {
                "Trial account: " strong { @if reseller.trial { "yes (one trial per product family per IP)" } @else { "no" } }
            }
            p {
                a href={"/console/stale?days=" (DEFAULT_STALE_DAYS)} {
                    strong.stale-count { (stale) }
                    " servers have not checked in for " (DEFAULT_STALE_DAYS) " days"
                }
            }
        }
    };
    Ok(html_response(shell(
        &format!("Dashboard: {}", reseller.login),
        Some(&who),
        Section::Dashboard,
        body,
    )))
}
