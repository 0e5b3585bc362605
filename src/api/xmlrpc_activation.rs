//! XML-RPC `registration.new_system_activation_key` (keys.md, ours): a server tests or uses
//! a CloudLinux OS activation key without a reseller token. Answered with the new server's
//! id, or with Spacewalk's faults: 60 `Could not find token 'KEY'` (also for a key that
//! cannot be used now: a blocked account, an address outside its ranges), 61 `Maximum usage
//! count of N reached` (also for the reseller's type limit, in its own words). Rate-limited
//! per source with check-ins.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use super::xmlrpc_call::{fault_of, XmlRpcCall, ACTIVATION_METHOD};
use crate::auth::reseller::authenticate;
use crate::auth::{AuthContext, AuthError, Authenticated, CarriesToken};
use crate::db;
use crate::domain::keys::registration::{self, Registration};
use crate::domain::keys::Product;
use crate::error::DomainError;
use crate::state::AppState;
use crate::xmlrpc::{Fault, FaultCode, Value};

/// An XML-RPC call: the activation-key method (no token), or any other with its token
/// verified.
pub enum XmlRpcRequest {
    Activation(XmlRpcCall),
    Reseller(Authenticated<XmlRpcCall>),
}

impl FromRequest for XmlRpcRequest {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let context = req.app_data::<web::Data<AuthContext>>().cloned();
        let parsed = XmlRpcCall::from_request(req, payload);
        Box::pin(async move {
            let call = parsed.await?;
            if call.method == ACTIVATION_METHOD {
                return Ok(XmlRpcRequest::Activation(call));
            }
            let context = context.ok_or_else(|| {
                XmlRpcCall::refusal(AuthError::Failed(DomainError::Internal(
                    "authentication context missing".into(),
                )))
            })?;
            let reseller = authenticate(&context, call.token(), call.source())
                .await
                .map_err(XmlRpcCall::refusal)?;
            Ok(XmlRpcRequest::Reseller(Authenticated { reseller, call }))
        })
    }
}

/// The key and the profile name (the hostname) from the call's one parameter: the key as a
/// string, or Spacewalk's struct with `token` and `profile_name`.
fn key_and_name(params: &[Value]) -> Result<(String, Option<String>), Fault> {
    match params.first() {
        Some(Value::Str(key)) => Ok((key.clone(), None)),
        Some(Value::Struct(fields)) => {
            let text = |name: &str| {
                fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .and_then(|(_, v)| v.as_str())
                    .map(str::to_string)
            };
            let key = text("token")
                .ok_or_else(|| Fault::invalid("the struct needs a token (the activation key)"))?;
            Ok((key, text("profile_name")))
        }
        _ => Err(Fault::invalid(
            "parameter 1 must be the activation key, or a struct with token",
        )),
    }
}

/// Registers the calling server with the CloudLinux OS key.
pub async fn register(state: &AppState, call: XmlRpcCall) -> Result<Value, Fault> {
    let address = call
        .source
        .ok_or_else(|| Fault::invalid("Cannot tell the caller's address"))?;
    let now = state.clock.now().naive_utc();
    state
        .auth
        .checkin_limit
        .admit(address, now)
        .map_err(|wait| fault_of(AuthError::TooManyCheckins(wait)))?;
    let (key, name) = key_and_name(&call.params)?;
    let outcome = db::run(&state.pool, move |c| {
        registration::register(c, Product::CloudLinux, &key, address, name.as_deref(), now)
    })
    .await
    .map_err(|e| fault_of(AuthError::Failed(e)))?;
    match outcome {
        Registration::Registered(server) => Ok(Value::Str(server.server_id)),
        Registration::Refused { code: 3, message } => {
            Err(Fault::new(FaultCode::TokenFull, message))
        }
        Registration::Refused { message, .. } => Err(Fault::new(FaultCode::TokenNotFound, message)),
    }
}
