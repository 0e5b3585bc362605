//! The middleware behind both the access log and the request metrics: one structured
//! (logfmt) line per request, with every `token=` value redacted.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web;

use super::metrics::Metrics;
use super::redact::redact_target;
use crate::net::canonical;

/// The route pattern names the endpoint (bounded label set); unknown paths share one label.
fn endpoint(req: &ServiceRequest) -> String {
    req.match_pattern()
        .unwrap_or_else(|| "unmatched".to_string())
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let endpoint = endpoint(&req);
    // The line's fields are gathered only when the access log is on.
    let line = log::log_enabled!(target: "ipls::access", log::Level::Info).then(|| {
        let peer = req
            .peer_addr()
            .map(|a| canonical(a.ip()).to_string())
            .unwrap_or_default();
        let agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(120)
            .collect::<String>();
        let target = redact_target(&req.uri().to_string());
        (req.method().to_string(), target, peer, agent)
    });
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let response = next.call(req).await?;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    if let Some(metrics) = metrics {
        metrics.record(&endpoint, status, elapsed);
    }
    if let Some((method, target, peer, agent)) = line {
        log::info!(
            target: "ipls::access",
            "method={method} target={target:?} endpoint={endpoint:?} status={status} ms={:.3} peer={peer} agent={agent:?}",
            elapsed.as_secs_f64() * 1000.0
        );
    }
    Ok(response)
}
