//! `/api/admin/v1/licenses/{ip}` PATCH and `/licenses/{ip}/...`: changing a reseller's license
//! in place (its note and external id; a move to a new IP; suspend and resume).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Deserializer};

use super::body;
use super::error::{AdminError, AdminResult};
use super::types::{IpValue, Login, TypeNumber};
use super::views::LicenseView;
use crate::auth::admin::AdminCaller;
use crate::db::models::License;
use crate::domain::licenses;
use crate::domain::ActingFor;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    /// Whose license.
    pub reseller: Login,
    /// Where it goes.
    pub new_ip: IpValue,
    /// One type; absent: every type the reseller holds on the IP.
    #[serde(rename = "type", default)]
    #[schema(value_type = Option<TypeNumber>)]
    pub type_id: Option<TypeNumber>,
}

/// Move a reseller's license(s) on an IP to a new IP in one step: `created`, trial state, ELS
/// and history stay, the server registers afresh there, the limit is unchanged. The new IP
/// passes a registration's rules. Answers the moved licenses.
#[utoipa::path(post, path = "/api/admin/v1/licenses/{ip}/move", operation_id = "moveLicense", tag = "licenses",
    request_body = MoveBody,
    params(("ip" = IpValue, Path, description = "The license's current IP")),
    responses((status = 200, description = "Moved", body = Vec<LicenseView>),
        (status = 404, description = "No such reseller, or it holds no such license", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn move_license(
    state: web::Data<AppState>,
    caller: AdminCaller,
    ip: web::Path<IpValue>,
    req: HttpRequest,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let input: MoveBody = body::object(&req, &body)?;
    let from = ip.into_inner().0;
    let (to, type_id) = (input.new_ip.0, input.type_id.map(|t| t.0));
    let login = input.reseller.0;
    let who = ActingFor::Login(login.clone());
    let moved = state
        .act_as(who, caller.source(), move |c, actor, policy| {
            licenses::move_licenses(c, actor, policy, &from, &to, type_id)
        })
        .await?;
    let views: Vec<LicenseView> = moved
        .iter()
        .map(|l| LicenseView::new(l, &login, None))
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// A field that may be absent (None: unchanged), null (Some(None): cleared) or a value.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LicensePatch {
    /// Whose license.
    pub reseller: Login,
    /// One type; absent: every type the reseller holds on the IP (an external id needs one).
    #[serde(rename = "type", default)]
    #[schema(value_type = Option<TypeNumber>)]
    pub type_id: Option<TypeNumber>,
    /// The note (at most 500 characters, no NUL); null or "" clears it, absent leaves it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500, pattern = "^[^\\x00]*$")]
    pub note: Option<Option<String>>,
    /// The billing panel's id, unique among the reseller's licenses (at most 100
    /// characters); null or "" clears it, absent leaves it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 100, pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*$")]
    pub external_id: Option<Option<String>>,
}

/// Set a reseller's license's note and/or external id (ours; the CLN API never shows them).
/// Answers the licenses as changed.
#[utoipa::path(patch, path = "/api/admin/v1/licenses/{ip}", operation_id = "patchLicense", tag = "licenses",
    request_body = LicensePatch,
    params(("ip" = IpValue, Path, description = "An IPv4 or IPv6 address")),
    responses((status = 200, description = "Changed", body = Vec<LicenseView>),
        (status = 404, description = "No such reseller, or it holds no such license", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn patch(
    state: web::Data<AppState>,
    caller: AdminCaller,
    ip: web::Path<IpValue>,
    req: HttpRequest,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let input: LicensePatch = body::object(&req, &body)?;
    let clean = |field: Option<Option<String>>, parse: fn(&str) -> _| {
        field
            .map(|value| parse(value.as_deref().unwrap_or("")))
            .transpose()
    };
    let change = licenses::AnnotationChange {
        note: clean(input.note, licenses::note_text)?,
        external_id: clean(input.external_id, licenses::external_id_text)?,
    };
    let ip = ip.into_inner().0;
    let type_id = input.type_id.map(|t| t.0);
    let login = input.reseller.0;
    let who = ActingFor::Login(login.clone());
    let changed = state
        .act_as(who, caller.source(), move |c, actor, _| {
            licenses::annotate(c, actor, &ip, type_id, &change)
        })
        .await?;
    let views: Vec<LicenseView> = changed
        .iter()
        .map(|l| LicenseView::new(l, &login, None))
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspendBody {
    /// Whose license.
    pub reseller: Login,
    /// One type; absent: every type the reseller holds on the IP.
    #[serde(rename = "type", default)]
    #[schema(value_type = Option<TypeNumber>)]
    pub type_id: Option<TypeNumber>,
    /// Why (1 to 200 characters, not only spaces): shown to the reseller and in the history.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\x00]*[^\\s\\x00][^\\x00]*$"
    )]
    pub reason: String,
    /// Remove the license this long from now unless it is resumed first: a number and a unit
    /// (s, m, h, d, w), e.g. `14d`.
    #[schema(pattern = "^[0-9]{1,9}[smhdw]$")]
    pub remove_after: Option<String>,
}

/// Suspend a reseller's license(s) on an IP: they keep the IP and their place in limits, the
/// server is told at check-in, usage counts the days apart, and a license carried to an
/// upstream is removed there until resumed. Licenses already suspended stay as they are.
/// Answers the licenses suspended by this call.
#[utoipa::path(post, path = "/api/admin/v1/licenses/{ip}/suspend", operation_id = "suspendLicense", tag = "licenses",
    request_body = SuspendBody,
    params(("ip" = IpValue, Path, description = "An IPv4 or IPv6 address")),
    responses((status = 200, description = "Suspended", body = Vec<LicenseView>),
        (status = 404, description = "No such reseller, or it holds no such license", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn suspend(
    state: web::Data<AppState>,
    caller: AdminCaller,
    ip: web::Path<IpValue>,
    req: HttpRequest,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let input: SuspendBody = body::object(&req, &body)?;
    let remove_after = input
        .remove_after
        .as_deref()
        .map(crate::wire::duration)
        .transpose()
        .map_err(AdminError::invalid)?;
    let ip = ip.into_inner().0;
    let type_id = input.type_id.map(|t| t.0);
    let login = input.reseller.0;
    let reason = input.reason;
    let who = ActingFor::Login(login.clone());
    let done = state
        .act_as(who, caller.source(), move |c, actor, _| {
            let suspended = licenses::suspend(c, actor, &ip, type_id, &reason, remove_after)?;
            let ids: Vec<i64> = suspended.iter().map(|l| l.id).collect();
            Ok((suspended, licenses::suspensions_of(c, &ids)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(views_of(&done.0, &login, &done.1)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeBody {
    /// Whose license.
    pub reseller: Login,
    /// One type; absent: every type the reseller holds on the IP.
    #[serde(rename = "type", default)]
    #[schema(value_type = Option<TypeNumber>)]
    pub type_id: Option<TypeNumber>,
}

/// Resume a reseller's suspended license(s) on an IP (registered again at an upstream).
/// Answers the licenses resumed by this call (none when none was suspended).
#[utoipa::path(post, path = "/api/admin/v1/licenses/{ip}/resume", operation_id = "resumeLicense", tag = "licenses",
    request_body = ResumeBody,
    params(("ip" = IpValue, Path, description = "An IPv4 or IPv6 address")),
    responses((status = 200, description = "Resumed", body = Vec<LicenseView>),
        (status = 404, description = "No such reseller, or it holds no such license", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn resume(
    state: web::Data<AppState>,
    caller: AdminCaller,
    ip: web::Path<IpValue>,
    req: HttpRequest,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let input: ResumeBody = body::object(&req, &body)?;
    let ip = ip.into_inner().0;
    let type_id = input.type_id.map(|t| t.0);
    let login = input.reseller.0;
    let who = ActingFor::Login(login.clone());
    let resumed = state
        .act_as(who, caller.source(), move |c, actor, _| {
            licenses::resume(c, actor, &ip, type_id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(views_of(&resumed, &login, &Default::default())))
}

fn views_of(
    licenses: &[License],
    login: &str,
    suspended: &std::collections::HashMap<i64, licenses::Suspension>,
) -> Vec<LicenseView> {
    licenses
        .iter()
        .map(|l| LicenseView::new(l, login, None).with_suspension(suspended.get(&l.id)))
        .collect()
}
