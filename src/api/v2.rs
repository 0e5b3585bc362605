//! `/api/v2/ip-license/...` (ours; CLN has not published these shapes).

use actix_web::web;
use serde::Serialize;

use super::call::Call;
use super::envelope::success;
use super::error::ApiResult;
use super::list_stream::stream_licenses;
use super::views::JSON_SERVER_LIST;
use crate::auth::Authenticated;
use crate::db;
use crate::domain::catalogue::enabled_types;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
struct TypeRow {
    id: i32,
    name: String,
    family: String,
}

/// The types enabled for the caller.
#[utoipa::path(get, path = "/api/v2/ip-license/licenses/types", operation_id = "v2Types", tag = "licenses",
    responses((status = 200, body = Vec<TypeRow>)))]
pub async fn types(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let reseller = auth.reseller;
    let enabled = db::run(&state.pool, move |c| enabled_types(c, reseller.id)).await?;
    let rows: Vec<TypeRow> = enabled
        .into_iter()
        .map(|e| TypeRow {
            id: e.license_type.id,
            name: e.license_type.name,
            family: e.license_type.family,
        })
        .collect();
    Ok(success(rows))
}

/// All the caller's licenses, as server.json rows with each license's ELS setting.
#[utoipa::path(get, path = "/api/v2/ip-license/licenses", operation_id = "v2Licenses", tag = "licenses",
    responses((status = 200, body = Vec<super::views::V2LicenseRow<'static>>)))]
pub async fn licenses(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let reseller = auth.reseller;
    stream_licenses(&state, reseller.id, &JSON_SERVER_LIST).await
}
