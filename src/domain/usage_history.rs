//! The events a month's usage needs: the licenses open when the month starts (one row per
//! license, found by the database from each license's latest change before then) and the
//! changes within the month. The application never reads the history before the month.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Text, Timestamp};

use super::events::TRIAL_DETAIL;
use crate::db::models::LicenseEvent;
use crate::db::schema::license_events;
use crate::db::DbConnection;
use crate::error::DomainError;

#[derive(QueryableByName)]
struct OpenLicense {
    #[diesel(sql_type = BigInt)]
    reseller_id: i64,
    #[diesel(sql_type = Text)]
    ip: String,
    #[diesel(sql_type = Integer)]
    type_id: i32,
    #[diesel(sql_type = Bool)]
    trial: bool,
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
/// as a change of both its types; a license is open when that change started it. A
/// converted license is a trial when the register that began it on that IP was one.
fn opening_sql(placeholder: fn(usize) -> String, one_reseller: bool) -> String {
    let count = std::cell::Cell::new(0);
    let next = || {
        count.set(count.get() + 1);
        placeholder(count.get())
    };
    let arm = |extra: &str| {
        let before = next();
        let reseller = if one_reseller {
            format!(" AND reseller_id = {}", next())
        } else {
            String::new()
        };
        format!("at < {before}{reseller}{extra}")
    };
    let moves = arm(" AND action IN ('register', 'remove', 'expire', 'convert')");
    let key_moves = arm(" AND action IN ('key_register', 'key_remove')");
    let converted_from = arm(" AND action = 'convert' AND detail LIKE 'from=%'");
    format!(
        "WITH moves AS ( \
           SELECT id, reseller_id, ip, type_id AS t, action FROM license_events WHERE {moves} \
           UNION ALL \
           SELECT id, reseller_id, '{KEY_UNIT}' || server_id AS ip, type_id AS t, \
                  CASE action WHEN 'key_register' THEN 'register' ELSE 'remove' END AS action \
             FROM license_events WHERE {key_moves} \
           UNION ALL \
           SELECT id, reseller_id, ip, CAST(SUBSTR(detail, 6) AS INTEGER) AS t, 'convert_from' AS action \
             FROM license_events WHERE {converted_from} \
         ), latest AS ( \
           SELECT id, reseller_id, ip, t, action, \
                  ROW_NUMBER() OVER (PARTITION BY reseller_id, ip, t ORDER BY id DESC) AS n \
             FROM moves \
         ) \
         SELECT l.reseller_id AS reseller_id, l.ip AS ip, l.t AS type_id, \
                COALESCE((SELECT r.detail = '{TRIAL_DETAIL}' FROM license_events r \
                           WHERE r.reseller_id = l.reseller_id AND r.ip = l.ip \
                             AND r.action = 'register' AND r.id <= l.id \
                           ORDER BY r.id DESC LIMIT 1), FALSE) AS trial \
           FROM latest l WHERE l.n = 1 AND l.action IN ('register', 'convert') \
          ORDER BY l.reseller_id, l.ip, l.t"
    )
}

/// The licenses of one reseller (all when None) open at `start`, as register events at
/// `start` (trials marked as such, so that they stay unbilled).
pub fn open_at(
    conn: &mut DbConnection,
    reseller_id: Option<i64>,
    start: NaiveDateTime,
) -> Result<Vec<LicenseEvent>, DomainError> {
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
            query.load::<OpenLicense>($conn)?
        }};
    }
    let rows: Vec<OpenLicense> = match conn {
        DbConnection::Postgresql(pg) => load!(pg, |n| format!("${n}")),
        DbConnection::Sqlite(lite) => load!(lite, |_| "?".to_string()),
    };
    Ok(rows
        .into_iter()
        .map(|row| LicenseEvent {
            id: 0,
            at: start,
            reseller_id: Some(row.reseller_id),
            action: "register".into(),
            ip: row.ip,
            type_id: Some(row.type_id),
            detail: row.trial.then(|| TRIAL_DETAIL.to_string()),
            source: None,
            server_id: None,
        })
        .collect())
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
        let positions: Vec<usize> = ["$1", "$2", "$3", "$4", "$5", "$6"]
            .iter()
            .map(|p| sql.find(p).expect(p))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{sql}");
        assert!(!opening_sql(|n| format!("${n}"), false).contains("$4"));
    }
}
