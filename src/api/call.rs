//! One API call's input: the parameters from the query string and, for a form POST, the
//! body, merged; plus the caller's address. Parsed leniently where clients differ
//! (order, empty components, unknown keys, raw or encoded `|`), strictly where values are read.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};

use super::body::{read_limited, RequestFacts};
use super::error::ApiError;
use crate::auth::{AuthError, CarriesToken};
use crate::domain::ip::LicenseIp;
use crate::state::AppState;
use crate::wire::shorten;

#[derive(Debug, Clone)]
pub struct Call {
    params: Vec<(String, String)>,
    /// The caller's canonical address (behind a trusted proxy, the client's).
    pub source: Option<IpAddr>,
    /// The same as text for the audit trail ("unknown" without an address).
    pub peer: String,
}

impl Call {
    pub fn from_parts(query: &str, body: &[u8], source: Option<IpAddr>) -> Self {
        // form_urlencoded skips empty components (`?&token=`) and decodes `%7C` and `+`.
        let mut params: Vec<(String, String)> = form_urlencoded_pairs(query.as_bytes());
        params.extend(form_urlencoded_pairs(body));
        let peer = source.map_or_else(|| "unknown".to_string(), |a| a.to_string());
        Self {
            params,
            source,
            peer,
        }
    }

    /// The first value of `key`, as sent.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `key`, treating an empty value as absent.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }
}

fn form_urlencoded_pairs(input: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(input).unwrap_or_default()
}

pub fn parse_ip(text: &str) -> Result<LicenseIp, ApiError> {
    LicenseIp::parse(text)
        .ok_or_else(|| ApiError::invalid(format!("Invalid IP address: {}", shorten(text))))
}

/// Whether the body should be read as form fields (form POSTs, or no content type at all).
fn is_form(req: &HttpRequest) -> bool {
    match req.headers().get(header::CONTENT_TYPE) {
        None => true,
        Some(value) => value
            .to_str()
            .map(|v| {
                v.trim_start()
                    .starts_with("application/x-www-form-urlencoded")
            })
            .unwrap_or(false),
    }
}

impl FromRequest for Call {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let query = req.query_string().to_string();
        let state = req.app_data::<web::Data<AppState>>();
        let facts = RequestFacts::of(req);
        let max_query = state
            .map(|s| s.config.limits.max_query_bytes)
            .unwrap_or(16_384);
        let query_too_long = query.len() > max_query;
        let form = is_form(req);
        let payload = payload.take();
        Box::pin(async move {
            if query_too_long {
                return Err(ApiError::invalid(format!(
                    "Query string too long (limit {max_query} bytes)"
                )));
            }
            let body = read_limited(facts.declared, payload, facts.body_limit)
                .await
                .map_err(|e| ApiError::invalid(e.message()))?;
            let body: &[u8] = if form { &body } else { &[] };
            Ok(Call::from_parts(&query, body, facts.source))
        })
    }
}

impl CarriesToken for Call {
    fn token(&self) -> &str {
        self.get("token").unwrap_or_default()
    }

    fn source(&self) -> Option<IpAddr> {
        self.source
    }

    fn refusal(error: AuthError) -> actix_web::Error {
        ApiError(error).into()
    }

    fn unreadable(error: ApiError) -> actix_web::Error {
        error.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(query: &str) -> Call {
        Call::from_parts(query, b"", "127.0.0.1".parse().ok())
    }

    #[test]
    fn raw_and_encoded_pipes_decode_alike() {
        assert_eq!(call("token=a|1|ff").get("token"), Some("a|1|ff"));
        assert_eq!(call("token=a%7C1%7Cff").get("token"), Some("a|1|ff"));
    }

    #[test]
    fn empty_components_and_order_do_not_matter() {
        let c = call("&&ip=1.2.3.4&&token=t&unknown=x");
        assert_eq!(c.get("ip"), Some("1.2.3.4"));
        assert_eq!(c.get("token"), Some("t"));
    }

    #[test]
    fn body_fields_join_the_query() {
        let c = Call::from_parts("token=t", b"ip=1.2.3.4&type=1", None);
        assert_eq!(c.get("ip"), Some("1.2.3.4"));
        assert_eq!(c.get("type"), Some("1"));
    }
}
