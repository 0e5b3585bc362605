//! Building and starting the HTTP server: shared by `ipls serve` and the tests.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::KeepAlive;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::admin;
use crate::api;
use crate::console;
use crate::observe::access::observe;
use crate::state::AppState;
use crate::tls;

/// Starts serving on an already bound listener (port 0 in tests), over HTTPS when the
/// configuration names a certificate. Limits and timeouts come from `config.limits`.
pub fn start(state: AppState, listener: TcpListener, workers: usize) -> Result<Server, String> {
    let limits = state.config.limits.clone();
    let tls = match &state.config.tls {
        Some((cert, key)) => Some(tls::server_config(cert, key)?),
        None => None,
    };
    // The webhook workers run on this runtime and end with it.
    crate::webhooks::worker::start(&state);
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(from_fn(observe))
            // The admin scope first: `/api` would otherwise take `/api/admin/...` too.
            .configure(admin::configure)
            .configure(api::configure)
            .configure(console::configure)
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

/// Replaces the value of every `token=` parameter with `***`, so secrets-derived tokens
/// (valid for minutes) never reach the log. The key is compared as the server decodes it,
/// so a percent-encoded spelling (`%74oken=`) is redacted too.
pub fn redact_token(uri: &str) -> String {
    let Some((path, query)) = uri.split_once('?') else {
        return uri.to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if decoded_key(key).eq_ignore_ascii_case("token") => {
                format!("{key}=***")
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// A query key as the parameter parser reads it (percent-decoding, `+` as space).
fn decoded_key(key: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(key)
        .ok()
        .and_then(|pairs| pairs.into_iter().next())
        .map(|(k, _)| k)
        .unwrap_or_else(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::redact_token;

    #[test]
    fn tokens_are_redacted() {
        assert_eq!(
            redact_token("/api/ipl/check.json?ip=1.2.3.4&token=demo|1|abc"),
            "/api/ipl/check.json?ip=1.2.3.4&token=***"
        );
        assert_eq!(
            redact_token("/api/x?&TOKEN=demo%7C1%7Cabc&ip=1"),
            "/api/x?&TOKEN=***&ip=1"
        );
        assert_eq!(redact_token("/api/status.json"), "/api/status.json");
        assert_eq!(
            redact_token("/api/x?%74oken=demo|1|abc&ip=1"),
            "/api/x?%74oken=***&ip=1"
        );
        assert_eq!(
            redact_token("/api/x?to%6Ben=a&t%6f%6B%65%6E=b"),
            "/api/x?to%6Ben=***&t%6f%6B%65%6E=***"
        );
    }
}
