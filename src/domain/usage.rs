//! License-days per reseller and type for a month, replayed from the event history.
//!
//! Counting rules (UTC days):
//! - a license counts on every day it was held at some moment: registered on the 20th of a
//!   30-day month and never removed, it counts 11 days; removed on the 25th, 6 days;
//! - one license (reseller, IP, type) counts a day once, however often it is removed and
//!   registered again that day;
//! - convert moves the license to the new type from the day of the conversion on; the old
//!   type counts up to the day before;
//! - a move to a new IP is the same license: the old IP counts up to the day before, the new
//!   one from the day of the move, so a moved license counts each day once;
//! - trial licenses are free and not counted;
//! - a suspended license's days count apart (`suspended_days`), from the day it is suspended
//!   to the day before it is resumed, not as license-days;
//! - in the current month, days after today are not counted.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Duration, NaiveDate};

use super::events::TRIAL_DETAIL;
use super::licenses::MOVED_TRIAL_SUFFIX;
use super::month::Month;
use super::usage_history::KEY_UNIT;
use crate::db::models::LicenseEvent;

/// One reseller's use of one type in the month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub reseller_id: i64,
    pub type_id: i32,
    pub license_days: i64,
    /// Most licenses of the type held (not suspended) on any one day.
    pub peak: i64,
    /// Days licenses of the type were held suspended (not billed).
    pub suspended_days: i64,
}

/// Days of the month as bits (bit 0 = the 1st).
type DayBits = u32;

struct Tally {
    /// The days counted: the month's, up to today.
    first_day: NaiveDate,
    last_day: NaiveDate,
    /// (reseller, type) → IP → the days that license was held, and held suspended.
    days: BTreeMap<(i64, i32), HashMap<String, DayBits>>,
    suspended: BTreeMap<(i64, i32), HashMap<String, DayBits>>,
}

impl Tally {
    fn new(month: &Month, today: NaiveDate) -> Self {
        Self {
            first_day: month.first_day(),
            last_day: month.last_day().min(today),
            days: BTreeMap::new(),
            suspended: BTreeMap::new(),
        }
    }

    /// Counts `held`'s days up to `last` for (reseller, type) `key` on `ip`.
    fn add(&mut self, key: (i64, i32), ip: &str, held: &Open, last: NaiveDate) {
        let start = held.since.max(self.first_day);
        let end = last.min(self.last_day);
        if start > end {
            return;
        }
        let bits = day_bits(start.day(), end.day());
        let days = if held.suspended {
            &mut self.suspended
        } else {
            &mut self.days
        };
        *days
            .entry(key)
            .or_default()
            .entry(ip.to_string())
            .or_default() |= bits;
    }
}

fn day_bits(from: u32, to: u32) -> DayBits {
    (from..=to).fold(0, |bits, day| bits | (1 << (day - 1)))
}

struct Open {
    since: NaiveDate,
    trial: bool,
    suspended: bool,
}

/// Computes usage for `month` from `events` (oldest first, all before the month's end).
pub fn compute<'a>(
    events: impl IntoIterator<Item = &'a LicenseEvent>,
    month: &Month,
    today: NaiveDate,
) -> Vec<Usage> {
    summed(replay(events, month, today))
}

/// One license's days in a month: an address, or a key server (`KEY_UNIT` and its id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseDays {
    pub reseller_id: i64,
    pub type_id: i32,
    pub unit: String,
    pub license_days: i64,
}

/// The license-days of each license, by reseller, type and unit: the lines that `compute`
/// sums (the same replay), for a statement. `events` must hold every license open at the
/// month's start (`usage_history::open_at`, itemized).
pub fn per_license<'a>(
    events: impl IntoIterator<Item = &'a LicenseEvent>,
    month: &Month,
    today: NaiveDate,
) -> Vec<LicenseDays> {
    let tally = replay(events, month, today);
    let mut lines: Vec<LicenseDays> = tally
        .days
        .into_iter()
        .flat_map(|((reseller_id, type_id), by_unit)| {
            by_unit.into_iter().map(move |(unit, bits)| LicenseDays {
                reseller_id,
                type_id,
                unit,
                license_days: i64::from(bits.count_ones()),
            })
        })
        .filter(|line| line.license_days > 0)
        .collect();
    lines.sort_by(|a, b| {
        (a.reseller_id, a.type_id, &a.unit).cmp(&(b.reseller_id, b.type_id, &b.unit))
    });
    lines
}

