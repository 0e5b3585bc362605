//! HTTP only: extract the call, authenticate, call the domain, shape the envelope.

pub mod body;
pub mod call;
pub mod cloudlinux_keys;
pub mod els;
pub mod groups;
pub mod kcare_monitoring;

pub mod envelope;
pub mod error;
pub mod imunify;
pub mod kcare;
pub mod key_calls;
pub mod lifecycle;
pub mod list_stream;
pub mod mutation;
pub mod openapi;
pub mod params;
pub mod rest;
pub mod showip;
pub mod status;
pub mod v2;
pub mod views;
pub mod xmlrpc;
pub mod xmlrpc_activation;
pub mod xmlrpc_call;

use actix_web::http::StatusCode;
use actix_web::{guard, web, HttpRequest, HttpResponse, Route};

/// The one route table, used by `ipls serve` and by the tests.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            .service(
                web::resource("/openapi.json")
                    .route(web::get().to(openapi::document))
                    .default_service(web::to(get_only)),
            )
            .service(get_or_post(
                "/ipl/availability.json",
                web::to(rest::availability),
            ))
            .service(get_or_post("/ipl/check.json", web::to(rest::check)))
            .service(get_or_post("/ipl/register.json", web::to(rest::register)))
            .service(get_or_post("/ipl/remove.json", web::to(rest::remove)))
            .service(get_or_post("/ipl/list.json", web::to(rest::list)))
            .service(get_or_post("/ipl/server.json", web::to(rest::server)))
            .service(get_or_post("/ipl/update.json", web::to(rest::update)))
            .service(get_or_post("/ipl/convert.json", web::to(rest::convert)))
            .service(get_or_post("/ipl/move.json", web::to(rest::move_license)))
            .configure(key_routes)
            .configure(key_product_routes)
            .service(get_or_post("/status.json", web::to(status::status)))
            .service(get_or_post(
                "/server/checkin.json",
                web::to(lifecycle::checkin),
            ))
            .service(get_or_post("/usage.json", web::to(lifecycle::usage)))
            .service(get_or_post(
                "/v2/ip-license/licenses/types",
                web::to(v2::types),
            ))
            .service(get_or_post(
                "/v2/ip-license/licenses",
                web::to(v2::licenses),
            )),
    )
    .configure(|cfg| monitoring_routes(cfg, "/clweb/api/kcare"))
    .service(web::resource("/metrics").route(web::get().to(status::metrics)))
    .service(web::resource("/livez").route(web::get().to(status::livez)))
    .service(web::resource("/showip.php").route(web::get().to(showip::show_ip)))
    .service(web::resource("/readyz").route(web::get().to(status::readyz)))
    .service(
        web::resource("/clweb/xmlrpc")
            .route(web::post().to(xmlrpc::endpoint))
            .default_service(web::to(xmlrpc::wrong_method)),
    )
    .default_service(web::to(not_found));
}

/// The calls of this face that only read (their database work takes the reads lane of
/// connections, `db::lanes`); every other call is a write as far as the lanes go.
const READS: [&str; 20] = [
    "/api/ipl/availability.json",
    "/api/ipl/check.json",
    "/api/ipl/list.json",
    "/api/ipl/server.json",
    "/api/kcare/key/list.json",
    "/api/kcare/key/servers.json",
    "/api/im/key/list.json",
    "/api/im/srv/list.json",
    "/api/els/key/list.json",
    "/api/els/srv/list.json",
    "/api/group/list.json",
    "/api/group/servers/list.json",
    "/api/status.json",
    "/api/usage.json",
    "/api/v2/ip-license/licenses/types",
    "/api/v2/ip-license/licenses",
    "/api/openapi.json",
    "/metrics",
    "/livez",
    "/readyz",
];

/// Reads whatever the method: the monitoring answers (their paths carry the key or token).
const READ_PREFIXES: [&str; 5] = [
    "/api/kcare/nagios/",
    "/api/kcare/nagios-res/",
    "/clweb/api/kcare/nagios/",
    "/clweb/api/kcare/nagios-res/",
    "/api/kcare/patchset.json",
];

/// API v2's CloudLinux OS addresses read on GET and write otherwise.
const READ_ON_GET: [&str; 3] = [
    "/api/v2/cl/keys",
    "/api/v2/cl/servers",
    "/api/v2/cl/sub-account/servers",
];

pub fn reads_only(method: &actix_web::http::Method, path: &str) -> bool {
    READS.contains(&path)
        || READ_PREFIXES.iter().any(|p| path.starts_with(p))
        || (method == actix_web::http::Method::GET && READ_ON_GET.contains(&path))
}

