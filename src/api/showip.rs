//! `/showip.php`: the caller's address as ipls sees it, as plain text. CLN's FAQ tells a
//! server behind NAT to fetch `https://cloudlinux.com/showip.php` to learn which address to
//! license; pointed at ipls, the same fetch answers with the address ipls will see on that
//! server's check-ins (trusted proxies honoured, as everywhere). No token, no database.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::auth::client_address;
use crate::state::AppState;

pub async fn show_ip(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match client_address::of_request(&req, &state.config.trusted_proxies) {
        Some(address) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(address.to_string()),
        // Only a connection without a peer address (not TCP) has none.
        None => HttpResponse::InternalServerError()
            .content_type("text/plain; charset=utf-8")
            .body("the caller's address is unknown"),
    }
}
