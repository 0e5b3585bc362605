//! `POST /clweb/xmlrpc`: CLN's `registration.*` methods (contract §4), on the same domain
//! functions as REST. Business refusals answer `-1`; faults: 1 internal, 10 not authorized,
//! 30 invalid call arguments, 40 invalid IP format.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::authn::authenticate_token;
use super::body::{declared_length, read_limited};
use super::client_address;
use super::error::ApiError;
use super::list_stream::{stream_licenses, ListFormat};
use super::mutation::run_as;
use crate::db::{self, models::Reseller};
use crate::domain::ip::LicenseIp;
use crate::domain::licenses::{self, Registration};
use crate::domain::{queries, Actor, Policy};
use crate::error::DomainError;
use crate::state::AppState;
use crate::xmlrpc::{
    parse_request, response, write_fault, write_value, Fault, FaultCode, MethodCall, Value,
};
#[cfg(test)]
use crate::xmlrpc::{RESPONSE_HEAD, RESPONSE_TAIL};

const CONTENT_TYPE: &str = "text/xml";

pub async fn endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let peer = client_address::source_of(&req, &state.config.trusted_proxies);
    let payload: Payload = payload.into_inner();
    let body = match read_limited(declared_length(&req), payload, state.config.max_body_bytes).await
    {
        Ok(body) => body,
        Err(e) => return fault(&Fault::invalid(e.message())),
    };
    let call = match parse_request(&body) {
        Ok(call) => call,
        Err(f) => return fault(&f),
    };
    match dispatch(&state, &peer, call).await {
        Ok(Answer::Value(value)) => xml(StatusCode::OK, response(&value)),
        Ok(Answer::Response(response)) => response,
        Err(f) => fault(&f),
    }
}

/// Anything but POST: a fault, still XML.
pub async fn wrong_method() -> HttpResponse {
    xml(
        StatusCode::METHOD_NOT_ALLOWED,
        write_fault(&Fault::invalid("XML-RPC calls are POST requests")),
    )
}

fn xml(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(CONTENT_TYPE)
        .body(body)
}

fn fault(f: &Fault) -> HttpResponse {
    if f.code == FaultCode::Internal {
        log::error!("xml-rpc internal fault: {}", f.message);
    }
    xml(StatusCode::OK, write_fault(f))
}

enum Answer {
    Value(Value),
    /// reconcile streams its array.
    Response(HttpResponse),
}

const REFUSED: i64 = -1;
const DONE: i64 = 0;

async fn dispatch(state: &AppState, peer: &str, call: MethodCall) -> Result<Answer, Fault> {
    let p = &call.params;
    match (call.method.as_str(), p.len()) {
        ("registration.license", 3) => {
            let (token, ip, type_id) = (string(p, 0)?, string(p, 1)?, license_type(p, 2)?);
            let reseller = authenticate(state, peer, token).await?;
            let request = Registration {
                ip: ip_param(ip)?,
                type_id,
                els_allowed: false,
            };
            let outcome = mutate(state, peer, reseller, move |c, actor, policy| {
                licenses::register(c, actor, policy, &request).map(|_| true)
            })
            .await?;
            Ok(Answer::Value(Value::Int(if outcome {
                DONE
            } else {
                REFUSED
            })))
        }
        ("registration.remove_license", 2 | 3) => {
            let (token, ip) = (string(p, 0)?, string(p, 1)?);
            let type_id = match p.len() {
                3 => Some(license_type(p, 2)?).filter(|t| *t != 0),
                _ => None,
            };
            let reseller = authenticate(state, peer, token).await?;
            let ip = ip_param(ip)?;
            let removed = mutate(state, peer, reseller, move |c, actor, _| {
                licenses::remove(c, actor, &ip, type_id)
            })
            .await?;
            Ok(Answer::Value(Value::Int(if removed {
                DONE
            } else {
                REFUSED
            })))
        }
        ("registration.is_licensed", 2 | 3) => {
            let (token, ip) = (string(p, 0)?, string(p, 1)?);
            let check_all = match p.get(2) {
                None => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(_) => return Err(Fault::invalid("check_all must be a boolean")),
            };
            authenticate(state, peer, token).await?;
            let ip = ip_param(ip)?;
            let now = state.clock.now().naive_utc();
            let types = db::run(&state.pool, move |c| queries::types_on_ip(c, &ip, now))
                .await
                .map_err(internal)?;
            let legacy = types.iter().copied().filter(|t| *t == 1 || *t == 2);
            Ok(Answer::Value(match check_all {
                // Old form: 0 when unlicensed, else the lowest of types 1/2 held.
                None => Value::Int(legacy.min().map_or(0, i64::from)),
                Some(false) => Value::Array(legacy.map(|t| Value::Int(t.into())).collect()),
                Some(true) => {
                    Value::Array(types.into_iter().map(|t| Value::Int(t.into())).collect())
                }
            }))
        }
        ("registration.reconcile", 1) => {
            let reseller = authenticate(state, peer, string(p, 0)?).await?;
            stream_licenses(state, reseller.id, &RECONCILE)
                .await
                .map(Answer::Response)
                .map_err(|e| internal(e.0))
        }
        (
            "registration.license"
            | "registration.remove_license"
            | "registration.is_licensed"
            | "registration.reconcile",
            n,
        ) => Err(Fault::invalid(format!(
            "{}: wrong number of parameters ({n})",
            call.method
        ))),
        (method, _) => Err(Fault::invalid(format!(
            "unknown method {:?}",
            method.chars().take(64).collect::<String>()
        ))),
    }
}

