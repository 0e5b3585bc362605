//! `/api/admin/v1/licenses`: licenses across resellers, filtered, a cursor page at a time;
//! every license on one IP; registering one for a reseller and removing one.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::body;
use super::error::{AdminError, AdminResult};
use super::idempotency;
use super::params;
use super::types::{
    AddressValue, IdCursor, IdempotencyKey, IpValue, Login, PageSize, Since, TypeNumber, TypeText,
};
use super::views::{LicenseView, Page};
use crate::auth::admin::AdminCaller;
use crate::db;
use crate::domain::license_search::{self, After, Filter, Sort, SortColumn};
use crate::domain::licenses::{self, Registration};
use crate::domain::queries::holders_of;
use crate::domain::upstream::{ops, RelayStatus};
use crate::domain::ActingFor;
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
    /// The license with this external id (with `reseller`, at most one).
    #[param(pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]{0,100}$")]
    pub external_id: Option<String>,
    pub limit: Option<PageSize>,
    pub cursor: Option<IdCursor>,
}

fn filter_of(q: &LicenseParams) -> Result<Filter, AdminError> {
    let external_id = q
        .external_id
        .as_deref()
        .map(licenses::external_id_text)
        .transpose()?
        .flatten();
    Ok(Filter {
        type_id: q.type_id.as_ref().map(|t| t.0),
        address: q.ip.as_ref().map(|a| a.0.clone()),
        text: None,
        registered: q.registered,
        stale_since: q.stale_since.as_ref().map(|s| s.0),
        external_id,
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
    let limit = PageSize::of(query.limit);
    let after = query.cursor.map(|c| After::Id(c.0));
    let names = params::logins(&state).await?;
    let reseller_id = params::reseller_id(&names, query.reseller.as_ref().map(|l| l.0.as_str()))?;
    let now = state.clock.now().naive_utc();
    let sort = Sort {
        column: SortColumn::Id,
        descending: false,
    };
    let (rows, pending) = db::run(&state.pool, move |c| {
        let rows = license_search::page(
            c,
            reseller_id,
            &filter,
            sort,
            after.as_ref(),
            limit + 1,
            now,
        )?;
        let ips: Vec<String> = rows.iter().map(|l| l.ip.clone()).collect();
        let ids: Vec<i64> = rows.iter().map(|l| l.id).collect();
        let suspended = licenses::suspensions_of(c, &ids)?;
        Ok((rows, (ops::pending_among(c, Some(&ips))?, suspended)))
    })
    .await?;
    let (pending, suspended) = pending;
    let more = rows.len() as i64 > limit;
    let items: Vec<LicenseView> = rows
        .iter()
        .take(limit as usize)
        .map(|l| {
            let login = names.get(&l.reseller_id).map_or("", String::as_str);
            LicenseView::new(l, login, RelayStatus::of(l, &pending))
                .with_suspension(suspended.get(&l.id))
        })
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
    let (rows, pending) = db::run(&state.pool, move |c| {
        let rows = holders_of(c, &ip)?;
        let ids: Vec<i64> = rows.iter().map(|(l, _)| l.id).collect();
        let suspended = licenses::suspensions_of(c, &ids)?;
        Ok((
            rows,
            (ops::pending_among(c, Some(&[ip.to_string()]))?, suspended),
        ))
    })
    .await?;
    let (pending, suspended) = pending;
    let items: Vec<LicenseView> = rows
        .iter()
        .map(|(l, login)| {
            LicenseView::new(l, login, RelayStatus::of(l, &pending))
                .with_suspension(suspended.get(&l.id))
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLicenseBody {
    pub reseller: Login,
    pub ip: IpValue,
    #[serde(rename = "type")]
    #[schema(value_type = TypeNumber)]
    pub type_id: TypeNumber,
    /// Allow extended-lifecycle repositories (default false).
    #[serde(default)]
    pub els_allowed: bool,
    /// The reseller's note (at most 500 characters).
    #[serde(default)]
    #[schema(max_length = 500, pattern = "^[^\\x00]*$")]
    pub note: Option<String>,
    /// Its billing panel's id, unique among the reseller's licenses (at most 100 characters).
    #[serde(default)]
    #[schema(max_length = 100, pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*$")]
    pub external_id: Option<String>,
}

/// Register a license for a reseller, by its rules (enabled types, limits, trials), through
/// its type's upstream when it has one: the answer comes once the upstream accepted. The
/// reseller's existing license for (ip, type) is answered unchanged.
#[utoipa::path(post, path = "/api/admin/v1/licenses", operation_id = "registerLicense", tag = "licenses", request_body = NewLicenseBody,
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "1 to 255 visible ASCII characters; repeats of the request with this key replay the first answer (kept 24 hours)")),
    responses((status = 201, description = "Registered (or already the reseller's)", body = LicenseView),
        (status = 404, description = "No such reseller or type", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn register(
    state: web::Data<AppState>,
    caller: AdminCaller,
    req: HttpRequest,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let input: NewLicenseBody = body::object(&req, &body)?;
    idempotency::create(&state, &caller, &req, &body, input, |input| {
        register_for(&state, &caller, input)
    })
    .await
}

async fn register_for(
    state: &AppState,
    caller: &AdminCaller,
    input: NewLicenseBody,
) -> Result<(LicenseView, String), AdminError> {
    let login = input.reseller.0;
    let text = |t: Option<String>| t.unwrap_or_default();
    let request = Registration {
        ip: input.ip.0,
        type_id: input.type_id.0,
        els_allowed: input.els_allowed,
        note: crate::domain::licenses::note_text(&text(input.note))?,
        external_id: crate::domain::licenses::external_id_text(&text(input.external_id))?,
    };
    let license = state
        .register(ActingFor::Login(login.clone()), caller.source(), request)
        .await?;
    let in_step = Default::default();
    let view = LicenseView::new(&license, &login, RelayStatus::of(&license, &in_step));
    let resource = format!("licenses/{}", license.ip);
    Ok((view, resource))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemoveParams {
    /// Whose license.
    pub reseller: Login,
    /// One type; absent: every type the reseller holds on the IP.
    #[serde(rename = "type")]
    #[param(value_type = Option<TypeText>)]
    pub type_id: Option<TypeText>,
}

/// Remove a reseller's license(s) on an IP (carried to the upstream of its type, if any).
#[utoipa::path(delete, path = "/api/admin/v1/licenses/{ip}", operation_id = "removeLicense", tag = "licenses",
    params(("ip" = IpValue, Path, description = "An IPv4 or IPv6 address"), RemoveParams),
    responses((status = 204, description = "Removed"),
        (status = 404, description = "No such reseller, or it holds no such license", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn remove(
    state: web::Data<AppState>,
    caller: AdminCaller,
    ip: web::Path<IpValue>,
    query: web::Query<RemoveParams>,
) -> AdminResult {
    caller.may_write()?;
    let ip = ip.into_inner().0;
    let type_id = query.type_id.as_ref().map(|t| t.0);
    let who = ActingFor::Login(query.reseller.0.clone());
    let removed = state
        .act_as(who, caller.source(), move |c, actor, _| {
            crate::domain::licenses::remove(c, actor, &ip, type_id)
        })
        .await?;
    if removed {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(AdminError::not_found("the reseller holds no such license"))
    }
}
