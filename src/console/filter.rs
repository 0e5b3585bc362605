//! The IP Licenses page's filter, sort and page position as they travel in a query string
//! (and in the hidden fields of the forms that act on "every row matching the filter").

use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::db::models::License;
use crate::domain::ip::LicenseIp;
use crate::domain::license_search::{
    AddressFilter, After, Filter, Sort, SortColumn, MAX_SEARCH_CHARS,
};
use crate::error::DomainError;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default, rename = "type")]
    pub type_id: String,
    /// An IP address or CIDR block.
    #[serde(default)]
    pub ip: String,
    /// Free text: part of an IP or of the server's check-in text.
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub dir: String,
    /// Keyset position: `ID~VALUE` of the last row of the previous page.
    #[serde(default)]
    pub after: String,
    /// Keyset position going back: `ID~VALUE` of the first row of the next page.
    #[serde(default)]
    pub before: String,
    /// Rows per page (`ROWS_PER_PAGE`).
    #[serde(default)]
    pub per: String,
    /// The page's number, as the links that led here counted it (shown, never trusted for
    /// what the page holds).
    #[serde(default)]
    pub page: String,
    #[serde(default)]
    pub notice: String,
}

/// The rows per page a reseller may pick.
pub const ROWS_PER_PAGE: [i64; 4] = [25, 50, 100, 200];
/// Rows per page when the address does not say.
pub const DEFAULT_ROWS_PER_PAGE: i64 = 50;

impl ListQuery {
    pub fn filter(&self) -> Result<Filter, DomainError> {
        let type_id = match self.type_id.trim() {
            "" => None,
            text => Some(
                text.parse::<i32>()
                    .map_err(|_| DomainError::invalid(format!("{text:?} is not a license type")))?,
            ),
        };
        let address = match self.ip.trim() {
            "" => None,
            text => Some(AddressFilter::parse(text)?),
        };
        let text = self.q.trim();
        if text.chars().count() > MAX_SEARCH_CHARS {
            return Err(DomainError::invalid(format!(
                "a search has at most {MAX_SEARCH_CHARS} characters"
            )));
        }
        Ok(Filter {
            type_id,
            address,
            text: (!text.is_empty()).then(|| text.to_string()),
            ..Filter::default()
        })
    }

    pub fn sort(&self) -> Sort {
        let column = match self.sort.as_str() {
            "added" => SortColumn::Added,
            "type" => SortColumn::Type,
            _ => SortColumn::Ip,
        };
        Sort {
            column,
            descending: self.dir == "desc",
        }
    }

    /// Rows per page: one of `ROWS_PER_PAGE`.
    pub fn per_page(&self) -> Result<i64, DomainError> {
        match self.per.trim() {
            "" => Ok(DEFAULT_ROWS_PER_PAGE),
            text => text
                .parse::<i64>()
                .ok()
                .filter(|n| ROWS_PER_PAGE.contains(n))
                .ok_or_else(|| {
                    DomainError::invalid(format!("rows per page is one of {ROWS_PER_PAGE:?}"))
                }),
        }
    }

    /// The page number shown (1 when absent or not a number).
    pub fn page_number(&self) -> i64 {
        self.page
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .unwrap_or(1)
    }

    /// Where the page starts: after a row (`after`), or before one going back (`before`,
    /// with true).
    pub fn position(&self) -> Result<Option<(After, bool)>, DomainError> {
        if !self.before.is_empty() {
            return Ok(self.cursor(&self.before)?.map(|c| (c, true)));
        }
        Ok(self.cursor(&self.after)?.map(|c| (c, false)))
    }

    fn cursor(&self, text: &str) -> Result<Option<After>, DomainError> {
        if text.is_empty() {
            return Ok(None);
        }
        let bad = || {
            DomainError::invalid("that page position is not valid; start again from the first page")
        };
        let (id, value) = text.split_once('~').ok_or_else(bad)?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        Ok(Some(match self.sort().column {
            SortColumn::Ip => After::Ip(LicenseIp::order_key_of(value), id),
            SortColumn::Added => After::Added(
                NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| bad())?,
                id,
            ),
            SortColumn::Type => After::Type(value.parse().map_err(|_| bad())?, id),
            SortColumn::Id => After::Id(id),
        }))
    }

    /// The filter, sort and rows per page as query parameters, those given (no page position,
    /// no notice).
    pub fn to_query(&self) -> String {
        let given: Vec<(&str, &str)> = [
            ("type", self.type_id.trim()),
            ("ip", self.ip.trim()),
            ("q", self.q.trim()),
            ("sort", self.sort.as_str()),
            ("dir", self.dir.as_str()),
            ("per", self.per.trim()),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .collect();
        serde_urlencoded::to_string(given).unwrap_or_default()
    }

    /// `to_query` of a form's hidden `back` field: what the list showed before an action,
    /// read back through this type so that only its own parameters survive.
    pub fn back_from(text: &str) -> String {
        serde_urlencoded::from_str::<ListQuery>(text)
            .map(|q| q.to_query())
            .unwrap_or_default()
    }

    fn position_of(&self, row: &License) -> String {
        let value = match self.sort().column {
            SortColumn::Ip => row.ip.clone(),
            SortColumn::Added => row.created_at.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
            SortColumn::Type => row.type_id.to_string(),
            SortColumn::Id => String::new(),
        };
        format!("{}~{value}", row.id)
    }

    /// The query string of the page after `last` (page number `page`).
    pub fn next_after(&self, last: &License, page: i64) -> String {
        let position = [
            ("after", self.position_of(last)),
            ("page", page.to_string()),
        ];
        let after = serde_urlencoded::to_string(position).unwrap_or_default();
        format!("{}&{after}", self.to_query())
    }

    /// The query string of the page before `first` (page number `page`).
    pub fn previous_before(&self, first: &License, page: i64) -> String {
        let position = [
            ("before", self.position_of(first)),
            ("page", page.to_string()),
        ];
        let before = serde_urlencoded::to_string(position).unwrap_or_default();
        format!("{}&{before}", self.to_query())
    }

    /// The query string that sorts by `column`, flipping the direction if already sorted so.
    pub fn sorted_by(&self, column: &str) -> String {
        let current = if self.sort.is_empty() {
            "ip"
        } else {
            self.sort.as_str()
        };
        let dir = if current == column && self.dir != "desc" {
            "desc"
        } else {
            "asc"
        };
        let mut q = self.clone();
        q.sort = column.to_string();
        q.dir = dir.to_string();
        q.to_query()
    }

    /// The same list with `per` rows per page, from its first page.
    pub fn with_rows(&self, per: i64) -> String {
        let mut q = self.clone();
        q.per = per.to_string();
        q.to_query()
    }

    pub fn is_filtered(&self) -> bool {
        !(self.type_id.trim().is_empty() && self.ip.trim().is_empty() && self.q.trim().is_empty())
    }
}
