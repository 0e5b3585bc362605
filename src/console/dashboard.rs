//! The reseller's dashboard: one box per product it may sell (used / limit, trial), each
//! leading to that product's licenses, and how many of its servers have stopped checking in.

use actix_web::web;
use chrono::Duration;
use maud::{html, Markup};

use super::guard;
use super::page::{html_response, shell, PageResult, Section};
use super::stale_pages::DEFAULT_STALE_DAYS;
use crate::auth::session::Console;
use crate::db;
use crate::domain::catalogue::enabled_types;
use crate::domain::keys::Product;
use crate::domain::license_search::{self, Filter};
use crate::domain::license_trend;
use crate::domain::queries::held_by_type;
use crate::state::AppState;

/// Days the boxes' small lines cover, up to today.
const TREND_DAYS: usize = 90;

/// A product's licenses at the end of each of the last days, as a small line drawn on the
/// server (SVG, no script), with its first, lowest, highest and last figures in words.
fn sparkline(counts: &[i64]) -> Markup {
    let (width, height) = (180.0, 36.0);
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = width / (counts.len().max(2) - 1) as f64;
    let points: Vec<String> = counts
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let y = height - 2.0 - (height - 4.0) * (*n as f64 / max);
            format!("{:.1},{y:.1}", i as f64 * step)
        })
        .collect();
    let (first, last) = (
        counts.first().copied().unwrap_or(0),
        counts.last().copied().unwrap_or(0),
    );
    let (low, high) = (
        counts.iter().copied().min().unwrap_or(0),
        counts.iter().copied().max().unwrap_or(0),
    );
    let said = format!(
        "Licenses over the last {} days: {first} then, {last} now (lowest {low}, highest {high})",
        counts.len()
    );
    html! {
        svg.sparkline viewBox={"0 0 " (width) " " (height)} role="img" aria-label=(said) {
            title { (said) }
            polyline points=(points.join(" ")) {}
        }
    }
}

/// Where a product's box leads, as CLN's product boxes do: its IP licenses, or the keys of a
/// product sold by key.
fn licenses_of(type_id: i32) -> String {
    match Product::of_type(type_id) {
        Some(Product::KernelCare) => "/console/keys?product=kcare".to_string(),
        Some(Product::Imunify) => "/console/keys?product=imunify".to_string(),
        // CloudLinux OS and ELS are sold by IP far more than by key: their boxes lead to the
        // IP licenses, and the Keys page has their keys.
        Some(Product::CloudLinux | Product::Els) | None => {
            format!("/console/licenses?type={type_id}")
        }
    }
}

pub async fn show(state: web::Data<AppState>, who: Console) -> PageResult {
    let reseller = guard::reseller_user(&who)?.clone();
    let now = state.clock.now().naive_utc();
    let id = reseller.id;
    let (types, held, stale, trend) = db::run(&state.pool, move |c| {
        let types = enabled_types(c, id)?;
        let held = held_by_type(c, id, now)?;
        let silent = Filter {
            stale_since: Some(now - Duration::days(DEFAULT_STALE_DAYS)),
            ..Filter::default()
        };
        let stale = license_search::count(c, Some(id), &silent, now)?;
        let trend = license_trend::held_per_day(c, id, TREND_DAYS, now)?;
        Ok((types, held, stale, trend))
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
                    (sparkline(trend.get(&t.id).map_or(&[][..], Vec::as_slice)))
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