fn replay<'a>(
    events: impl IntoIterator<Item = &'a LicenseEvent>,
    month: &Month,
    today: NaiveDate,
) -> Tally {
    let mut open: HashMap<(i64, String, i32), Open> = HashMap::new();
    let mut tally = Tally::new(month, today);
    let close =
        |tally: &mut Tally, reseller: i64, ip: &str, type_id: i32, held: Open, last: NaiveDate| {
            if !held.trial {
                let key = (reseller, type_id);
                tally.add(key, ip, &held, last);
            }
        };
    for event in events {
        let (Some(reseller), Some(type_id)) = (event.reseller_id, event.type_id) else {
            continue;
        };
        let day = event.at.date();
        // A key server is tallied by its id (see usage_history::KEY_UNIT), an IP license by
        // its address; its events replay as an IP license's register and remove.
        let (unit, action) = match (&event.server_id, event.action.as_str()) {
            (Some(server), "key_register") => (format!("{KEY_UNIT}{server}"), "register"),
            (Some(server), "key_remove") => (format!("{KEY_UNIT}{server}"), "remove"),
            (_, action) => (event.ip.clone(), action),
        };
        let key = (reseller, unit, type_id);
        match action {
            "register" => {
                let trial = event.detail.as_deref() == Some(TRIAL_DETAIL);
                open.entry(key).or_insert(Open {
                    since: day,
                    trial,
                    suspended: false,
                });
            }
            "remove" | "expire" => {
                if let Some(held) = open.remove(&key) {
                    close(&mut tally, reseller, &key.1, type_id, held, day);
                }
            }
            "move" => {
                let Some(detail) = event
                    .detail
                    .as_deref()
                    .and_then(|d| d.strip_prefix("from="))
                else {
                    continue;
                };
                let from_ip = detail.trim_end_matches(MOVED_TRIAL_SUFFIX);
                let previous = open.remove(&(reseller, from_ip.to_string(), type_id));
                let trial = detail.ends_with(MOVED_TRIAL_SUFFIX)
                    || previous.as_ref().is_some_and(|p| p.trial);
                if let Some(held) = previous {
                    let last = day - Duration::days(1);
                    close(&mut tally, reseller, from_ip, type_id, held, last);
                }
                let suspended = false;
                open.insert(
                    key,
                    Open {
                        since: day,
                        trial,
                        suspended,
                    },
                );
            }
            "suspend" | "resume" => {
                let suspended = action == "suspend";
                let Some(held) = open.remove(&key) else {
                    continue;
                };
                if held.suspended == suspended {
                    open.insert(key, held);
                    continue;
                }
                let trial = held.trial;
                close(
                    &mut tally,
                    reseller,
                    &key.1,
                    type_id,
                    held,
                    day - Duration::days(1),
                );
                open.insert(
                    key,
                    Open {
                        since: day,
                        trial,
                        suspended,
                    },
                );
            }
            "convert" => {
                let from = event
                    .detail
                    .as_deref()
                    .and_then(|d| d.strip_prefix("from="))
                    .and_then(|n| n.parse::<i32>().ok());
                let Some(from) = from else { continue };
                let previous = open.remove(&(reseller, event.ip.clone(), from));
                let trial = previous.as_ref().is_some_and(|p| p.trial);
                if let Some(held) = previous {
                    close(
                        &mut tally,
                        reseller,
                        &event.ip,
                        from,
                        held,
                        day - Duration::days(1),
                    );
                }
                let suspended = false;
                open.insert(
                    key,
                    Open {
                        since: day,
                        trial,
                        suspended,
                    },
                );
            }
            _ => {}
        }
    }
    for ((reseller, ip, type_id), held) in open {
        close(&mut tally, reseller, &ip, type_id, held, month.last_day());
    }
    tally
}

