//! The actix extractor behind every reseller call: handlers take `Authenticated<P>` as an
//! argument, where `P` is how their face carries its parameters and token (the REST call,
//! an XML-RPC method call). Parameters are parsed once, by `P`'s own extractor; a refusal
//! is answered in `P`'s wire form (envelope or fault).

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use super::context::AuthContext;
use super::error::AuthError;
use super::reseller::authenticate;
use crate::db::models::Reseller;
use crate::error::DomainError;

/// A request's parameters that carry a reseller token.
pub trait CarriesToken: FromRequest + 'static {
    fn token(&self) -> &str;
    /// The caller's canonical address, if known.
    fn source(&self) -> Option<IpAddr>;
    /// How this face answers a refused authentication.
    fn refusal(error: AuthError) -> actix_web::Error;
    /// How this face answers parameters it could not read.
    fn unreadable(error: Self::Error) -> actix_web::Error;
}

/// A call whose token verified, with its parameters.
pub struct Authenticated<P> {
    pub reseller: Reseller,
    pub call: P,
}

impl<P: CarriesToken> FromRequest for Authenticated<P> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AuthContext>>().cloned();
        let params = P::from_request(req, payload);
        Box::pin(async move {
            let call = params.await.map_err(P::unreadable)?;
            let state = state.ok_or_else(|| {
                P::refusal(DomainError::Internal("authentication context missing".into()).into())
            })?;
            let reseller = authenticate(&state, call.token(), call.source())
                .await
                .map_err(P::refusal)?;
            Ok(Authenticated { reseller, call })
        })
    }
}