/// reconcile's array of `{IP, TYPE, REGISTERED}` structs, streamed like list.json.
static RECONCILE: ListFormat = ListFormat {
    content_type: CONTENT_TYPE,
    head: concat!(
        "<?xml version=\"1.0\"?>\n<methodResponse><params><param>",
        "<value><array><data>"
    ),
    separator: "",
    tail: concat!(
        "</data></array></value>",
        "</param></params></methodResponse>\n"
    ),
    write_row: |license, out| {
        let row = Value::Struct(vec![
            ("IP".into(), Value::Str(license.ip.clone())),
            ("TYPE".into(), Value::Int(license.type_id.into())),
            (
                "REGISTERED".into(),
                Value::Bool(license.registered_at.is_some()),
            ),
        ]);
        let mut text = String::new();
        write_value(&row, &mut text);
        out.extend_from_slice(text.as_bytes());
        Ok(())
    },
};

fn string(params: &[Value], index: usize) -> Result<&str, Fault> {
    params
        .get(index)
        .and_then(Value::as_str)
        .ok_or_else(|| Fault::invalid(format!("parameter {} must be a string", index + 1)))
}

fn license_type(params: &[Value], index: usize) -> Result<i32, Fault> {
    match params.get(index) {
        Some(Value::Int(n)) => i32::try_from(*n)
            .ok()
            .filter(|t| *t >= 0)
            .ok_or_else(|| Fault::invalid(format!("invalid license type {n}"))),
        _ => Err(Fault::invalid(format!(
            "parameter {} must be an integer",
            index + 1
        ))),
    }
}

fn ip_param(text: &str) -> Result<LicenseIp, Fault> {
    LicenseIp::parse(text).ok_or_else(|| {
        Fault::new(
            FaultCode::InvalidIp,
            format!(
                "Invalid IP address: {:?}",
                text.chars().take(64).collect::<String>()
            ),
        )
    })
}

async fn authenticate(state: &AppState, peer: &str, token: &str) -> Result<Reseller, Fault> {
    authenticate_token(state, token, peer.parse().ok())
        .await
        .map_err(|ApiError(e)| match e {
            DomainError::Unauthorized => {
                Fault::new(FaultCode::NotAuthorized, "Authorization failed")
            }
            DomainError::Refused(message) => Fault::new(FaultCode::NotAuthorized, message),
            throttled @ DomainError::Throttled(_) => {
                Fault::new(FaultCode::NotAuthorized, throttled.to_string())
            }
            other => internal(other),
        })
}

fn internal(e: DomainError) -> Fault {
    log::error!("xml-rpc: {e}");
    Fault::new(FaultCode::Internal, "Internal error")
}

/// Runs a mutation; a business refusal becomes `Ok(false)` (answered `-1`).
async fn mutate<F>(state: &AppState, peer: &str, reseller: Reseller, f: F) -> Result<bool, Fault>
where
    F: FnOnce(&mut db::DbConnection, &Actor<'_>, &Policy) -> Result<bool, DomainError>
        + Send
        + 'static,
{
    match run_as(state, peer, reseller, f).await {
        Ok(done) => Ok(done),
        Err(DomainError::Refused(message)) => {
            log::debug!("xml-rpc refusal: {message}");
            Ok(false)
        }
        Err(e) => Err(internal(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconcile_frames_its_array_like_any_response() {
        assert_eq!(
            RECONCILE.head,
            format!("{RESPONSE_HEAD}<value><array><data>")
        );
        assert_eq!(
            RECONCILE.tail,
            format!("</data></array></value>{RESPONSE_TAIL}")
        );
    }
}
