//! `POST /clweb/xmlrpc`: CLN's `registration.*` methods (contract §4), on the same domain
//! functions as REST. Business refusals answer `-1`; faults: 1 internal, 10 not authorized,
//! 30 invalid call arguments, 40 invalid IP format.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::list_stream::{stream_licenses, ListFormat};
use super::mutation::run_as;
use super::xmlrpc_activation::{self, XmlRpcRequest};
use super::xmlrpc_call::{answer_of, FaultAnswer, XmlRpcCall, CONTENT_TYPE};
use crate::auth::{AuthError, Authenticated};
use crate::db::{self, models::Reseller};
use crate::domain::ip::LicenseIp;
use crate::domain::licenses::{self, Registration};
use crate::domain::{ActingFor, Actor, Policy, Source};
use crate::error::DomainError;
use crate::state::AppState;
use crate::xmlrpc::{response, write_fault, write_value, Fault, FaultCode, Value};
#[cfg(test)]
use crate::xmlrpc::{RESPONSE_HEAD, RESPONSE_TAIL};

/// The method call arrives parsed, its signature checked and (but for the activation-key
/// method, `xmlrpc_activation`) its token verified.
pub async fn endpoint(state: web::Data<AppState>, request: XmlRpcRequest) -> HttpResponse {
    let answer = match request {
        XmlRpcRequest::Activation(call) => xmlrpc_activation::register(&state, call)
            .await
            .map(Answer::Value),
        XmlRpcRequest::Reseller(Authenticated { reseller, call }) => {
            dispatch(&state, reseller, call).await
        }
    };
    match answer {
        Ok(Answer::Value(value)) => xml(StatusCode::OK, response(&value)),
        Ok(Answer::Response(response)) => response,
        Err(f) => actix_web::ResponseError::error_response(&FaultAnswer(f)),
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

enum Answer {
    Value(Value),
    /// reconcile streams its array.
    Response(HttpResponse),
}

const REFUSED: i64 = -1;
const DONE: i64 = 0;

/// Runs a method whose signature `XmlRpcCall` already checked.
async fn dispatch(state: &AppState, reseller: Reseller, call: XmlRpcCall) -> Result<Answer, Fault> {
    let p = &call.params;
    let peer = call.peer.as_str();
    match call.method.as_str() {
        "registration.license" => {
            let (ip, type_id) = (string(p, 1)?, license_type(p, 2)?);
            let request = Registration::of(ip_param(ip)?, type_id);
            let source = Source::Address(peer.to_string());
            let registered = match state
                .register(ActingFor::Reseller(reseller), source, request)
                .await
            {
                Ok(_) => true,
                Err(e) => refused_or_fault(e)?,
            };
            Ok(Answer::Value(Value::Int(if registered {
                DONE
            } else {
                REFUSED
            })))
        }
        "registration.remove_license" => {
            let ip = string(p, 1)?;
            let type_id = match p.len() {
                3 => Some(license_type(p, 2)?).filter(|t| *t != 0),
                _ => None,
            };
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
        "registration.is_licensed" => {
            let ip = string(p, 1)?;
            let check_all = match p.get(2) {
                None => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(_) => return Err(Fault::invalid("check_all must be a boolean")),
            };
            let ip = ip_param(ip)?;
            let now = state.clock.now().naive_utc();
            let types = state
                .lookups
                .types_on_ip
                .call((ip, now))
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
        "registration.reconcile" => stream_licenses(state, reseller.id, &RECONCILE)
            .await
            .map(Answer::Response)
            .map_err(|e| internal(e.0)),
        other => Err(Fault::invalid(format!(
            "unknown method {}",
            crate::wire::shorten(other)
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
            format!("Invalid IP address: {}", crate::wire::shorten(text)),
        )
    })
}

/// A failure of a read (after authentication): its fault (`error::FACES`); a read has no
/// business refusal to answer `-1` with, so one is the server's own fault.
fn internal(e: impl Into<AuthError>) -> Fault {
    answer_of(e.into()).err().unwrap_or_else(|| {
        log::error!("xml-rpc read refused");
        Fault::new(FaultCode::Internal, "Unexpected server error")
    })
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
        Err(e) => refused_or_fault(e),
    }
}

/// A business refusal is the method's `-1` (false here); the rest are faults (`FACES`).
fn refused_or_fault(e: DomainError) -> Result<bool, Fault> {
    log::debug!("xml-rpc: {e}");
    answer_of(e.into()).map(|()| false)
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