fn summed(tally: Tally) -> Vec<Usage> {
    let count = |by_ip: &HashMap<String, DayBits>| -> i64 {
        by_ip.values().map(|b| i64::from(b.count_ones())).sum()
    };
    let mut keys: Vec<(i64, i32)> = tally
        .days
        .keys()
        .chain(tally.suspended.keys())
        .copied()
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let empty = HashMap::new();
    keys.into_iter()
        .map(|key| {
            let by_ip = tally.days.get(&key).unwrap_or(&empty);
            let peak = (0..31)
                .map(|day| by_ip.values().filter(|b| *b & (1 << day) != 0).count() as i64)
                .max()
                .unwrap_or(0);
            Usage {
                reseller_id: key.0,
                type_id: key.1,
                license_days: count(by_ip),
                peak,
                suspended_days: tally.suspended.get(&key).map_or(0, count),
            }
        })
        .filter(|u| u.license_days > 0 || u.suspended_days > 0)
        .collect()
}

/// Adds the licenses held all month without a change (`usage_history::Opening::steady`) to
/// the replayed usage: each counts every day of the month up to today, so on every counted day
/// it adds one to the licenses held, and the peak rises by their number.
pub fn with_steady(
    replayed: Vec<Usage>,
    steady: &[((i64, i32), i64)],
    month: &Month,
    today: NaiveDate,
) -> Vec<Usage> {
    let last = month.last_day().min(today);
    let counted_days = if last < month.first_day() {
        0
    } else {
        (last - month.first_day()).num_days() + 1
    };
    let mut by_key: BTreeMap<(i64, i32), Usage> = replayed
        .into_iter()
        .map(|u| ((u.reseller_id, u.type_id), u))
        .collect();
    for ((reseller_id, type_id), licenses) in steady {
        let usage = by_key.entry((*reseller_id, *type_id)).or_insert(Usage {
            reseller_id: *reseller_id,
            type_id: *type_id,
            license_days: 0,
            peak: 0,
            suspended_days: 0,
        });
        usage.license_days += licenses * counted_days;
        if counted_days > 0 {
            usage.peak += licenses;
        }
    }
    by_key
        .into_values()
        .filter(|u| u.license_days > 0 || u.suspended_days > 0)
        .collect()
}

/// The prorated amount in cents: the monthly price times license-days over the month's
/// days, rounded half up.
pub fn amount_cents(monthly_cents: i64, license_days: i64, month: &Month) -> i64 {
    let days = i64::from(month.days());
    (monthly_cents * license_days * 2 + days) / (2 * days)
}

/// A usage row with its amount, when the operator has priced the type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageLine {
    pub usage: Usage,
    /// The operator's monthly price of the type, and the amount it makes for these days.
    pub monthly_cents: Option<i64>,
    pub amount_cents: Option<i64>,
}

