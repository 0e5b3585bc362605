//! Row structs (what a SELECT returns) and insertables (what an INSERT takes), kept apart
//! from the JSON views in `api`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{ip_licenses, license_events, reseller_types, resellers, trial_uses};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = resellers)]
pub struct Reseller {
    pub id: i64,
    pub login: String,
    pub secret: String,
    pub api_enabled: bool,
    pub legacy_sha1: bool,
    pub trial: bool,
    pub blocked_reason: Option<String>,
    pub created_at: NaiveDateTime,
    /// Comma-separated CIDR blocks the reseller may call from; None = anywhere.
    pub allow_from: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = resellers)]
pub struct NewReseller<'a> {
    pub login: &'a str,
    pub secret: &'a str,
    pub api_enabled: bool,
    pub legacy_sha1: bool,
    pub trial: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reseller_types)]
pub struct ResellerType {
    pub reseller_id: i64,
    pub type_id: i32,
    pub license_limit: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = ip_licenses)]
pub struct License {
    pub id: i64,
    pub reseller_id: i64,
    pub ip: String,
    pub type_id: i32,
    pub slot: String,
    pub els_allowed: bool,
    pub created_at: NaiveDateTime,
    pub registered_at: Option<NaiveDateTime>,
    pub last_checkin: Option<NaiveDateTime>,
    pub server_info: Option<String>,
    pub trial_expires_at: Option<NaiveDateTime>,
    /// None once settled; `registering` or `withdrawing` while an upstream is being asked
    /// (`domain::upstream`): the row holds its IP but is not yet, or no longer, a license.
    pub relay_state: Option<String>,
    /// The reseller's own text and its billing panel's id (never in the CLN faces).
    pub note: Option<String>,
    pub external_id: Option<String>,
}

impl License {
    /// An expired trial no longer counts as held (contract §5).
    pub fn is_expired(&self, now: NaiveDateTime) -> bool {
        self.trial_expires_at.is_some_and(|at| at <= now)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = ip_licenses)]
pub struct NewLicense<'a> {
    pub reseller_id: i64,
    pub ip: &'a str,
    pub type_id: i32,
    pub slot: &'a str,
    pub els_allowed: bool,
    pub created_at: NaiveDateTime,
    pub trial_expires_at: Option<NaiveDateTime>,
    pub relay_state: Option<&'a str>,
    pub note: Option<&'a str>,
    pub external_id: Option<&'a str>,
    /// The address's `LicenseIp::order_key`, which the console sorts by.
    pub ip_key: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = trial_uses)]
pub struct NewTrialUse<'a> {
    pub ip: &'a str,
    pub family: &'a str,
    pub reseller_id: i64,
    pub used_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = license_events)]
pub struct LicenseEvent {
    pub id: i64,
    pub at: NaiveDateTime,
    pub reseller_id: Option<i64>,
    pub action: String,
    pub ip: String,
    pub type_id: Option<i32>,
    pub detail: Option<String>,
    pub source: Option<String>,
    /// The key server a key-server event is about (None for IP licenses and keys).
    pub server_id: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = license_events)]
pub struct NewLicenseEvent<'a> {
    pub at: NaiveDateTime,
    pub reseller_id: Option<i64>,
    pub action: &'a str,
    pub ip: &'a str,
    pub type_id: Option<i32>,
    pub detail: Option<String>,
    pub source: Option<&'a str>,
    pub server_id: Option<&'a str>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::console_users)]
pub struct ConsoleUser {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub reseller_id: Option<i64>,
    pub created_at: NaiveDateTime,
    /// The TOTP secret, sealed (`domain::two_factor`); None: no two-factor login.
    pub totp_secret: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = super::schema::console_users)]
pub struct NewConsoleUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub reseller_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::console_sessions)]
pub struct ConsoleSession {
    pub id_hash: String,
    pub user_id: i64,
    pub csrf: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::admin_tokens)]
