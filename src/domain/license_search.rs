//! Finding a reseller's licenses by type, address or CIDR block (a range of `ip_key`, so one
//! index range on either backend), silence and free text, sorted by a column, one keyset page
//! at a time (the console's IP Licenses and Not checking in pages, the CSV export, the
//! removals a person confirmed, the admin API's list). Keyset paging (`after` the last row's sort key and id) keeps every page as
//! cheap as the first, however deep.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use ipnet::IpNet;

use super::held_at;
use super::ip::LicenseIp;
use crate::db::models::License;
use crate::db::schema::ip_licenses;
use crate::db::DbConnection;
use crate::error::DomainError;

diesel::define_sql_function!(fn lower(x: Nullable<Text>) -> Nullable<Text>);

/// Longest free-text search accepted.
pub const MAX_SEARCH_CHARS: usize = 100;

/// Where the addresses must lie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressFilter {
    Exact(LicenseIp),
    Block(IpNet),
}

impl AddressFilter {
    /// An address, or a CIDR block (`203.0.113.0/24`, `2001:db8::/48`).
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let text = text.trim();
        if let Some(ip) = LicenseIp::parse(text) {
            return Ok(AddressFilter::Exact(ip));
        }
        text.parse::<IpNet>()
            .map(|net| AddressFilter::Block(net.trunc()))
            .map_err(|_| {
                DomainError::invalid(format!(
                    "{text:?} is neither an IP address nor a CIDR block"
                ))
            })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub type_id: Option<i32>,
    pub address: Option<AddressFilter>,
    /// Case-insensitive substring of the IP, the server's check-in text, the note or the
    /// external id.
    pub text: Option<String>,
    /// Whether the server has checked in at least once.
    pub registered: Option<bool>,
    /// Only licenses whose server has not checked in since (never, for one created before).
    pub stale_since: Option<NaiveDateTime>,
    /// Exactly this external id.
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortColumn {
    #[default]
    Ip,
    Added,
    Type,
    /// Creation order (the admin API's cursor).
    Id,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sort {
    pub column: SortColumn,
    pub descending: bool,
}

/// Where a page starts: after the row with this sort key and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// The address's `order_key` (numeric order), and the id.
    Ip(String, i64),
    Added(NaiveDateTime, i64),
    Type(i32, i64),
    Id(i64),
}

impl After {
    /// The cursor that continues after `license` in `sort` order.
    pub fn of(license: &License, sort: Sort) -> Self {
        match sort.column {
            SortColumn::Ip => After::Ip(LicenseIp::order_key_of(&license.ip), license.id),
            SortColumn::Added => After::Added(license.created_at, license.id),
            SortColumn::Type => After::Type(license.type_id, license.id),
            SortColumn::Id => After::Id(license.id),
        }
    }
}

/// Rows given their `ip_key` per statement while filling in older rows.
const FILL_BATCH: i64 = 1_000;

/// Gives every license without an `ip_key` (rows from before it, or written by hand in SQL)
/// its key; returns how many. Run at start, after the migrations.
pub fn fill_missing_ip_keys(conn: &mut DbConnection) -> Result<usize, DomainError> {
    let mut filled = 0;
    let mut after = 0;
    loop {
        let rows: Vec<(i64, String)> = ip_licenses::table
            .filter(ip_licenses::ip_key.eq(""))
            .filter(ip_licenses::id.gt(after))
            .select((ip_licenses::id, ip_licenses::ip))
            .order(ip_licenses::id)
            .limit(FILL_BATCH)
            .load(conn)?;
        let keyed: Vec<(i64, String)> = rows
            .iter()
            .filter_map(|(id, ip)| LicenseIp::parse(ip).map(|ip| (*id, ip.order_key())))
            .collect();
        crate::db::write_transaction(conn, |c| {
            for (id, key) in &keyed {
                diesel::update(ip_licenses::table.find(id))
                    .set(ip_licenses::ip_key.eq(key))
                    .execute(c)?;
            }
            Ok(())
        })?;
        filled += keyed.len();
        // A stored address that does not parse keeps '' (it sorts first).
        match rows.last() {
            Some((last, _)) if rows.len() as i64 == FILL_BATCH => after = *last,
            _ => return Ok(filled),
        }
    }
}

/// Up to `limit` licenses held at `now` by the reseller (or by anyone, for None) that match,
/// in `sort` order, after `after`.
pub fn page(
    conn: &mut DbConnection,
    reseller_id: Option<i64>,
    filter: &Filter,
    sort: Sort,
    after: Option<&After>,
    limit: i64,
    now: NaiveDateTime,
) -> Result<Vec<License>, DomainError> {
    query(conn, reseller_id, filter, sort, after, limit, now)
}

/// How many licenses `page` would find in all.
pub fn count(
    conn: &mut DbConnection,
    reseller_id: Option<i64>,
    filter: &Filter,
    now: NaiveDateTime,
) -> Result<i64, DomainError> {
    Ok(matching(reseller_id, filter, now)
        .count()
        .get_result(conn)?)
}

/// The order keys (`LicenseIp::order_key`) of a block's first and last address.
fn block_keys(net: &IpNet) -> (String, String) {
    (
        LicenseIp::from_addr(net.network()).order_key(),
        LicenseIp::from_addr(net.broadcast()).order_key(),
    )
}

/// `%` and `_` match themselves in a LIKE pattern built from user text.
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The licenses held at `now` by the reseller (or anyone) that match `filter`.
fn matching(
    reseller_id: Option<i64>,
    filter: &Filter,
    now: NaiveDateTime,
) -> ip_licenses::BoxedQuery<'static, crate::db::MultiBackend> {
    let mut q = ip_licenses::table.into_boxed();
    // The owner first: SQLite 3.50 scans the whole table and sorts when the `held_at` OR
    // comes before it (24 ms for the first page of 100,000 licenses against 2 ms).
    if let Some(id) = reseller_id {
        q = q.filter(ip_licenses::reseller_id.eq(id));
    }
    q = q.filter(held_at(now));
    if let Some(registered) = filter.registered {
        q = if registered {
            q.filter(ip_licenses::registered_at.is_not_null())
        } else {
            q.filter(ip_licenses::registered_at.is_null())
        };
    }
    if let Some(since) = filter.stale_since {
        // A registration still asking its upstream has no server yet to fall silent.
        q = q.filter(ip_licenses::relay_state.is_null());
        q = q.filter(
            ip_licenses::last_checkin
                .lt(since)
                .or(ip_licenses::last_checkin
                    .is_null()
                    .and(ip_licenses::created_at.lt(since))),
        );
    }
    if let Some(type_id) = filter.type_id {
        q = q.filter(ip_licenses::type_id.eq(type_id));
    }
    match &filter.address {
        Some(AddressFilter::Exact(ip)) => q = q.filter(ip_licenses::ip.eq(ip.to_string())),
        Some(AddressFilter::Block(net)) => {
            // The block's first and last address bound its order keys: one index range.
            let (first, last) = block_keys(net);
            q = q.filter(ip_licenses::ip_key.between(first, last));
        }
        None => {}
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", like_escaped(&text.to_lowercase()));
        q = q.filter(
            ip_licenses::ip
                .like(pattern.clone())
                .escape('\\')
                .or(lower(ip_licenses::server_info)
                    .like(pattern.clone())
                    .escape('\\')
                    .assume_not_null())
                .or(lower(ip_licenses::note)
                    .like(pattern.clone())
                    .escape('\\')
                    .assume_not_null())
                .or(lower(ip_licenses::external_id)
                    .like(pattern)
                    .escape('\\')
                    .assume_not_null()),
        );
    }
    if let Some(external_id) = &filter.external_id {
        q = q.filter(ip_licenses::external_id.eq(external_id.clone()));
    }
    q
}

