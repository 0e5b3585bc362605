//! `/api/admin/v1/licenses/{ip}/...`: changing a reseller's license in place (move to a new IP).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

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
