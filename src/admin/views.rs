//! The admin API's JSON shapes (serde + OpenAPI schemas), kept apart from the row structs.

use crate::domain::licenses::Suspension;
use crate::domain::upstream::RelayStatus;
use crate::wire::iso;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::models::{License, LicenseEvent, Reseller};
use crate::domain::resellers::Grants;

#[derive(Debug, Serialize, ToSchema)]
pub struct TypeGrant {
    #[serde(rename = "type")]
    pub type_id: i32,
    /// Most licenses of the type the reseller may hold; null = unlimited.
    pub limit: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResellerView {
    pub login: String,
    /// `active`, `blocked` or `no-api`.
    pub state: String,
    pub blocked_reason: Option<String>,
    pub trial: bool,
    pub api_enabled: bool,
    pub legacy_sha1: bool,
    /// CIDR blocks API calls must come from; empty = anywhere.
    pub allow_from: Vec<String>,
    pub types: Vec<TypeGrant>,
    pub licenses_held: i64,
    /// ISO 8601, UTC.
    pub created: String,
}

impl ResellerView {
    pub fn new(r: &Reseller, grants: &Grants, held: i64) -> Self {
        let state = match (&r.blocked_reason, r.api_enabled) {
            (Some(_), _) => "blocked",
            (None, false) => "no-api",
            (None, true) => "active",
        };
        Self {
            login: r.login.clone(),
            state: state.into(),
            blocked_reason: r.blocked_reason.clone(),
            trial: r.trial,
            api_enabled: r.api_enabled,
            legacy_sha1: r.legacy_sha1,
            allow_from: r
                .allow_from
                .as_deref()
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            types: grants
                .limits
                .iter()
                .map(|(type_id, limit)| TypeGrant {
                    type_id: *type_id,
                    limit: *limit,
                })
                .collect(),
            licenses_held: held,
            created: iso(r.created_at),
        }
    }
}

/// A reseller with its secret: only in the answer that created or rotated it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResellerWithSecret {
    pub reseller: ResellerView,
    /// The IP secret key, shown once.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecretView {
    pub login: String,
    /// The new IP secret key, shown once.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseView {
    pub id: i64,
    pub reseller: String,
    pub ip: String,
    #[serde(rename = "type")]
    pub type_id: i32,
    /// The server has checked in at least once.
    pub registered: bool,
    pub els_allowed: bool,
    pub created: String,
    pub last_checkin: Option<String>,
    pub server_info: Option<String>,
    /// When a trial license stops counting as held; null for a paid one.
    pub trial_expires: Option<String>,
    /// The reseller's note, and its billing panel's id (never in the CLN API's answers).
    pub note: Option<String>,
    pub external_id: Option<String>,
    /// Set while the license is suspended.
    pub suspended: Option<SuspensionView>,
    /// Where it stands with the upstream its type is carried to: `registering` (the upstream
    /// is being asked), `withdrawing` (an unanswered registration is being withdrawn there),
    /// `pending` (a change is waiting to be carried there); null when in step, or local.
    #[schema(value_type = Option<String>, pattern = "^(registering|withdrawing|pending)$")]
    pub upstream: Option<&'static str>,
}

impl LicenseView {
    pub fn new(l: &License, reseller: &str, upstream: Option<RelayStatus>) -> Self {
        Self {
            id: l.id,
            reseller: reseller.to_string(),
            ip: l.ip.clone(),
            type_id: l.type_id,
            registered: l.registered_at.is_some(),
            els_allowed: l.els_allowed,
            created: iso(l.created_at),
            last_checkin: l.last_checkin.map(iso),
            server_info: l.server_info.clone(),
            trial_expires: l.trial_expires_at.map(iso),
            note: l.note.clone(),
            external_id: l.external_id.clone(),
            suspended: None,
            upstream: upstream.map(RelayStatus::as_str),
        }
    }
}

/// Since when a license is suspended, why, and when it is removed unless resumed.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuspensionView {
    pub since: String,
    pub reason: String,
    pub remove_at: Option<String>,
}

impl LicenseView {
    /// The view with the license's suspension, if any.
    pub fn with_suspension(mut self, suspension: Option<&Suspension>) -> Self {
        self.suspended = suspension.map(|s| SuspensionView {
            since: iso(s.suspended_at),
            reason: s.reason.clone(),
            remove_at: s.remove_at.map(iso),
        });
        self
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageView {
    pub reseller: String,
    #[serde(rename = "type")]
    pub type_id: i32,
    pub license_days: i64,
    pub peak: i64,
    /// Days licenses of the type were held suspended (not billed).
    pub suspended_days: i64,
    /// Prorated amount in cents; null when the type has no price.
    pub amount_cents: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageReport {
    /// `YYYY-MM`.
    pub month: String,
    pub lines: Vec<UsageView>,
    /// Sum of the priced lines, in cents.
    pub total_cents: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: i64,
    pub at: String,
    pub reseller: Option<String>,
    pub action: String,
    pub ip: String,
    #[serde(rename = "type")]
    pub type_id: Option<i32>,
    pub detail: Option<String>,
    /// Who acted: an address (API call or check-in), `cli`, `console:EMAIL`.
    pub source: Option<String>,
}

impl EventView {
    pub fn new(e: &LicenseEvent, reseller: Option<String>) -> Self {
        Self {
            id: e.id,
            at: iso(e.at),
            reseller,
            action: e.action.clone(),
            ip: e.ip.clone(),
            type_id: e.type_id,
            detail: e.detail.clone(),
            source: e.source.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PriceView {
    #[serde(rename = "type")]
    pub type_id: i32,
    pub name: String,
    /// Monthly price in cents; null when not priced.
    pub monthly_cents: Option<i64>,
}

/// One page of a list, and where the next one starts (null on the last page).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
