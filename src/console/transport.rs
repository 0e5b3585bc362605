//! Defence in depth around every console request, beside the CSRF token each form carries:
//! a POST whose `Origin` names another site is refused before any handler runs, and a
//! console reached over HTTPS (TLS here, or a trusted proxy that says `https`) tells the
//! browser to use nothing else from now on (HSTS).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, HOST, ORIGIN};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};

use super::page::ConsoleError;
use crate::auth::session::is_https;
use crate::state::AppState;

/// A year, subdomains left alone (the operator may serve other things beside ipls).
pub const HSTS: &str = "max-age=31536000";

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let https = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| is_https(req.request(), &state.auth));
    if req.method() == Method::POST && !same_site(&req) {
        let refusal = ConsoleError::Forbidden(
            "This form was sent from another site; nothing was changed. \
             Open the console itself and try again.",
        );
        let (request, _) = req.into_parts();
        let answer = refusal.error_response();
        return Ok(ServiceResponse::new(request, answer).map_into_right_body());
    }
    let mut answer = next.call(req).await?;
    if https {
        answer.headers_mut().insert(
            HeaderName::from_static("strict-transport-security"),
            HeaderValue::from_static(HSTS),
        );
    }
    Ok(answer.map_into_left_body())
}

/// No `Origin` (an older browser, a script with its own cookies) is left to the CSRF token;
/// one that is there must name this host, as the browser reached it (`Host`), on either
/// scheme (a proxy in front may end TLS). `null` (a sandboxed or privacy-stripped origin)
/// names no site, so it is refused.
fn same_site(req: &ServiceRequest) -> bool {
    let Some(origin) = req.headers().get(ORIGIN) else {
        return true;
    };
    // HTTP/2 carries the host in the URI's authority instead.
    let host = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    let origin_host = origin.to_str().ok().and_then(|o| {
        o.strip_prefix("https://")
            .or_else(|| o.strip_prefix("http://"))
    });
    match (origin_host, host) {
        (Some(from), Some(host)) => from.eq_ignore_ascii_case(host),
        _ => false,
    }
}
