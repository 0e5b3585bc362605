//! The admin API under `/api/admin/v1`: JSON for partner systems (billing, CRM), operator
//! tokens (`auth::admin`), problem-details errors, cursor pages, and an OpenAPI document
//! generated from the handlers. Handlers call the domain, never the database.

mod batch_ops;
mod batches;
mod body;
mod dry_run;
mod error;
mod idempotency;
mod keys;
mod license_ops;
mod licenses;
mod monitoring_tokens;
pub mod openapi;
mod params;
mod report_mailing;
mod reports;
mod reseller_secrets;
mod resellers;
mod types;
mod upstreams;
mod views;
mod webhooks;

use actix_web::{web, HttpResponse};

use crate::problem::{self, Kind};

/// The admin API's routes; bodies are read up to `max_body` bytes (`IPLS_MAX_BODY_BYTES`).
pub fn configure(cfg: &mut web::ServiceConfig, max_body: usize) {
    let query = web::QueryConfig::default().error_handler(|e, _| {
        error::AdminError::invalid(format!("the query is not valid: {e}")).into()
    });
    let path = web::PathConfig::default().error_handler(|e, _| {
        error::AdminError::invalid(format!("the path is not valid: {e}")).into()
    });
    cfg.service(
        web::scope("/api/admin/v1")
            .wrap(actix_web::middleware::from_fn(dry_run::middleware))
            .app_data(query)
            .app_data(path)
            .app_data(web::PayloadConfig::new(max_body))
            .service(resource("/openapi.json", "GET").route(web::get().to(openapi::document)))
            .service(
                resource("/resellers", "GET, POST")
                    .route(web::get().to(resellers::list))
                    .route(web::post().to(resellers::create)),
            )
            .service(
                resource("/resellers/{login}", "GET, PATCH")
                    .route(web::get().to(resellers::get))
                    .route(web::patch().to(resellers::patch)),
            )
            .service(
                resource("/resellers/{login}/block", "POST")
                    .route(web::post().to(resellers::block)),
            )
            .service(
                resource("/resellers/{login}/unblock", "POST")
                    .route(web::post().to(resellers::unblock)),
            )
            .service(
                resource("/resellers/{login}/secrets", "GET, POST")
                    .route(web::get().to(reseller_secrets::list))
                    .route(web::post().to(reseller_secrets::add)),
            )
            .service(
                resource("/resellers/{login}/secrets/{name}", "DELETE")
                    .route(web::delete().to(reseller_secrets::revoke)),
            )
            .service(
                resource("/resellers/{login}/reports", "GET")
                    .route(web::get().to(report_mailing::list)),
            )
            .service(
                resource("/resellers/{login}/reports/{family}", "PUT")
                    .route(web::put().to(report_mailing::set)),
            )
            .service(
                resource("/resellers/{login}/monitoring-token", "GET, POST, DELETE")
                    .route(web::get().to(monitoring_tokens::get))
                    .route(web::post().to(monitoring_tokens::rotate))
                    .route(web::delete().to(monitoring_tokens::revoke)),
            )
            .service(
                resource("/resellers/{login}/rotate-secret", "POST")
                    .route(web::post().to(resellers::rotate_secret)),
            )
            .service(
                resource("/licenses", "GET, POST")
                    .route(web::get().to(licenses::list))
                    .route(web::post().to(licenses::register)),
            )
            .service(
                resource("/licenses/{ip}", "GET, PATCH, DELETE")
                    .route(web::get().to(licenses::on_ip))
                    .route(web::patch().to(license_ops::patch))
                    .route(web::delete().to(licenses::remove)),
            )
            .service(
                resource("/licenses/{ip}/move", "POST")
                    .route(web::post().to(license_ops::move_license)),
            )
            .service(
                resource("/batches", "POST")
                    .app_data(web::PayloadConfig::new(
                        max_body.max(batches::MAX_BODY_BYTES),
                    ))
                    .route(web::post().to(batches::run)),
            )
            .service(
                resource("/licenses/{ip}/suspend", "POST")
                    .route(web::post().to(license_ops::suspend)),
            )
            .service(
                resource("/licenses/{ip}/resume", "POST")
                    .route(web::post().to(license_ops::resume)),
            )
            .service(
                resource("/upstreams", "GET, POST")
                    .route(web::get().to(upstreams::list))
                    .route(web::post().to(upstreams::create)),
            )
            .service(
                resource("/upstreams/{name}", "GET, PATCH, DELETE")
                    .route(web::get().to(upstreams::get))
                    .route(web::patch().to(upstreams::patch))
                    .route(web::delete().to(upstreams::delete)),
            )
            .service(
                resource("/upstreams/{name}/test", "POST").route(web::post().to(upstreams::test)),
            )
            .service(
                resource("/upstreams/{name}/reconcile", "POST")
                    .route(web::post().to(upstreams::reconcile_now)),
            )
            .service(
                resource("/keys", "GET, POST")
                    .route(web::get().to(keys::list))
                    .route(web::post().to(keys::create)),
            )
            .service(
                resource("/keys/{key}", "GET, PATCH, DELETE")
                    .route(web::get().to(keys::get))
                    .route(web::patch().to(keys::patch))
                    .route(web::delete().to(keys::delete)),
            )
            .service(
                resource("/key-servers/{server_id}", "DELETE")
                    .route(web::delete().to(keys::remove_server)),
            )
            .service(resource("/usage", "GET").route(web::get().to(reports::usage)))
            .service(resource("/audit", "GET").route(web::get().to(reports::audit)))
            .service(resource("/prices", "GET").route(web::get().to(reports::list_prices)))
            .service(resource("/prices/{type}", "PUT").route(web::put().to(reports::set_price)))
            .service(
                resource("/webhooks", "GET, POST")
                    .route(web::get().to(webhooks::list))
                    .route(web::post().to(webhooks::create)),
            )
            .service(
                resource("/webhooks/{id}", "GET, DELETE")
                    .route(web::get().to(webhooks::get))
                    .route(web::delete().to(webhooks::delete)),
            )
            .service(resource("/webhooks/{id}/test", "POST").route(web::post().to(webhooks::test)))
            .service(
                resource("/webhooks/{id}/deliveries", "GET")
                    .route(web::get().to(webhooks::list_deliveries)),
            )
            .service(
                resource("/webhook-deliveries/{id}/retry", "POST")
                    .route(web::post().to(webhooks::retry)),
            )
            .default_service(web::to(not_found)),
    );
}

/// A resource whose other methods answer 405 with the `Allow` header (not 404: the path
/// exists).
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        let mut answer = problem::response(
            Kind::MethodNotAllowed,
            format!("this resource takes {allow}"),
        );
        answer.headers_mut().insert(
            actix_web::http::header::ALLOW,
            actix_web::http::header::HeaderValue::from_static(allow),
        );
        answer
    }))
}

async fn not_found() -> HttpResponse {
    problem::response(Kind::NotFound, "no such admin API resource or method")
}
