//! `/api/admin/v1/licenses`: licenses across resellers, filtered, a cursor page at a time;
//! and every license on one IP.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::{AdminError, AdminResult};
use super::params;
use super::views::{LicenseView, Page};
use crate::auth::admin::AdminCaller;
use crate::db;
use crate::domain::ip::LicenseIp;
use crate::domain::license_search::{self, AddressFilter, After, Filter, Sort, SortColumn};
use crate::domain::queries::holders_of;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LicenseParams {
    /// A reseller's login.
    pub reseller: Option<String>,
    /// An IP address or a CIDR block.
    pub ip: Option<String>,
    /// A license type.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<i32>)]
    pub type_id: Option<String>,
    /// `true`: the server has checked in; `false`: never.
    #[param(value_type = Option<bool>)]
    pub registered: Option<String>,
    /// Only licenses whose server has not checked in since this date or time.
    pub stale_since: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(value_type = Option<i64>)]
    pub cursor: Option<String>,
}

fn filter_of(q: &LicenseParams) -> Result<Filter, AdminError> {
    let some = |v: &Option<String>| params::text(v).map(String::from);
    Ok(Filter {
        type_id: q
            .type_id
            .clone()
            .map(|t| {
                t.parse::<i32>()
                    .map_err(|_| AdminError::invalid("type is a license type number"))
            })
            .transpose()?,
        address: some(&q.ip)
            .map(|t| AddressFilter::parse(&t).map_err(|e| AdminError::invalid(e.to_string())))
            .transpose()?,
        text: None,
        registered: q
            .registered
            .clone()
            .map(|t| match t.as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(AdminError::invalid("registered is true or false")),
            })
            .transpose()?,
        stale_since: some(&q.stale_since)
            .map(|t| params::timestamp("stale_since", &t))
            .transpose()?,
    })
}

/// Licenses held now (expired trials are not), oldest first.
#[utoipa::path(get, path = "/api/admin/v1/licenses", operation_id = "listLicenses", tag = "licenses", params(LicenseParams),
    responses((status = 200, description = "A page of licenses", body = Page<LicenseView>)))]
pub async fn list(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    query: web::Query<LicenseParams>,
) -> AdminResult {
    let filter = filter_of(&query)?;
    let limit = params::limit(query.limit.as_deref())?;
    let after = params::id_cursor(query.cursor.as_deref())?.map(After::Id);
    let names = params::logins(&state).await?;
    let reseller_id = params::reseller_id(&names, query.reseller.as_deref())?;
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

/// Every license on one IP, whoever holds it (expired trials included, with their end).
#[utoipa::path(get, path = "/api/admin/v1/licenses/{ip}", operation_id = "licensesOnIp", tag = "licenses",
    params(("ip" = String, Path, description = "An IPv4 or IPv6 address")),
    responses((status = 200, description = "The licenses on the IP (maybe none)", body = Vec<LicenseView>)))]
pub async fn on_ip(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    ip: web::Path<String>,
) -> AdminResult {
    let ip = LicenseIp::parse(ip.trim()).ok_or_else(|| AdminError::invalid("not an IP address"))?;
    let rows = db::run(&state.pool, move |c| holders_of(c, &ip)).await?;
    let items: Vec<LicenseView> = rows
        .iter()
        .map(|(l, login)| LicenseView::new(l, login))
        .collect();
    Ok(HttpResponse::Ok().json(items))
}
