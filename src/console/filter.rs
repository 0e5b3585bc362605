//! The IP Licenses page's filter, sort and page position as they travel in a query string
//! (and in the hidden fields of the forms that act on "every row matching the filter").

use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::db::models::License;
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
    #[serde(default)]
    pub notice: String,
}

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

    pub fn after(&self) -> Result<Option<After>, DomainError> {
        if self.after.is_empty() {
            return Ok(None);
        }
        let bad = || {
            DomainError::invalid("that page position is not valid; start again from the first page")
        };
        let (id, value) = self.after.split_once('~').ok_or_else(bad)?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        Ok(Some(match self.sort().column {
            SortColumn::Ip => After::Ip(value.to_string(), id),
            SortColumn::Added => After::Added(
                NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| bad())?,
                id,
            ),
            SortColumn::Type => After::Type(value.parse().map_err(|_| bad())?, id),
            SortColumn::Id => After::Id(id),
        }))
    }

    /// The filter and sort as query parameters (no page position, no notice).
    pub fn to_query(&self) -> String {
        serde_urlencoded::to_string([
            ("type", self.type_id.trim()),
            ("ip", self.ip.trim()),
            ("q", self.q.trim()),
            ("sort", self.sort.as_str()),
            ("dir", self.dir.as_str()),
        ])
        .unwrap_or_default()
    }

    /// The query string of the page after `last`.
    pub fn next_after(&self, last: &License) -> String {
        let value = match self.sort().column {
            SortColumn::Ip => last.ip.clone(),
            SortColumn::Added => last.created_at.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
            SortColumn::Type => last.type_id.to_string(),
            SortColumn::Id => String::new(),
        };
        let after = serde_urlencoded::to_string([("after", format!("{}~{value}", last.id))])
            .unwrap_or_default();
        format!("{}&{after}", self.to_query())
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

    pub fn is_filtered(&self) -> bool {
        !(self.type_id.trim().is_empty() && self.ip.trim().is_empty() && self.q.trim().is_empty())
    }
}
