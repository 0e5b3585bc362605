//! `/api/admin/v1/licenses/{ip}` PATCH and `/licenses/{ip}/...`: changing a reseller's license
//! in place (its note and external id; a move to a new IP).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Deserializer};

use super::body;
use super::error::AdminResult;
use super::types::{IpValue, Login, TypeNumber};
use super::views::LicenseView;
use crate::auth::admin::AdminCaller;
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
    /// The note (at most 500 characters); null or "" clears it, absent leaves it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub note: Option<Option<String>>,
    /// The billing panel's id, unique among the reseller's licenses (at most 100
    /// characters); null or "" clears it, absent leaves it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 100)]
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
