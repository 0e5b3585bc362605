//! Reading a request body with a hard size limit, refusing early on a declared length.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::BytesMut;
use actix_web::HttpRequest;
use futures_util::StreamExt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    TooLarge(usize),
    Unreadable,
}

impl BodyError {
    pub fn message(&self) -> String {
        match self {
            BodyError::TooLarge(limit) => format!("Request body too large (limit {limit} bytes)"),
            BodyError::Unreadable => "Could not read the request body".to_string(),
        }
    }
}

/// What every face reads from a request before its body: the caller's canonical address
/// (behind a trusted proxy, the client's), the body limit and the declared length.
pub struct RequestFacts {
    pub source: Option<std::net::IpAddr>,
    pub body_limit: usize,
    pub declared: Option<usize>,
}

impl RequestFacts {
    pub fn of(req: &HttpRequest) -> Self {
        let state = req.app_data::<actix_web::web::Data<crate::state::AppState>>();
        let trusted = state
            .map(|s| s.config.trusted_proxies.as_slice())
            .unwrap_or(&[]);
        Self {
            source: crate::auth::client_address::of_request(req, trusted),
            body_limit: state.map(|s| s.config.max_body_bytes).unwrap_or(65_536),
            declared: declared_length(req),
        }
    }
}

/// The declared Content-Length, when present and numeric.
pub fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Reads at most `limit` bytes; a body declared or found larger is refused without
/// reading the rest.
pub async fn read_limited(
    declared: Option<usize>,
    mut payload: Payload,
    limit: usize,
) -> Result<BytesMut, BodyError> {
    if declared.is_some_and(|len| len > limit) {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