/// Activation keys (keys.md): KernelCare and Imunify.
fn key_routes(cfg: &mut web::ServiceConfig) {
    let routes: [(&str, Route); 16] = [
        ("/kcare/key/create.json", web::to(kcare::create)),
        ("/kcare/key/delete.json", web::to(kcare::delete)),
        ("/kcare/key/list.json", web::to(kcare::list)),
        ("/kcare/key/servers.json", web::to(kcare::key_servers)),
        ("/kcare/key/set_cidr.json", web::to(kcare::set_cidr)),
        ("/kcare/srv/remove.json", web::to(kcare::remove_server)),
        (
            "/kcare/register_server.json",
            web::to(kcare::register_server),
        ),
        (
            "/kcare/unregister_server.json",
            web::to(kcare::unregister_server),
        ),
        ("/im/key/create.json", web::to(imunify::create)),
        ("/im/key/update.json", web::to(imunify::update)),
        ("/im/key/remove.json", web::to(imunify::remove)),
        ("/im/key/list.json", web::to(imunify::list)),
        ("/im/srv/list.json", web::to(imunify::server_list)),
        ("/im/srv/remove.json", web::to(imunify::server_remove)),
        ("/im/srv/convert.json", web::to(imunify::server_convert)),
        (
            "/im/register_server.json",
            web::to(imunify::register_server),
        ),
    ];
    for (path, handler) in routes {
        cfg.service(get_or_post(path, handler));
    }
}

/// CloudLinux OS keys (API v2, one address per object, its method says what to do), ELS
/// keys, server groups and KernelCare monitoring (keys.md).
fn key_product_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v2/cl/keys")
            .route(web::get().to(cloudlinux_keys::list))
            .route(web::post().to(cloudlinux_keys::create))
            .route(web::patch().to(cloudlinux_keys::update))
            .route(web::delete().to(cloudlinux_keys::delete))
            .default_service(web::to(|req: HttpRequest| async move {
                refuse_method(&req, "GET, POST, PATCH, DELETE")
            })),
    )
    .service(
        web::resource("/v2/cl/servers")
            .route(web::get().to(cloudlinux_keys::server_list))
            .route(web::delete().to(cloudlinux_keys::server_remove))
            .default_service(web::to(|req: HttpRequest| async move {
                refuse_method(&req, "GET, DELETE")
            })),
    )
    .service(
        web::resource("/v2/cl/sub-account/servers")
            .route(web::get().to(cloudlinux_keys::sub_account_servers))
            .default_service(web::to(get_only)),
    );
    let routes: [(&str, Route); 15] = [
        (
            "/v2/cl/register_server.json",
            web::to(cloudlinux_keys::register_server),
        ),
        ("/els/key/create.json", web::to(els::create)),
        ("/els/key/update.json", web::to(els::update)),
        ("/els/key/remove.json", web::to(els::remove)),
        ("/els/key/list.json", web::to(els::list)),
        ("/els/srv/list.json", web::to(els::server_list)),
        ("/els/srv/remove.json", web::to(els::server_remove)),
        ("/els/register_server.json", web::to(els::register_server)),
        ("/group/create.json", web::to(groups::create)),
        ("/group/list.json", web::to(groups::list)),
        ("/group/servers/list.json", web::to(groups::servers)),
        ("/group/servers/put.json", web::to(groups::put)),
        ("/group/servers/remove.json", web::to(groups::remove)),
        ("/kcare/patchset.json", web::to(kcare_monitoring::patchset)),
        ("/group/delete.json", web::to(groups::delete)),
    ];
    for (path, handler) in routes {
        cfg.service(get_or_post(path, handler));
    }
    monitoring_routes(cfg, "/kcare");
}

/// The Nagios endpoints under one prefix (`/api/kcare`, `/clweb/api/kcare`); resources,
/// not a scope, so that the other `/kcare/...` calls stay reachable.
fn monitoring_routes(cfg: &mut web::ServiceConfig, prefix: &str) {
    cfg.service(
        web::resource(format!("{prefix}/nagios/{{key}}"))
            .route(web::get().to(kcare_monitoring::by_key))
            .default_service(web::to(get_only)),
    )
    .service(
        web::resource(format!("{prefix}/nagios-res/{{login}}/{{token}}"))
            .route(web::get().to(kcare_monitoring::by_reseller))
            .default_service(web::to(get_only)),
    );
}

/// GET with query parameters is what clients send; a form POST is read the same way.
fn get_or_post(path: &str, handler: Route) -> actix_web::Resource {
    web::resource(path)
        .route(handler.guard(guard::Any(guard::Get()).or(guard::Post())))
        .default_service(web::to(method_not_allowed))
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    envelope::failure(
        StatusCode::NOT_FOUND,
        &format!("Not found: {}", crate::wire::shorten(req.path())),
    )
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    refuse_method(&req, "GET, POST")
}

/// 405 for the read-only document.
async fn get_only(req: HttpRequest) -> HttpResponse {
    refuse_method(&req, "GET")
}

/// 405 in the envelope, with the `Allow` header RFC 9110 requires.
fn refuse_method(req: &HttpRequest, allow: &'static str) -> HttpResponse {
    let mut answer = envelope::failure(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!(
            "Method {} not allowed here; use {}",
            req.method(),
            allow.replace(", ", " or ")
        ),
    );
    answer.headers_mut().insert(
        actix_web::http::header::ALLOW,
        actix_web::http::header::HeaderValue::from_static(allow),
    );
    answer
}
