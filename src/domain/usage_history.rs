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
    #[diesel(sql_type = BigInt)]
    licenses: i64,
}

/// The history actions usage is replayed from.
const USAGE_ACTIONS: [&str; 6] = [
    "register",
    "remove",
    "convert",
    "expire",
    "key_register",
    "key_remove",
];

/// A key server's licence is counted under this prefix and its server id, where an IP
/// license is counted under its address: the two never share a tally, and two servers on one
/// address stay two licenses.
pub const KEY_UNIT: &str = "key:";

/// The latest change of each (reseller, IP, type) before the month, where a convert counts
/// as a change of both its types; a license is open when that change started it. A license
/// whose latest change is its register is a trial when that register was one; a converted
/// license, when the register that began it on that IP was one (the only case that looks
/// further back). Licenses whose unit (address, or key server) has a usage event in the month
/// come back one row each; the rest as one count per reseller and type. Whether a unit
/// changes is an `IN (subquery)` in the select list, which Postgres answers from a hash of
/// the month's changed units: as a join, the planner's estimate of one opening row made it a
/// nested loop over those units for every license (0.5 s for 10,000 licenses).
fn opening_sql(placeholder: fn(usize) -> String, one_reseller: bool) -> String {
    let count = std::cell::Cell::new(0);
    let next = || {
        count.set(count.get() + 1);
        placeholder(count.get())
    };
    let reseller = |column: &str| {
        if one_reseller {
            format!(" AND {column} = {}", next())
        } else {
            String::new()
        }
    };
    let arm = |extra: &str| {
        let before = next();
        format!("at < {before}{}{extra}", reseller("reseller_id"))
    };
    let moves = arm(" AND action IN ('register', 'remove', 'expire', 'convert')");
    let key_moves = arm(" AND action IN ('key_register', 'key_remove')");
    let converted_from = arm(" AND action = 'convert' AND detail LIKE 'from=%'");
    let (from, until) = (next(), next());
    let in_month = format!(
        "at >= {from} AND at < {until}{} AND action IN ({})",
        reseller("reseller_id"),
        USAGE_ACTIONS.map(|a| format!("'{a}'")).join(", ")
    );
    format!(
        "WITH moves AS ( \
           SELECT id, reseller_id, ip, type_id AS t, action, detail FROM license_events WHERE {moves} \
           UNION ALL \
           SELECT id, reseller_id, '{KEY_UNIT}' || server_id AS ip, type_id AS t, \
                  CASE action WHEN 'key_register' THEN 'register' ELSE 'remove' END AS action, \
                  NULL AS detail \
             FROM license_events WHERE {key_moves} \
           UNION ALL \
           SELECT id, reseller_id, ip, CAST(SUBSTR(detail, 6) AS INTEGER) AS t, 'convert_from' AS action, \
                  NULL AS detail \
             FROM license_events WHERE {converted_from} \
         ), latest AS ( \
           SELECT id, reseller_id, ip, t, action, detail, \
                  ROW_NUMBER() OVER (PARTITION BY reseller_id, ip, t ORDER BY id DESC) AS n \
             FROM moves \
         ), opening AS ( \
           SELECT l.reseller_id AS reseller_id, l.ip AS ip, l.t AS type_id, \
                  CASE WHEN l.action = 'register' THEN COALESCE(l.detail = '{TRIAL_DETAIL}', FALSE) \
                  ELSE COALESCE((SELECT r.detail = '{TRIAL_DETAIL}' FROM license_events r \
                           WHERE r.reseller_id = l.reseller_id AND r.ip = l.ip \
                             AND r.action = 'register' AND r.id <= l.id \
                           ORDER BY r.id DESC LIMIT 1), FALSE) END AS trial \
             FROM latest l WHERE l.n = 1 AND l.action IN ('register', 'convert') \
         ), changes AS ( \
           SELECT reseller_id, ip, server_id FROM license_events WHERE {in_month} \
         ), changed AS ( \
           SELECT reseller_id, ip AS unit FROM changes \
           UNION \
           SELECT reseller_id, '{KEY_UNIT}' || server_id AS unit FROM changes WHERE server_id IS NOT NULL \
         ), flagged AS ( \
           SELECT o.reseller_id, o.ip, o.type_id, o.trial, \
                  (o.reseller_id, o.ip) IN (SELECT reseller_id, unit FROM changed) AS changing \
             FROM opening o \
         ) \
         SELECT reseller_id, ip, type_id, trial, CAST(1 AS BIGINT) AS licenses \
           FROM flagged WHERE changing \
         UNION ALL \
         SELECT reseller_id, NULL AS ip, type_id, FALSE AS trial, COUNT(*) AS licenses \
           FROM flagged WHERE NOT changing AND NOT trial \
          GROUP BY reseller_id, type_id \
          ORDER BY 1, 2, 3"
    )
}

/// The licenses open at the start of a month, as `usage::compute` takes them.
#[derive(Debug, Default)]
pub struct Opening {
    /// Those that change during the month: register events at the start (trials marked as
    /// such, so that they stay unbilled), to be replayed with the month's changes.
    pub changing: Vec<LicenseEvent>,
    /// (reseller, type) → how many non-trial licenses are open at the start and do not
    /// change during the month: each is held every day of it.
    pub steady: Vec<((i64, i32), i64)>,
}

/// The licenses of one reseller (all when None) open at `start`, the month's first moment;
/// `end` is the month's end (what "change during the month" means).
pub fn open_at(
    conn: &mut DbConnection,
    reseller_id: Option<i64>,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> Result<Opening, DomainError> {
    // The same binds on either backend; only the placeholder syntax differs.
    macro_rules! load {
        ($conn:expr, $placeholder:expr) => {{
            let mut query =
                diesel::sql_query(opening_sql($placeholder, reseller_id.is_some())).into_boxed();
            for _ in 0..3 {
                query = query.bind::<Timestamp, _>(start);
                if let Some(id) = reseller_id {
                    query = query.bind::<BigInt, _>(id);
                }
            }
            query = query.bind::<Timestamp, _>(start).bind::<Timestamp, _>(end);
            if let Some(id) = reseller_id {
                query = query.bind::<BigInt, _>(id);
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
            Some(ip) => opening.changing.push(LicenseEvent {
                id: 0,
                at: start,
                reseller_id: Some(row.reseller_id),
                action: "register".into(),
                ip,
                type_id: Some(row.type_id),
                detail: row.trial.then(|| TRIAL_DETAIL.to_string()),
                source: None,
                server_id: None,
            }),
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
        let sql = opening_sql(|n| format!("${n}"), true);
        let positions: Vec<usize> = ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9"]
            .iter()
            .map(|p| sql.find(p).expect(p))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{sql}");
        assert!(!sql.contains("$10"));
        let all = opening_sql(|n| format!("${n}"), false);
        assert!(all.contains("$5") && !all.contains("$6"), "{all}");
    }
}
