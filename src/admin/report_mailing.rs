//! `/api/admin/v1/resellers/{login}/reports`: an account's report mailing per product family
//! (CLN's "report mailing": an active toggle and up to 10 addresses), with the addresses the
//! SMTP server refused for good.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body;
use super::error::AdminResult;
use super::types::EmailAddress;
use crate::auth::admin::AdminCaller;
use crate::db::{self, DbConnection};
use crate::domain::mail::outbox;
use crate::domain::report_mailing::{self, ReportMailing};
use crate::domain::resellers::{self, ChangedBy};
use crate::error::DomainError;
use crate::state::AppState;

/// An address whose last message was refused for good (or given up), with the server's words.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailingAddress {
    pub address: String,
    pub error: String,
}

/// One product family's report mailing.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportMailingView {
    /// cloudlinux, els, imunify or kernelcare.
    pub family: String,
    pub active: bool,
    pub addresses: Vec<String>,
    pub failing: Vec<FailingAddress>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportMailingList {
    pub items: Vec<ReportMailingView>,
}

fn view(c: &mut DbConnection, setting: ReportMailing) -> Result<ReportMailingView, DomainError> {
    let failing = outbox::failing(c, &setting.addresses)?
        .into_iter()
        .map(|(address, error)| FailingAddress { address, error })
        .collect();
    Ok(ReportMailingView {
        family: setting.family,
        active: setting.active,
        addresses: setting.addresses,
        failing,
    })
}

/// Every product family's report mailing of the account (off with no addresses until set).
#[utoipa::path(get, path = "/api/admin/v1/resellers/{login}/reports", operation_id = "listReportMailing", tag = "resellers",
    params(("login" = String, Path)),
    responses((status = 200, description = "Per product family", body = ReportMailingList)))]
pub async fn list(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    login: web::Path<String>,
) -> AdminResult {
    let login = login.into_inner();
    let items = db::run(&state.pool, move |c| {
        let reseller = resellers::get(c, &login)?;
        report_mailing::for_reseller(c, reseller.id)?
            .into_iter()
            .map(|s| view(c, s))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    Ok(HttpResponse::Ok().json(ReportMailingList { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetReportMailing {
    pub active: bool,
    /// At most 10 (more are refused). Active needs at least one (409 otherwise).
    #[schema(max_items = 10)]
    pub addresses: Vec<EmailAddress>,
}

/// Set one product family's report mailing: whether its reports are mailed, and to whom.
#[utoipa::path(put, path = "/api/admin/v1/resellers/{login}/reports/{family}", operation_id = "setReportMailing", tag = "resellers",
    request_body = SetReportMailing,
    params(("login" = String, Path), ("family" = String, Path)),
    responses((status = 200, description = "Set", body = ReportMailingView)))]
pub async fn set(
    state: web::Data<AppState>,
    caller: AdminCaller,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let input: SetReportMailing = body::object(&req, &body)?;
    let (login, family) = path.into_inner();
    let (source, now) = (caller.source(), state.clock.now().naive_utc());
    let item = db::run(&state.pool, move |c| {
        let reseller = resellers::get(c, &login)?;
        if input.addresses.len() > report_mailing::MAX_ADDRESSES {
            return Err(DomainError::invalid(format!(
                "at most {} addresses per product family ({} given)",
                report_mailing::MAX_ADDRESSES,
                input.addresses.len()
            )));
        }
        let typed: Vec<String> = input.addresses.into_iter().map(|a| a.0).collect();
        let addresses = report_mailing::parse_addresses(&typed.join(","))?;
        let setting = ReportMailing {
            family,
            active: input.active,
            addresses,
        };
        let by = ChangedBy {
            source: &source,
            now,
        };
        report_mailing::set(c, reseller.id, &setting, &by)?;
        view(c, setting)
    })
    .await?;
    Ok(HttpResponse::Ok().json(item))
}
