//! The events a month's usage needs: the licenses open when the month starts (found by the
//! database from each license's latest change before then) and the changes within the month.
//! The application never reads the history before the month, and of the licenses open at its
//! start it reads one row each only for those that change during the month: the others are
//! held every day of it, so the database counts them per reseller and type (a million
//! licenses would otherwise be a million rows in memory; docs/benchmarks.md "Growth").

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};

use super::events::TRIAL_DETAIL;
use super::licenses::MOVED_TRIAL_SUFFIX;
use crate::db::models::LicenseEvent;
use crate::db::schema::license_events;
use crate::db::DbConnection;
use crate::error::DomainError;

/// A license open at the month's start that changes during the month (`ip` set, `licenses`
/// 1), or how many of a reseller's licenses of a type are open at the start and do not
/// change (`ip` None, trials left out: they are never billed).
#[derive(QueryableByName)]
struct OpenLicense {
    #[diesel(sql_type = BigInt)]
    reseller_id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    ip: Option<String>,
    #[diesel(sql_type = Integer)]
    type_id: i32,
    #[diesel(sql_type = Bool)]
    trial: bool,
    #[diesel(sql_type = Bool)]
    suspended: bool,
    #[diesel(sql_type = BigInt)]
    licenses: i64,
}

/// The history actions usage is replayed from.
const USAGE_ACTIONS: [&str; 9] = [
    "register",
    "remove",
    "convert",
    "move",
    "suspend",
    "resume",
    "expire",
    "key_register",
    "key_remove",
];

/// A key server's licence is counted under this prefix and its server id, where an IP
/// license is counted under its address: the two never share a tally, and two servers on one
/// address stay two licenses.
pub const KEY_UNIT: &str = "key:";

/// The latest change of each (reseller, IP, type) before the month, where a convert counts
/// as a change of both its types and a move as a change on both its IPs; a license is open
/// when that change started it (a register, a convert to its type, a move to its IP). A license
/// whose latest change is its register is a trial when that register was one; a converted
/// license, when the register that began it on that IP was one (the only case that looks
/// further back).
///
/// The month's own changes go through the same window pass, first in each (reseller, unit,
/// type), where a unit is an address or a key server: `changes` counts them, and the latest
/// change before the month is the row just after them. Licenses open at the start that change
/// during the month come back one row each; the rest as one count per reseller and type.
/// Matching them against the month's changes instead made the planner, expecting one opening
/// row, loop over those changes for every license: as a join, 0.5 s for 10,000 licenses; as
/// `IN (subquery)`, minutes for a million, once the changes' hash no longer fitted `work_mem`.
/// Itemized (a statement's lines): every license open at the start comes back as its own row.
fn opening_sql(placeholder: fn(usize) -> String, one_reseller: bool, itemized: bool) -> String {
    let count = std::cell::Cell::new(0);
    let next = || {
        count.set(count.get() + 1);
        placeholder(count.get())
    };
    let reseller = || {
        if one_reseller {
            format!(" AND reseller_id = {}", next())
        } else {
            String::new()
        }
    };
    // The placeholders in the order they appear, three times (`open_at` binds in the same
    // order): the month's start and end, and the reseller.
    let arm = |extra: &str| {
        let (start, end) = (next(), next());
        (
            format!("CASE WHEN at >= {start} THEN 1 ELSE 0 END AS in_month"),
            format!("at < {end}{}{extra}", reseller()),
        )
    };
    let usage_actions = USAGE_ACTIONS.map(|a| format!("'{a}'")).join(", ");
    let (history_month, history) = arm(&format!(" AND action IN ({usage_actions})"));
    let (converted_month, converted) = arm(" AND action = 'convert' AND detail LIKE 'from=%'");
    let (moved_month, moved) = arm(" AND action = 'move' AND detail LIKE 'from=%'");
    let (one_each, counted) = if itemized {
        ("TRUE", "FALSE")
    } else {
        (
            "changes > 0 OR suspended",
            "changes = 0 AND NOT trial AND NOT suspended",
        )
    };
    format!(
        "WITH moves AS ( \
           SELECT id, reseller_id, \
                  CASE WHEN action IN ('key_register', 'key_remove') \
                       THEN '{KEY_UNIT}' || server_id ELSE ip END AS ip, \
                  type_id AS t, \
                  CASE action WHEN 'key_register' THEN 'register' \
                              WHEN 'key_remove' THEN 'remove' ELSE action END AS action, \
                  COALESCE(detail = '{TRIAL_DETAIL}' OR (action = 'move' AND detail LIKE '%{MOVED_TRIAL_SUFFIX}'), FALSE) \
                    AS trial_register, {history_month} \
             FROM license_events WHERE {history} \
           UNION ALL \
           SELECT id, reseller_id, ip, CAST(SUBSTR(detail, 6) AS INTEGER) AS t, 'convert_from' AS action, \
                  FALSE AS trial_register, {converted_month} \
             FROM license_events WHERE {converted} \
           UNION ALL \
           SELECT id, reseller_id, REPLACE(SUBSTR(detail, 6), '{MOVED_TRIAL_SUFFIX}', '') AS ip, type_id AS t, \
                  'move_from' AS action, FALSE AS trial_register, {moved_month} \
             FROM license_events WHERE {moved} \
         ), latest AS ( \
           SELECT id, reseller_id, ip, t, action, trial_register, in_month, \
                  ROW_NUMBER() OVER w AS n, SUM(in_month) OVER w AS changes \
             FROM moves \
           WINDOW w AS (PARTITION BY reseller_id, ip, t ORDER BY in_month DESC, id DESC) \
         ), opening AS ( \
           SELECT l.reseller_id AS reseller_id, l.ip AS ip, l.t AS type_id, l.changes AS changes, \
                  CASE WHEN l.action IN ('register', 'move') THEN l.trial_register \
                  ELSE COALESCE((SELECT r.detail = '{TRIAL_DETAIL}' OR r.detail LIKE '%{MOVED_TRIAL_SUFFIX}' \
                           FROM license_events r \
                           WHERE r.reseller_id = l.reseller_id AND r.ip = l.ip \
                             AND r.action IN ('register', 'move') AND r.id <= l.id \
                           ORDER BY r.id DESC LIMIT 1), FALSE) END AS trial, \
                  (l.action = 'suspend') AS suspended \
             FROM latest l \
            WHERE l.in_month = 0 AND l.n = l.changes + 1 \
              AND l.action IN ('register', 'convert', 'move', 'suspend', 'resume') \
         ) \
         SELECT reseller_id, ip, type_id, trial, suspended, CAST(1 AS BIGINT) AS licenses \
           FROM opening WHERE {one_each} \
         UNION ALL \
         SELECT reseller_id, NULL AS ip, type_id, FALSE AS trial, FALSE AS suspended, \
                COUNT(*) AS licenses \
           FROM opening WHERE {counted} \
          GROUP BY reseller_id, type_id \
          ORDER BY 1, 2, 3"
    )
}

