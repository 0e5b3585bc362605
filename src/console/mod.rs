//! The web console under `/console/`: server-rendered pages (maud) for resellers and the
//! operator. Handlers take the `Console` session extractor (`auth::session`), check the
//! CSRF token and role (`guard`) before any change, and call the domain, never the database.

mod account;
mod account_monitoring;
mod account_reports;
mod account_secrets;
mod assets;
mod catalogue_pages;
mod confirmed_removals;
mod dashboard;
mod dates;
mod export;
mod filter;
mod form_pairs;
mod guard;
mod key_actions;
mod key_groups;
mod key_pages;
mod license_actions;
mod license_rows;
mod licenses;
mod login;
mod operator;
pub mod page;
mod paging;
mod password_reset;
mod reports;
mod security;
mod stale_pages;
mod transport;
mod upstream_pages;
mod usage_chart;
mod webhook_pages;

use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpResponse};

use page::ConsoleError;

/// No inline script or style, nothing from elsewhere, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// The console's routes; forms are read up to `max_body` bytes (`IPLS_MAX_BODY_BYTES`).
pub fn configure(cfg: &mut web::ServiceConfig, max_body: usize) {
    let form_errors = web::FormConfig::default()
        .limit(max_body)
        .error_handler(|e, _| ConsoleError::invalid(format!("unreadable form: {e}")).into());
    let query_errors = web::QueryConfig::default()
        .error_handler(|e, _| ConsoleError::invalid(format!("unreadable address: {e}")).into());
    cfg.service(
        web::scope("/console")
            .app_data(form_errors)
            .app_data(query_errors)
            .app_data(web::PayloadConfig::new(max_body))
            // Inside the headers below, so that its refusal carries them too.
            .wrap(actix_web::middleware::from_fn(transport::middleware))
            .wrap(
                DefaultHeaders::new()
                    .add(("content-security-policy", CONTENT_SECURITY_POLICY))
                    .add(("x-content-type-options", "nosniff"))
                    // Not `no-referrer`: under it a browser sends `Origin: null` with every
                    // POST, and `transport` refuses a POST whose Origin names no site.
                    .add(("referrer-policy", "same-origin"))
                    .add(("x-frame-options", "DENY"))
                    .add(("cache-control", "no-store")),
            )
            .route("", web::get().to(redirect_home))
            .route("/", web::get().to(login::home))
            .route("/login", web::get().to(login::form))
            .route("/login", web::post().to(login::submit))
            .route("/login/code", web::get().to(login::code_form))
            .route("/login/code", web::post().to(login::code_submit))
            .route("/reset", web::get().to(password_reset::form))
            .route("/reset", web::post().to(password_reset::submit))
            .route(
                "/reset/request",
                web::get().to(password_reset::request_form),
            )
            .route(
                "/reset/request",
                web::post().to(password_reset::request_submit),
            )
            .route("/security", web::get().to(security::show))
            .route("/security/begin", web::post().to(security::begin))
            .route("/security/enable", web::post().to(security::enable))
            .route("/security/disable", web::post().to(security::disable))
            .route("/logout", web::post().to(login::logout))
            .route("/static/console.css", web::get().to(assets::stylesheet))
            .route("/static/console.js", web::get().to(assets::script))
            .route("/dashboard", web::get().to(dashboard::show))
            .route("/licenses", web::get().to(licenses::list))
            .route("/licenses.csv", web::get().to(export::csv))
            .route("/licenses/add", web::post().to(license_actions::add))
            .route(
                "/licenses/remove",
                web::get().to(license_actions::confirm_remove),
            )
            .route("/licenses/remove", web::post().to(license_actions::remove))
            .route("/licenses/els", web::post().to(license_actions::els))
            .route("/licenses/note", web::post().to(license_actions::note))
            .route(
                "/licenses/suspend",
                web::post().to(license_actions::suspend),
            )
            .route("/licenses/resume", web::post().to(license_actions::resume))
            .route(
                "/licenses/move",
                web::post().to(license_actions::move_license),
            )
            .route(
                "/licenses/convert",
                web::post().to(license_actions::convert),
            )
            .route(
                "/licenses/bulk-remove",
                web::post().to(license_actions::bulk_remove),
            )
            .route(
                "/licenses/remove-matching",
                web::get().to(confirmed_removals::confirm_matching),
            )
            .route(
                "/licenses/remove-matching",
                web::post().to(confirmed_removals::remove_matching),
            )
            .route("/keys", web::get().to(key_pages::list))
            .route("/keys", web::post().to(key_actions::create))
            .route("/keys/{key}", web::get().to(key_pages::show))
            .route("/keys/{key}/update", web::post().to(key_actions::update))
            .route("/keys/{key}/ranges", web::post().to(key_actions::ranges))
            .route(
                "/keys/{key}/sticky",
                web::post().to(key_actions::sticky_tag),
            )
            .route("/key-groups", web::post().to(key_groups::create))
            .route("/key-groups/servers", web::post().to(key_groups::set))
            .route(
                "/keys/{key}/delete",
                web::get().to(key_pages::confirm_delete),
            )
            .route("/keys/{key}/delete", web::post().to(key_actions::delete))
            .route(
                "/keys/{key}/servers/remove",
                web::post().to(key_actions::remove_server),
            )
            .route("/operator/keys", web::get().to(key_pages::operator_list))
            .route(
                "/operator/keys/{key}",
                web::get().to(key_pages::operator_show),
            )
            .route("/account", web::get().to(account::show))
            .route("/account/reveal", web::post().to(account::reveal))
            .route("/account/rotate", web::post().to(account::rotate))
            .route("/account/secrets", web::post().to(account::add_secret))
            .route(
                "/account/secrets/revoke",
                web::post().to(account_secrets::revoke),
            )
            .route("/account/allowlist", web::post().to(account::allowlist))
            .route("/account/legacy", web::post().to(account::legacy))
            .route("/account/reports", web::post().to(account::reports))
            .route(
                "/account/monitoring",
                web::post().to(account::monitoring_token),
            )
            .route(
                "/account/monitoring/revoke",
                web::post().to(account::revoke_monitoring_token),
            )
            .route("/account/users", web::post().to(account::add_user))
            .route(
                "/account/users/remove",
                web::post().to(account::remove_user),
            )
            .route(
                "/account/password",
                web::post().to(account::change_password),
            )
            .route("/stale", web::get().to(stale_pages::stale))
            .route(
                "/stale/remove",
                web::get().to(confirmed_removals::confirm_unused),
            )
            .route(
                "/stale/remove",
                web::post().to(confirmed_removals::remove_unused),
            )
            .route("/usage", web::get().to(reports::usage))
            .route("/history", web::get().to(reports::history))
            .route("/operator/stale", web::get().to(stale_pages::stale))
            .route("/operator/usage", web::get().to(reports::usage))
            .route("/operator/audit", web::get().to(reports::history))
            .route(
                "/operator/licenses",
                web::get().to(catalogue_pages::holders),
            )
            .route(
                "/operator/prices",
                web::get().to(catalogue_pages::prices_page),
            )
            .route(
                "/operator/prices",
                web::post().to(catalogue_pages::set_price),
            )
            .route("/operator/resellers", web::get().to(operator::list))
            .route("/operator/resellers", web::post().to(operator::create))
            .route("/operator/resellers/{login}", web::get().to(operator::show))
            .route(
                "/operator/resellers/{login}/settings",
                web::post().to(operator::settings),
            )
            .route(
                "/operator/resellers/{login}/block",
                web::post().to(operator::block),
            )
            .route(
                "/operator/resellers/{login}/unblock",
                web::post().to(operator::unblock),
            )
            .route(
                "/operator/resellers/{login}/rotate",
                web::post().to(operator::rotate),
            )
            .route("/operator/webhooks", web::get().to(webhook_pages::list))
            .route("/operator/webhooks", web::post().to(webhook_pages::add))
            .route(
                "/operator/webhooks/{id}",
                web::get().to(webhook_pages::show),
            )
            .route(
                "/operator/webhooks/{id}/remove",
                web::post().to(webhook_pages::remove),
            )
            .route(
                "/operator/webhooks/{id}/test",
                web::post().to(webhook_pages::test),
            )
            .route(
                "/operator/webhooks/deliveries/{id}/retry",
                web::post().to(webhook_pages::retry),
            )
            .route("/operator/upstreams", web::get().to(upstream_pages::list))
            .route("/operator/upstreams", web::post().to(upstream_pages::add))
            .route(
                "/operator/upstreams/{name}",
                web::get().to(upstream_pages::show),
            )
            .route(
                "/operator/upstreams/{name}/test",
                web::post().to(upstream_pages::test),
            )
            .route(
                "/operator/upstreams/{name}/reconcile",
                web::post().to(upstream_pages::reconcile_now),
            )
            .route(
                "/operator/upstreams/{name}/remove",
                web::post().to(upstream_pages::remove),
            )
            .default_service(web::to(not_found)),
    );
}

async fn redirect_home() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("location", "/console/"))
        .finish()
}

async fn not_found() -> Result<HttpResponse, ConsoleError> {
    Err(ConsoleError::NotFound)
}