/// Usage for `month` of one reseller (or all), priced: the report behind both
/// `/api/usage.json` and `ipls report usage`.
pub fn report(
    conn: &mut crate::db::DbConnection,
    reseller_id: Option<i64>,
    month: &Month,
    today: NaiveDate,
) -> Result<Vec<UsageLine>, crate::error::DomainError> {
    let start = month.first_day().and_time(chrono::NaiveTime::MIN);
    let opening = super::usage_history::open_at(conn, reseller_id, start, month.end(), false)?;
    let mut events = opening.changing;
    events.extend(super::usage_history::changes_between(
        conn,
        reseller_id,
        start,
        month.end(),
    )?);
    let prices = super::prices::all(conn)?;
    let replayed = compute(&events, month, today);
    Ok(with_steady(replayed, &opening.steady, month, today)
        .into_iter()
        .map(|usage| {
            let monthly_cents = prices.get(&usage.type_id).copied();
            UsageLine {
                amount_cents: monthly_cents
                    .map(|cents| amount_cents(cents, usage.license_days, month)),
                monthly_cents,
                usage,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn ev(
        id: i64,
        when: &str,
        action: &str,
        ip: &str,
        type_id: i32,
        detail: Option<&str>,
    ) -> LicenseEvent {
        LicenseEvent {
            id,
            at: at(when),
            reseller_id: Some(1),
            action: action.into(),
            ip: ip.into(),
            type_id: Some(type_id),
            detail: detail.map(String::from),
            source: None,
            server_id: None,
        }
    }

    /// A key-server event: `server` registered or left from address `ip`.
    fn key_ev(id: i64, when: &str, action: &str, ip: &str, server: &str) -> LicenseEvent {
        LicenseEvent {
            server_id: Some(server.into()),
            detail: Some("key=K".into()),
            ..ev(id, when, action, ip, 16, None)
        }
    }

    #[test]
    fn key_servers_count_per_server_not_per_address() {
        let events = [
            // Two servers behind one address, and an IP license on that address too.
            key_ev(1, "2026-11-20 10:00", "key_register", "a", "S1"),
            key_ev(2, "2026-11-21 10:00", "key_register", "a", "S2"),
            ev(3, "2026-11-22 10:00", "register", "a", 16, None),
            key_ev(4, "2026-11-25 10:00", "key_remove", "a", "S1"),
        ];
        // S1: 20th-25th (6), S2: 21st-30th (10), the IP license: 22nd-30th (9).
        assert_eq!(usage(&events, "2026-11", "2027-01-01"), [(16, 25, 3)]);
        // A key's own events (no server) count nothing.
        let key_only = [ev(1, "2026-11-20 10:00", "key_create", "", 16, None)];
        assert_eq!(usage(&key_only, "2026-11", "2027-01-01"), []);
    }

    fn usage(events: &[LicenseEvent], month: &str, today: &str) -> Vec<(i32, i64, i64)> {
        let month = Month::parse(month).unwrap();
        let today = NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap();
        compute(events, &month, today)
            .into_iter()
            .map(|u| (u.type_id, u.license_days, u.peak))
            .collect()
    }

    /// Licenses open all month without a change, counted by the database instead of
    /// replayed, give the same usage as replaying them.
    #[test]
    fn steady_licenses_add_as_if_replayed() {
        let changing = vec![
            ev(1, "2026-11-01 00:00", "register", "10.0.0.1", 1, None),
            ev(2, "2026-11-10 08:00", "remove", "10.0.0.1", 1, None),
            ev(3, "2026-11-05 09:00", "register", "10.0.0.2", 16, None),
        ];
        let steady_events: Vec<LicenseEvent> = (0..3)
            .map(|n| {
                ev(
                    10 + n,
                    "2026-11-01 00:00",
                    "register",
                    &format!("10.1.0.{n}"),
                    1,
                    None,
                )
            })
            .chain([ev(20, "2026-11-01 00:00", "register", "10.1.1.1", 2, None)])
            .collect();
        let steady = [((1, 1), 3), ((1, 2), 1)];
        let nov = Month::parse("2026-11").unwrap();
        for today in ["2026-11-07", "2026-11-20", "2026-12-03"] {
            let today = NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap();
            let mut all = steady_events.clone();
            all.append(&mut changing.clone());
            all.sort_by_key(|e| (e.at, e.id));
            let by_replay = compute(&all, &nov, today);
            let by_count = with_steady(compute(&changing, &nov, today), &steady, &nov, today);
            assert_eq!(by_count, by_replay, "today {today}");
            assert!(by_count.iter().any(|u| u.type_id == 2 && u.peak == 1));
        }
        // A month that has not begun counts nothing.
        let dec = Month::parse("2026-12").unwrap();
        let before = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert!(with_steady(Vec::new(), &steady, &dec, before).is_empty());
    }

    #[test]
    fn added_on_the_20th_of_a_30_day_month_counts_11_days() {
        let events = [ev(1, "2026-11-20 15:00", "register", "a", 1, None)];
        assert_eq!(usage(&events, "2026-11", "2027-01-01"), [(1, 11, 1)]);
        // The month before: nothing; the month after: every day.
        assert_eq!(usage(&events, "2026-10", "2027-01-01"), []);
        assert_eq!(usage(&events, "2026-12", "2027-01-01"), [(1, 31, 1)]);
        // The current month counts up to today only.
        assert_eq!(usage(&events, "2026-11", "2026-11-22"), [(1, 3, 1)]);
    }

    #[test]
    fn removal_stops_the_count_and_same_day_re_add_counts_once() {
        let events = [
            ev(1, "2026-11-20 10:00", "register", "a", 1, None),
            ev(2, "2026-11-25 09:00", "remove", "a", 1, None),
            ev(3, "2026-11-25 18:00", "register", "a", 1, None),
            ev(4, "2026-11-26 08:00", "remove", "a", 1, None),
        ];
        assert_eq!(usage(&events, "2026-11", "2027-01-01"), [(1, 7, 1)]);
    }

    #[test]
    fn convert_moves_the_remaining_days() {
        let events = [
            ev(1, "2026-11-01 00:00", "register", "a", 41, None),
            ev(2, "2026-11-11 12:00", "convert", "a", 42, Some("from=41")),
        ];
        assert_eq!(
            usage(&events, "2026-11", "2027-01-01"),
            [(41, 10, 1), (42, 20, 1)]
        );
    }

    #[test]
    fn a_moved_license_counts_each_day_once() {
        let events = [
            ev(1, "2026-11-01 00:00", "register", "a", 1, None),
            ev(2, "2026-11-11 12:00", "move", "b", 1, Some("from=a")),
            ev(3, "2026-11-11 13:00", "move", "c", 1, Some("from=b")),
        ];
        assert_eq!(usage(&events, "2026-11", "2027-01-01"), [(1, 30, 1)]);
        let trial = [
            ev(1, "2026-11-01 00:00", "register", "a", 1, Some("trial")),
            ev(2, "2026-11-11 12:00", "move", "b", 1, Some("from=a;trial")),
        ];
        assert_eq!(usage(&trial, "2026-11", "2027-01-01"), []);
    }

    #[test]
    fn suspended_days_count_apart() {
        let events = [
            ev(1, "2026-11-01 00:00", "register", "a", 1, None),
            ev(
                2,
                "2026-11-11 12:00",
                "suspend",
                "a",
                1,
                Some("reason=unpaid"),
            ),
            ev(3, "2026-11-21 08:00", "resume", "a", 1, None),
            ev(
                4,
                "2026-11-21 09:00",
                "suspend",
                "a",
                1,
                Some("reason=again"),
            ),
            ev(5, "2026-11-21 10:00", "resume", "a", 1, None),
        ];
        let nov = Month::parse("2026-11").unwrap();
        let today = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        let usage = compute(&events, &nov, today);
        // Billed the 1st to the 10th and the 21st on (a same-day suspend and resume leaves
        // the day billed); suspended the 11th to the 20th.
        assert_eq!(usage[0].license_days, 20);
        assert_eq!(usage[0].suspended_days, 10);
        assert_eq!(usage[0].peak, 1);
    }

    #[test]
    fn spans_month_ends_and_leap_february() {
        let events = [
            ev(1, "2028-01-30 00:00", "register", "a", 1, None),
            ev(2, "2028-02-10 00:00", "register", "b", 1, None),
            ev(3, "2028-03-02 00:00", "remove", "a", 1, None),
        ];
        assert_eq!(usage(&events, "2028-01", "2029-01-01"), [(1, 2, 1)]);
        assert_eq!(usage(&events, "2028-02", "2029-01-01"), [(1, 29 + 20, 2)]);
        assert_eq!(usage(&events, "2028-03", "2029-01-01"), [(1, 2 + 31, 2)]);
    }

    #[test]
    fn trials_are_not_billed() {
        let events = [ev(1, "2026-11-01 00:00", "register", "a", 1, Some("trial"))];
        assert_eq!(usage(&events, "2026-11", "2027-01-01"), []);
    }

    #[test]
    fn amounts_are_prorated() {
        let nov = Month::parse("2026-11").unwrap();
        assert_eq!(amount_cents(3000, 30, &nov), 3000);
        assert_eq!(amount_cents(3000, 11, &nov), 1100);
        assert_eq!(amount_cents(1000, 1, &nov), 33);
    }
}