/// The licenses open at the start of a month, as `usage::compute` takes them.
#[derive(Debug, Default)]
pub struct Opening {
    /// Those that change during the month, or are suspended at its start: register events at
    /// the start (trials marked as such, so that they stay unbilled; a suspended one followed
    /// by its suspend event), to be replayed with the month's changes.
    pub changing: Vec<LicenseEvent>,
    /// (reseller, type) → how many non-trial licenses are open at the start and do not
    /// change during the month: each is held every day of it.
    pub steady: Vec<((i64, i32), i64)>,
}

/// The licenses of one reseller (all when None) open at `start`, the month's first moment;
/// `end` is the month's end (what "change during the month" means). Itemized, none is
/// counted as steady: each comes back as its register event.
pub fn open_at(
    conn: &mut DbConnection,
    reseller_id: Option<i64>,
    start: NaiveDateTime,
    end: NaiveDateTime,
    itemized: bool,
) -> Result<Opening, DomainError> {
    // The same binds on either backend; only the placeholder syntax differs.
    macro_rules! load {
        ($conn:expr, $placeholder:expr) => {{
            let mut query =
                diesel::sql_query(opening_sql($placeholder, reseller_id.is_some(), itemized))
                    .into_boxed();
            for _ in 0..3 {
                query = query.bind::<Timestamp, _>(start).bind::<Timestamp, _>(end);
                if let Some(id) = reseller_id {
                    query = query.bind::<BigInt, _>(id);
                }
            }
            query.load::<OpenLicense>($conn)?
        }};
    }
    let rows: Vec<OpenLicense> = match conn {
        DbConnection::Postgresql(pg) => load!(pg, |n| format!("${n}")),
        DbConnection::Sqlite(lite) => load!(lite, |_| "?".to_string()),
    };
    let mut opening = Opening::default();
    for row in rows {
        match row.ip {
            Some(ip) => {
                let opened = LicenseEvent {
                    id: 0,
                    at: start,
                    reseller_id: Some(row.reseller_id),
                    action: "register".into(),
                    ip,
                    type_id: Some(row.type_id),
                    detail: row.trial.then(|| TRIAL_DETAIL.to_string()),
                    source: None,
                    server_id: None,
                };
                // Suspended since before the month: replayed as suspended from its start.
                let suspended = row.suspended.then(|| LicenseEvent {
                    action: "suspend".into(),
                    detail: None,
                    ..opened.clone()
                });
                opening.changing.push(opened);
                opening.changing.extend(suspended);
            }
            None => opening
                .steady
                .push(((row.reseller_id, row.type_id), row.licenses)),
        }
    }
    Ok(opening)
}

/// The changes of one reseller (all when None) in [from, until), oldest first.
pub fn changes_between(
    conn: &mut DbConnection,
    reseller_id: Option<i64>,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Vec<LicenseEvent>, DomainError> {
    let mut query = license_events::table
        .select(LicenseEvent::as_select())
        .filter(license_events::at.ge(from))
        .filter(license_events::at.lt(until))
        .filter(license_events::action.eq_any(USAGE_ACTIONS))
        .order(license_events::id)
        .into_boxed();
    if let Some(id) = reseller_id {
        query = query.filter(license_events::reseller_id.eq(id));
    }
    Ok(query.load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_binds() {
        let sql = opening_sql(|n| format!("${n}"), true, false);
        let positions: Vec<usize> = (1..=9)
            .map(|n| sql.find(&format!("${n} ")).expect("placeholder"))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{sql}");
        assert!(!sql.contains("$10"));
        let all = opening_sql(|n| format!("${n}"), false, true);
        assert!(all.contains("$6") && !all.contains("$7"), "{all}");
    }
}
