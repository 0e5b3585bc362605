//! Building and starting the HTTP server: shared by `ipls serve` and the tests.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::{KeepAlive, Method};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpServer};

use crate::admin;
use crate::api;
use crate::console;
use crate::db::lanes::{in_lane, Lane};
use crate::observe::access::observe;
use crate::state::AppState;
use crate::tls;
use crate::upstream::Relay;
use crate::webhooks::settings::WorkerContext;

/// Starts serving on an already bound listener (port 0 in tests), over HTTPS when the
/// configuration names a certificate. Limits and timeouts come from `config.limits`.
pub fn start(state: AppState, listener: TcpListener, workers: usize) -> Result<Server, String> {
    let limits = state.config.limits.clone();
    let tls = match &state.config.tls {
        Some((cert, key)) => Some(tls::server_config(cert, key)?),
        None => None,
    };
    // The webhook workers run on this runtime and end with it.
    // The workers draw from their own lane of connections (`db::lanes`).
    crate::webhooks::worker::start(&WorkerContext {
        pool: state.pool.lane(Lane::Background),
        clock: state.clock.clone(),
        secrets: state.secrets.clone(),
        settings: state.config.webhooks.clone(),
    });
    // So does the relay's worker.
    crate::upstream::worker::start(&Relay {
        pool: state.pool.lane(Lane::Background),
        ..state.relay.clone()
    });
    // And the mail worker, when mail is on.
    if let Some(mail) = &state.config.mail {
        let mailer = crate::mail::Mailer::new(mail)?;
        let settings = state.config.mail_reports.clone();
        crate::mail::worker::start(crate::mail::worker::MailContext {
            pool: state.pool.lane(Lane::Background),
            clock: state.clock.clone(),
            mailer: std::sync::Arc::new(mailer),
            reports: crate::domain::mail::composed::ReportSettings {
                stale_after: state.config.webhooks.stale_after,
                operator: settings.operator.clone(),
                public_url: settings.public_url.clone(),
            },
            settings,
            timeout: mail.server.timeout,
        });
    }
    // The lower layers' extractors and middleware find their own parts, not `AppState`.
    let auth = web::Data::new(state.auth.clone());
    let metrics = web::Data::from(state.metrics.clone());
    let max_body = state.config.max_body_bytes;
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(auth.clone())
            .app_data(metrics.clone())
            .wrap(from_fn(lane_of_call))
            .wrap(from_fn(observe))
            // The admin scope first: `/api` would otherwise take `/api/admin/...` too.
            .configure(|c| admin::configure(c, max_body))
            .configure(api::configure)
            .configure(|c| console::configure(c, max_body))
    })
    .workers(workers)
    .client_request_timeout(limits.request_timeout)
    .client_disconnect_timeout(Duration::from_secs(1))
    .keep_alive(KeepAlive::Timeout(limits.keep_alive))
    .max_connections(limits.max_connections)
    .shutdown_timeout(limits.shutdown_timeout.as_secs());
    let server = match tls {
        Some(config) => server.listen_rustls_0_23(listener, config),
        None => server.listen(listener),
    }
    .map_err(|e| format!("cannot listen: {e}"))?;
    Ok(server.run())
}

/// Which connections a call's database work takes (`db::lanes`): reads take the reads lane,
/// so that writes holding every connection of theirs cannot make a lookup wait.
async fn lane_of_call(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let lane = if reads_only(req.method(), req.path()) {
        Lane::Reads
    } else {
        Lane::Writes
    };
    in_lane(lane, next.call(req)).await
}

/// The admin API's and the console's GETs only read; the CLN API says which of its calls do
/// (it reads and writes through GET alike).
fn reads_only(method: &Method, path: &str) -> bool {
    let get = method == Method::GET || method == Method::HEAD;
    if path.starts_with("/api/admin/") || path.starts_with("/console") {
        return get;
    }
    api::reads_only(method, path)
}