pub struct AdminToken {
    pub id: i64,
    pub name: String,
    pub token_hash: String,
    pub read_only: bool,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = super::schema::admin_tokens)]
pub struct NewAdminToken<'a> {
    pub name: &'a str,
    pub token_hash: &'a str,
    pub read_only: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::idempotency_keys)]
pub struct StoredAnswer {
    pub token_id: i64,
    pub method: String,
    pub path: String,
    pub key: String,
    pub request_hash: String,
    /// `pending` while the winning request works, `done` with its answer.
    pub state: String,
    pub status: Option<i32>,
    /// The answer, sealed with the master key.
    pub body: Option<String>,
    /// What the answer created (`keys/KEY`, `webhooks/ID`, `resellers/LOGIN`).
    pub resource: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// An activation key (contract keys.md).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::activation_keys)]
pub struct ActivationKey {
    pub id: i64,
    pub reseller_id: i64,
    pub type_id: i32,
    pub key_text: String,
    /// Most servers the key may hold; 0 = unlimited.
    pub server_limit: i32,
    /// Servers registered with the key now.
    pub servers: i32,
    pub note: String,
    /// Canonical CIDR blocks separated by spaces; None = from anywhere.
    pub cidrs: Option<String>,
    pub is_default: bool,
    pub created_at: NaiveDateTime,
    /// KernelCare's sticky tag: servers take patches released before this day.
    pub sticky_tag: Option<chrono::NaiveDate>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = super::schema::activation_keys)]
pub struct NewActivationKey<'a> {
    pub reseller_id: i64,
    pub type_id: i32,
    pub key_text: &'a str,
    pub server_limit: i32,
    pub note: &'a str,
    pub is_default: bool,
    pub created_at: NaiveDateTime,
}

/// A server registered with an activation key.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::key_servers)]
pub struct KeyServer {
    pub id: i64,
    pub server_id: String,
    pub key_id: i64,
    pub ip: String,
    pub hostname: Option<String>,
    pub created_at: NaiveDateTime,
    pub last_checkin: Option<NaiveDateTime>,
    /// What a KernelCare server reported at its last check-in (None: not reported).
    pub kernel_id: Option<String>,
    pub patch_level: Option<i32>,
    pub latest_patch_level: Option<i32>,
    pub kernel_supported: Option<bool>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = super::schema::key_servers)]
pub struct NewKeyServer<'a> {
    pub server_id: &'a str,
    pub key_id: i64,
    pub ip: &'a str,
    pub hostname: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

/// A reseller's server group for one product.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::server_groups)]
pub struct ServerGroup {
    pub id: i64,
    pub reseller_id: i64,
    /// The product's name (`Product::group_type`): IMUNIFY, KERNELCARE, CLOUDLINUX, ELS.
    pub product: String,
    pub name: String,
    pub description: String,
    pub created_at: NaiveDateTime,
}

/// An upstream CLN-compatible API (`domain::upstream`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::upstreams)]
pub struct Upstream {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub login: String,
    /// Sealed with the master key.
    pub secret: String,
    pub concurrency: i32,
    pub rate_per_second: i32,
    pub created_at: NaiveDateTime,
    pub reconcile_lease_until: Option<NaiveDateTime>,
    pub reconcile_lease_owner: Option<String>,
    pub last_reconcile_at: Option<NaiveDateTime>,
    pub last_reconcile_counts: Option<String>,
    pub failing_alerted_at: Option<NaiveDateTime>,
}

/// A change waiting to be carried to an upstream (the relay's outbox).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::upstream_ops)]
pub struct UpstreamOp {
    pub id: i64,
    pub upstream_id: i64,
    pub ip: String,
    pub op: String,
    pub type_id: i32,
    pub els_allowed: Option<bool>,
    pub type_to: Option<i32>,
    pub source: String,
    pub created_at: NaiveDateTime,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub lease_until: Option<NaiveDateTime>,
    pub first_failure_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub done_at: Option<NaiveDateTime>,
}
