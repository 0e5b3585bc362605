//! JSON shapes of license rows, field by field as clients read them (contract §2-3):
//! `type` is a number, `registered` a boolean, dates in CLN's format.

use serde::Serialize;

use super::envelope::{STREAM_HEAD, STREAM_TAIL};
use super::list_stream::ListFormat;
use crate::db::models::License;
use crate::wire::format_date;

/// availability.json's data.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AvailabilityData {
    /// Types the caller could register on the IP now, ascending.
    pub available: Vec<i32>,
    /// Types the caller holds on the IP, ascending.
    pub owned: Vec<i32>,
}

/// The schema of a list.json row (the rows themselves are `ListRow`, streamed).
pub type ListRowSchema = ListRow<'static>;

/// A row of list.json: `{"created", "ip", "registered", "type"}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ListRow)]
pub struct ListRow<'a> {
    /// CLN's date: `yyyy-MM-ddTHH:mm+0000`.
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}\\+0000$")]
    pub created: String,
    pub ip: &'a str,
    pub registered: bool,
    #[serde(rename = "type")]
    pub type_id: i32,
}

impl<'a> From<&'a License> for ListRow<'a> {
    fn from(l: &'a License) -> Self {
        Self {
            created: format_date(l.created_at),
            ip: &l.ip,
            registered: l.registered_at.is_some(),
            type_id: l.type_id,
        }
    }
}

/// register.json's data: `{"ip", "type", "registered", "created"}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = RegisteredLicense)]
pub struct RegisteredLicense<'a> {
    pub ip: &'a str,
    #[serde(rename = "type")]
    pub type_id: i32,
    pub registered: bool,
    pub created: String,
}

impl<'a> From<&'a License> for RegisteredLicense<'a> {
    fn from(l: &'a License) -> Self {
        Self {
            ip: &l.ip,
            type_id: l.type_id,
            registered: l.registered_at.is_some(),
            created: format_date(l.created_at),
        }
    }
}

/// A row of server.json and of the v2 licenses list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ServerRow)]
pub struct ServerRow<'a> {
    pub server_info: Option<&'a str>,
    pub ip: &'a str,
    #[serde(rename = "type")]
    pub type_id: i32,
    pub registered: bool,
    pub created: String,
    pub last_checkin: Option<String>,
}

impl<'a> From<&'a License> for ServerRow<'a> {
    fn from(l: &'a License) -> Self {
        Self {
            server_info: l.server_info.as_deref(),
            ip: &l.ip,
            type_id: l.type_id,
            registered: l.registered_at.is_some(),
            created: format_date(l.created_at),
            last_checkin: l.last_checkin.map(format_date),
        }
    }
}

/// list.json: the envelope around `ListRow`s.
pub static JSON_LIST: ListFormat = ListFormat {
    content_type: "application/json",
    head: STREAM_HEAD,
    separator: ",",
    tail: STREAM_TAIL,
    write_row: |l, out| serde_json::to_writer(out, &ListRow::from(l)).map_err(|e| e.to_string()),
};

/// A row of the v2 licenses list (ours): server.json's, and the license's ELS setting, so that
/// another ipls importing this account (`ipls import cln`) keeps it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = V2LicenseRow)]
pub struct V2LicenseRow<'a> {
    #[serde(flatten)]
    pub row: ServerRow<'a>,
    pub els_allowed: bool,
}

/// The v2 licenses list: the envelope around `V2LicenseRow`s.
pub static JSON_SERVER_LIST: ListFormat = ListFormat {
    content_type: "application/json",
    head: STREAM_HEAD,
    separator: ",",
    tail: STREAM_TAIL,
    write_row: |l, out| {
        let row = V2LicenseRow {
            row: ServerRow::from(l),
            els_allowed: l.els_allowed,
        };
        serde_json::to_writer(out, &row).map_err(|e| e.to_string())
    },
};
