//! `?dry_run=true` on the admin API's changes: the call runs its whole rule path and is rolled
//! back (`db::dry_run`), answering what the real call would have, with `Ipls-Dry-Run: true`
//! (a creation answers 200 instead of 201: nothing was created).
//! Calls whose work is a message sent out (a webhook or upstream test, a reconcile now) have
//! nothing to roll back, so they refuse it. A GET is a read: `dry_run` changes nothing there.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, LOCATION};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;

use super::error::AdminError;
use crate::db::dry_run;

/// The answer's header saying nothing was changed.
pub const HEADER: &str = "ipls-dry-run";

/// Paths (under the admin scope) whose POST sends something out instead of changing data.
pub const SENDS_OUT: [&str; 3] = ["/test", "/reconcile", "/retry"];

/// The `dry_run` query value: absent is false; true/false/1/0 (any case); anything else is
/// refused by the caller of this.
fn asked(query: &str) -> Result<bool, String> {
    let mut dry = false;
    for (name, value) in form_urlencoded_pairs(query) {
        if name != "dry_run" {
            continue;
        }
        dry = match value.to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => {
                return Err(format!(
                    "dry_run must be true or false (got {})",
                    crate::wire::shorten(&value)
                ))
            }
        };
    }
    Ok(dry)
}

fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default()
}

/// Runs the call as a dry run when it asks for one.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let dry = match asked(req.query_string()) {
        Ok(dry) => dry,
        Err(why) => return Ok(refuse(req, AdminError::invalid(why))),
    };
    // A read changes nothing: dry or not, it runs as it is (and a method a route does not
    // take is answered 405 by the routes, not here).
    if !dry || req.method() != Method::POST && !changes(req.method()) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    if req.method() == Method::POST && SENDS_OUT.iter().any(|end| req.path().ends_with(end)) {
        let why = "dry_run is not available here: this call sends a message out, \
                   which cannot be rolled back";
        return Ok(refuse(req, AdminError::invalid(why)));
    }
    let mut answer = dry_run::in_request(next.call(req)).await?;
    // Nothing was created: 201 would say otherwise, and there is nothing at a Location.
    if answer.status() == StatusCode::CREATED {
        *answer.response_mut().status_mut() = StatusCode::OK;
        answer.headers_mut().remove(LOCATION);
    }
    answer.headers_mut().insert(
        HeaderName::from_static(HEADER),
        HeaderValue::from_static("true"),
    );
    Ok(answer.map_into_left_body())
}

fn changes(method: &Method) -> bool {
    [Method::PATCH, Method::PUT, Method::DELETE].contains(method)
}

fn refuse<B>(req: ServiceRequest, error: AdminError) -> ServiceResponse<EitherBody<B>> {
    let answer = actix_web::ResponseError::error_response(&error);
    req.into_response(answer).map_into_right_body()
}

#[cfg(test)]
mod tests {
    use super::asked;

    #[test]
    fn reads_the_query_value() {
        assert_eq!(asked(""), Ok(false));
        assert_eq!(asked("reseller=a&dry_run=TRUE"), Ok(true));
        assert_eq!(asked("dry_run=0"), Ok(false));
        assert!(asked("dry_run=maybe").is_err());
    }
}
