//! One page of a license list (IP Licenses, Not checking in): its rows read by keyset from
//! the position in the address (forwards from `after`, backwards from `before`), the total,
//! and the links to the pages around it with the rows-per-page choice.

use chrono::NaiveDateTime;
use maud::{html, Markup};

use super::filter::{ListQuery, DEFAULT_ROWS_PER_PAGE, ROWS_PER_PAGE};
use crate::db::models::License;
use crate::db::DbConnection;
use crate::domain::license_search::{self, Filter, Sort};
use crate::error::DomainError;

/// A page of licenses and where it stands in the list.
pub struct Paged {
    pub rows: Vec<License>,
    pub total: i64,
    pub more_before: bool,
    pub more_after: bool,
}

/// Reads the page `query` points at (of the reseller's licenses, or everyone's for None).
pub fn read(
    conn: &mut DbConnection,
    reseller_id: Option<i64>,
    filter: &Filter,
    query: &ListQuery,
    now: NaiveDateTime,
) -> Result<Paged, DomainError> {
    let sort = query.sort();
    let per = query.per_page()?;
    let position = query.position()?;
    let total = license_search::count(conn, reseller_id, filter, now)?;
    // Going back, the page is read in the opposite order from its first row's key.
    let (cursor, backwards) = match &position {
        Some((cursor, back)) => (Some(cursor), *back),
        None => (None, false),
    };
    let read_sort = Sort {
        descending: sort.descending != backwards,
        ..sort
    };
    let mut rows =
        license_search::page(conn, reseller_id, filter, read_sort, cursor, per + 1, now)?;
    let beyond = rows.len() as i64 > per;
    rows.truncate(per as usize);
    if backwards {
        rows.reverse();
    }
    Ok(Paged {
        rows,
        total,
        // Forwards, rows beyond mean a next page; backwards, a previous one.
        more_before: if backwards { beyond } else { cursor.is_some() },
        more_after: if backwards { cursor.is_some() } else { beyond },
    })
}

/// "page N of M" for the summary line.
pub fn page_of(query: &ListQuery, paged: &Paged) -> String {
    let per = query.per_page().unwrap_or(DEFAULT_ROWS_PER_PAGE);
    let pages = ((paged.total + per - 1) / per).max(1);
    format!("page {} of {pages}", query.page_number().min(pages))
}

/// Previous, first and next page, and the rows per page; `extra` is the page's own query
/// parameters (before the list's).
pub fn pager(query: &ListQuery, extra: &str, paged: &Paged) -> Markup {
    let per = query.per_page().unwrap_or(DEFAULT_ROWS_PER_PAGE);
    let page = query.page_number();
    let at = |rest: String| {
        if extra.is_empty() {
            format!("?{rest}")
        } else {
            format!("?{extra}&{rest}")
        }
    };
    html! {
        nav.pages aria-label="Pages" {
            @if paged.more_before {
                @if let Some(first) = paged.rows.first() {
                    a rel="prev" href=(at(query.previous_before(first, (page - 1).max(1)))) { "Previous page" }
                }
                a href=(at(query.to_query())) { "First page" }
            }
            @if paged.more_after {
                @if let Some(last) = paged.rows.last() {
                    a rel="next" href=(at(query.next_after(last, page + 1))) { "Next page" }
                }
            }
            span.rows {
                "Rows per page: "
                @for n in ROWS_PER_PAGE {
                    @if n == per { strong aria-current="true" { (n) } } @else { a href=(at(query.with_rows(n))) { (n) } }
                    " "
                }
            }
        }
    }
}
