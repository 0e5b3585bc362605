//! An XML-RPC method call as an actix extractor: the body read within its limit, parsed
//! once, its method and parameter count checked against CLN's `registration.*` signatures
//! (fault 30 otherwise, before any authentication), and the caller's canonical address.
//! Anything refused here or in authentication is answered as a fault, still XML.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};

use super::body::{read_limited, RequestFacts};
use crate::auth::AuthError;
use crate::auth::CarriesToken;
use crate::error::{DomainError, XmlRpcAnswer};
use crate::xmlrpc::{parse_request, write_fault, Fault, FaultCode, Value};

pub const CONTENT_TYPE: &str = "text/xml";

/// The activation-key registration (keys.md, CloudLinux OS keys): no reseller token, the key
/// is the credential.
pub const ACTIVATION_METHOD: &str = "registration.new_system_activation_key";

/// The methods ipls answers and the parameter counts each accepts.
const SIGNATURES: [(&str, &[usize]); 5] = [
    (ACTIVATION_METHOD, &[1]),
    ("registration.license", &[3]),
    ("registration.remove_license", &[2, 3]),
    ("registration.is_licensed", &[2, 3]),
    ("registration.reconcile", &[1]),
];

#[derive(Debug)]
pub struct XmlRpcCall {
    pub method: String,
    pub params: Vec<Value>,
    pub source: Option<IpAddr>,
    pub peer: String,
}

/// A fault as an actix error: HTTP 200 with the fault document (XML-RPC clients read faults
/// from the body).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct FaultAnswer(#[from] pub Fault);

impl ResponseError for FaultAnswer {
    fn status_code(&self) -> StatusCode {
        StatusCode::OK
    }

    fn error_response(&self) -> HttpResponse {
        if self.0.code == FaultCode::Internal {
            log::error!("xml-rpc internal fault: {}", self.0.message);
        }
        HttpResponse::Ok()
            .content_type(CONTENT_TYPE)
            .body(write_fault(&self.0))
    }
}

/// How an XML-RPC client gets a failure (`error::FACES`): `Ok(())` for the business answer
/// `-1`, or the fault.
pub fn answer_of(error: AuthError) -> Result<(), Fault> {
    match &error {
        AuthError::Failed(e @ (DomainError::Unavailable(_) | DomainError::Busy(_))) => {
            log::warn!("xml-rpc: {e}")
        }
        AuthError::Failed(e @ DomainError::Internal(_)) => log::error!("xml-rpc: {e}"),
        _ => {}
    }
    match error.kind().answers().xmlrpc {
        XmlRpcAnswer::MinusOne => Ok(()),
        XmlRpcAnswer::Fault(code) => Err(Fault::new(
            FaultCode::from_number(code),
            error.public_message(),
        )),
    }
}

/// A failure before the method ran (authentication, or the allowlist) is always a fault:
/// there is no method result to answer `-1` with.
pub fn fault_of(error: AuthError) -> Fault {
    match error {
        AuthError::Failed(DomainError::Refused(message)) => {
            Fault::new(FaultCode::NotAuthorized, message)
        }
        other => answer_of(other)
            .err()
            .unwrap_or_else(|| Fault::new(FaultCode::NotAuthorized, "Authorization failed")),
    }
}

fn check_signature(method: &str, count: usize) -> Result<(), Fault> {
    match SIGNATURES.iter().find(|(name, _)| *name == method) {
        None => Err(Fault::invalid(format!(
            "unknown method {}",
            crate::wire::shorten(method)
        ))),
        Some((_, counts)) if !counts.contains(&count) => Err(Fault::invalid(format!(
            "{method}: wrong number of parameters ({count})"
        ))),
        Some(_) => Ok(()),
    }
}

impl FromRequest for XmlRpcCall {
    type Error = FaultAnswer;
    type Future = Pin<Box<dyn Future<Output = Result<Self, FaultAnswer>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let facts = RequestFacts::of(req);
        let source = facts.source;
        let payload = payload.take();
        Box::pin(async move {
            let body = read_limited(facts.declared, payload, facts.body_limit)
                .await
                .map_err(|e| Fault::invalid(e.message()))?;
            let call = parse_request(&body)?;
            check_signature(&call.method, call.params.len())?;
            let activation = call.method == ACTIVATION_METHOD;
            if !activation && call.params.first().and_then(Value::as_str).is_none() {
                return Err(Fault::invalid("parameter 1 must be a string").into());
            }
            Ok(XmlRpcCall {
                method: call.method,
                params: call.params,
                source,
                peer: source.map_or_else(|| "unknown".to_string(), |a| a.to_string()),
            })
        })
    }
}

impl CarriesToken for XmlRpcCall {
    fn token(&self) -> &str {
        self.params
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    fn source(&self) -> Option<IpAddr> {
        self.source
    }

    fn refusal(error: AuthError) -> actix_web::Error {
        FaultAnswer(fault_of(error)).into()
    }

    fn unreadable(error: FaultAnswer) -> actix_web::Error {
        error.into()
    }
}
