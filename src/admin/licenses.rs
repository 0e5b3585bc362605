//! `/api/admin/v1/licenses`: licenses across resellers, filtered, a cursor page at a time;
//! and every license on one IP.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::AdminResult;
use super::params;
use super::types::{AddressValue, IdCursor, IpValue, Login, PageSize, Since, TypeText};
use super::views::{LicenseView, Page};
use crate::auth::admin::AdminCaller;
use crate::db;
use crate::domain::license_search::{self, After, Filter, Sort, SortColumn};
use crate::domain::queries::holders_of;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LicenseParams {
    pub reseller: Option<Login>,
    pub ip: Option<AddressValue>,
    /// A license type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub type_id: Option<TypeText>,
    /// `true`: the server has checked in; `false`: never.
    pub registered: Option<bool>,
    /// Only licenses whose server has not checked in since this date or time.
    pub stale_since: Option<Since>,
    pub limit: Option<PageSize>,
    pub cursor: Option<IdCursor>,
}

fn filter_of(q: &LicenseParams) -> Filter {
    Filter {
        type_id: q.type_id.as_ref().map(|t| t.0),
        address: q.ip.as_ref().map(|a| a.0.clone()),
        text: None,
        registered: q.registered,
        stale_since: q.stale_since.as_ref().map(|s| s.0),
    }
}

/// Licenses held now (expired trials are not), oldest first.
#[utoipa::path(get, path = "/api/admin/v1/licenses", operation_id = "listLicenses", tag = "licenses", params(LicenseParams),
    responses((status = 200, description = "A page of licenses", body = Page<LicenseView>)))]
pub async fn list(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    query: web::Query<LicenseParams>,
) -> AdminResult {
    let filter = filter_of(&query);
    let limit = PageSize::of(query.limit);
    let after = query.cursor.map(|c| After::Id(c.0));
    let names = params::logins(&state).await?;
    let reseller_id = params::reseller_id(&names, query.reseller.as_ref().map(|l| l.0.as_str()))?;
    let now = state.clock.now().naive_utc();
    let sort = Sort {
        column: SortColumn::Id,
        descending: false,
    };
    let rows = db::run(&state.pool, move |c| {
        license_search::page(
            c,
            reseller_id,
            &filter,
            sort,
            after.as_ref(),
            limit + 1,
            now,
        )
    })
    .await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<LicenseView> = rows
        .iter()
        .take(limit as usize)
        .map(|l| LicenseView::new(l, names.get(&l.reseller_id).map_or("", String::as_str)))
        .collect();
    let next_cursor = more
        .then(|| items.last().map(|l| l.id.to_string()))
        .flatten();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// Every license on one IP, whoever holds it (expired trials included, with their end), as
/// one page.
#[utoipa::path(get, path = "/api/admin/v1/licenses/{ip}", operation_id = "licensesOnIp", tag = "licenses",
    params(("ip" = IpValue, Path, description = "An IPv4 or IPv6 address")),
    responses((status = 200, description = "The licenses on the IP (maybe none); next_cursor is always null", body = Page<LicenseView>)))]
pub async fn on_ip(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    ip: web::Path<IpValue>,
) -> AdminResult {
    let ip = ip.into_inner().0;
    let rows = db::run(&state.pool, move |c| holders_of(c, &ip)).await?;
    let items: Vec<LicenseView> = rows
        .iter()
        .map(|(l, login)| LicenseView::new(l, login))
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}
