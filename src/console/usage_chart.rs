//! The usage pages' picture: license-days per product for the last twelve months, as bars
//! stacked by product, drawn on the server as SVG (no script, so the strict CSP holds; the
//! colours come from the stylesheet's `series-N` classes), scaled to any width, with the
//! same figures in a table beside it for screen readers and for exact numbers.

use std::collections::{BTreeSet, HashMap};

use maud::{html, Markup};

use crate::domain::usage_trend::MonthDays;

/// How many colours the stylesheet has (`series-0` ... `series-7`); more products reuse them.
const COLOURS: usize = 8;
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
/// Room for the axis labels: left, bottom, top.
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;

/// A round number at or above `max`, for the axis's top (1, 2 or 5 times a power of ten).
fn axis_top(max: i64) -> i64 {
    let mut step = 1;
    loop {
        for factor in [1, 2, 5] {
            if step * factor >= max {
                return step * factor;
            }
        }
        step = step.saturating_mul(10);
    }
}

/// A month's bar, bottom up: each product with days, its colour index, and where it starts.
fn stacked(month: &MonthDays, types: &[i32]) -> Vec<(usize, i32, i64, i64)> {
    let mut base = 0;
    let mut segments = Vec::new();
    for (n, t) in types.iter().enumerate() {
        let value = month.days.get(t).copied().unwrap_or(0);
        if value > 0 {
            segments.push((n, *t, base, value));
            base += value;
        }
    }
    segments
}

pub fn chart(months: &[MonthDays], names: &HashMap<i32, String>) -> Markup {
    let types: Vec<i32> = months
        .iter()
        .flat_map(|m| m.days.keys().copied())
        .collect::<BTreeSet<i32>>()
        .into_iter()
        .collect();
    let name = |t: i32| {
        names
            .get(&t)
            .cloned()
            .unwrap_or_else(|| format!("type {t}"))
    };
    let totals: Vec<i64> = months.iter().map(|m| m.days.values().sum()).collect();
    let top = axis_top(totals.iter().copied().max().unwrap_or(0).max(1));
    let plot_height = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT) / months.len().max(1) as f64;
    let bar = slot * 0.7;
    let y = |value: i64| TOP + plot_height * (1.0 - value as f64 / top as f64);
    let first = months
        .first()
        .map(|m| m.month.to_string())
        .unwrap_or_default();
    let last = months
        .last()
        .map(|m| m.month.to_string())
        .unwrap_or_default();
    let summary = format!(
        "License-days per month from {first} to {last}, stacked by product; the table below gives each figure."
    );
    html! {
        figure.usage-chart {
            svg viewBox={"0 0 " (WIDTH) " " (HEIGHT)} role="img" aria-labelledby="usage-chart-title" {
                title #usage-chart-title { (summary) }
                @for tick in [0, top / 2, top] {
                    line.grid x1=(LEFT) x2=(WIDTH) y1=(y(tick)) y2=(y(tick)) {}
                    text.axis x=(LEFT - 6.0) y=(y(tick) + 4.0) text-anchor="end" { (tick) }
                }
                @for (i, month) in months.iter().enumerate() {
                    @let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
                    @for (n, t, base, value) in stacked(month, &types) {
                        rect class={"series-" (n % COLOURS)} x=(x) width=(bar) y=(y(base + value)) height=(y(base) - y(base + value)) {
                            title { (month.month) ", " (name(t)) ": " (value) " license-days" }
                        }
                    }
                    // Every other month's label gives way on a phone, where they are larger.
                    text class={"axis month" @if i % 2 == 1 { " alternate" }} x=(x + bar / 2.0) y=(HEIGHT - 8.0) text-anchor="middle" { (month.month.first_day().format("%b %y")) }
                }
            }
            figcaption {
                ul.legend {
                    @for (n, t) in types.iter().enumerate() {
                        li { span class={"swatch series-" (n % COLOURS)} {} (name(*t)) }
                    }
                }
            }
        }
        // A wide table scrolls in its own box on a phone, reachable by keyboard.
        div.table-scroll tabindex="0" role="region" aria-label="License-days per month and product" {
        table.usage-trend {
            caption { "License-days per month and product" }
            thead { tr {
                th scope="col" { "Month" }
                @for t in &types { th scope="col" { (name(*t)) } }
                th scope="col" { "All" }
            } }
            tbody {
                @for (month, total) in months.iter().zip(&totals) {
                    tr {
                        th scope="row" { (month.month) }
                        @for t in &types { td { (month.days.get(t).copied().unwrap_or(0)) } }
                        td { (total) }
                    }
                }
            }
        }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_ends_on_a_round_number() {
        assert_eq!(axis_top(1), 1);
        assert_eq!(axis_top(7), 10);
        assert_eq!(axis_top(11), 20);
        assert_eq!(axis_top(310), 500);
        assert_eq!(axis_top(3_000_001), 5_000_000);
    }
}