fn query(
    conn: &mut DbConnection,
    reseller_id: Option<i64>,
    filter: &Filter,
    sort: Sort,
    after: Option<&After>,
    limit: i64,
    now: NaiveDateTime,
) -> Result<Vec<License>, DomainError> {
    let mut q = matching(reseller_id, filter, now)
        .select(License::as_select())
        .limit(limit);
    let desc = sort.descending;
    q = match (sort.column, desc) {
        (SortColumn::Ip, false) => q.order((ip_licenses::ip_key.asc(), ip_licenses::id.asc())),
        (SortColumn::Ip, true) => q.order((ip_licenses::ip_key.desc(), ip_licenses::id.desc())),
        (SortColumn::Added, false) => {
            q.order((ip_licenses::created_at.asc(), ip_licenses::id.asc()))
        }
        (SortColumn::Added, true) => {
            q.order((ip_licenses::created_at.desc(), ip_licenses::id.desc()))
        }
        (SortColumn::Type, false) => q.order((ip_licenses::type_id.asc(), ip_licenses::id.asc())),
        (SortColumn::Type, true) => q.order((ip_licenses::type_id.desc(), ip_licenses::id.desc())),
        (SortColumn::Id, false) => q.order(ip_licenses::id.asc()),
        (SortColumn::Id, true) => q.order(ip_licenses::id.desc()),
    };
    // `col >= v AND (col > v OR id > i)`: the first half is a range the index can seek to,
    // so a deep page costs what the first one does.
    q = match (after, desc) {
        (None, _) => q,
        (Some(After::Ip(key, id)), false) => q.filter(ip_licenses::ip_key.ge(key.clone())).filter(
            ip_licenses::ip_key
                .gt(key.clone())
                .or(ip_licenses::id.gt(*id)),
        ),
        (Some(After::Ip(key, id)), true) => q.filter(ip_licenses::ip_key.le(key.clone())).filter(
            ip_licenses::ip_key
                .lt(key.clone())
                .or(ip_licenses::id.lt(*id)),
        ),
        (Some(After::Added(at, id)), false) => q
            .filter(ip_licenses::created_at.ge(*at))
            .filter(ip_licenses::created_at.gt(*at).or(ip_licenses::id.gt(*id))),
        (Some(After::Added(at, id)), true) => q
            .filter(ip_licenses::created_at.le(*at))
            .filter(ip_licenses::created_at.lt(*at).or(ip_licenses::id.lt(*id))),
        (Some(After::Type(t, id)), false) => q
            .filter(ip_licenses::type_id.ge(*t))
            .filter(ip_licenses::type_id.gt(*t).or(ip_licenses::id.gt(*id))),
        (Some(After::Type(t, id)), true) => q
            .filter(ip_licenses::type_id.le(*t))
            .filter(ip_licenses::type_id.lt(*t).or(ip_licenses::id.lt(*id))),
        (Some(After::Id(id)), false) => q.filter(ip_licenses::id.gt(*id)),
        (Some(After::Id(id)), true) => q.filter(ip_licenses::id.lt(*id)),
    };
    Ok(q.load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_spans_its_first_to_its_last_address() {
        let net = |t: &str| t.parse::<IpNet>().unwrap().trunc();
        let (first, last) = block_keys(&net("203.0.113.0/24"));
        let inside = LicenseIp::order_key_of("203.0.113.77");
        assert!(first <= inside && inside <= last);
        assert!(LicenseIp::order_key_of("203.0.114.0") > last);
        assert!(LicenseIp::order_key_of("203.0.112.255") < first);
        let (first, last) = block_keys(&net("2001:db8::/32"));
        assert!(first <= LicenseIp::order_key_of("2001:db8:ffff::1"));
        assert!(LicenseIp::order_key_of("2001:db8:ffff::1") <= last);
        assert!(LicenseIp::order_key_of("2001:db9::") > last);
        assert!(
            LicenseIp::order_key_of("203.0.113.1") < first,
            "IPv4 is outside an IPv6 block"
        );
    }

    #[test]
    fn like_wildcards_in_user_text_are_escaped() {
        assert_eq!(like_escaped("a%b_c\\"), "a\\%b\\_c\\\\");
    }

    #[test]
    fn address_filters_parse_or_explain() {
        assert!(matches!(
            AddressFilter::parse("203.0.113.7"),
            Ok(AddressFilter::Exact(_))
        ));
        assert!(matches!(
            AddressFilter::parse("203.0.113.7/24"),
            Ok(AddressFilter::Block(_))
        ));
        assert!(AddressFilter::parse("203.0.113.0/33").is_err());
        assert!(AddressFilter::parse("<script>").is_err());
    }
}
