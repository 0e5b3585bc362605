//! `/api/admin/v1/resellers/{login}/secrets`: an account's named API secrets beside its first
//! one (list, add with the secret shown once, revoke).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body;
use super::error::{AdminError, AdminResult};
use super::idempotency;
use super::types::IdempotencyKey;
use crate::auth::admin::AdminCaller;
use crate::db;
use crate::domain::resellers::secrets::{self, SecretInfo};
use crate::domain::resellers::ChangedBy;
use crate::state::AppState;
use crate::wire::iso;

/// A secret as listed: never its value.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretEntry {
    pub name: String,
    pub created: String,
    /// To the minute; null when never used.
    pub last_used: Option<String>,
}

impl From<SecretInfo> for SecretEntry {
    fn from(s: SecretInfo) -> Self {
        Self {
            name: s.name,
            created: iso(s.created_at),
            last_used: s.last_used_at.map(iso),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecretList {
    pub items: Vec<SecretEntry>,
}

/// An account's secrets: `default` (its first one) first, then by name.
#[utoipa::path(get, path = "/api/admin/v1/resellers/{login}/secrets", operation_id = "listResellerSecrets", tag = "resellers",
    params(("login" = String, Path)),
    responses((status = 200, description = "Its secrets (names and dates only)", body = SecretList)))]
pub async fn list(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    login: web::Path<String>,
) -> AdminResult {
    let login = login.into_inner();
    let all = db::run(&state.pool, move |c| secrets::list(c, &login)).await?;
    Ok(HttpResponse::Ok().json(SecretList {
        items: all.into_iter().map(SecretEntry::from).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSecret {
    /// 1-40 letters, digits, `.`, `_` or `-`; not `default`.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,40}$")]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AddedSecret {
    pub login: String,
    pub name: String,
    /// Shown once.
    pub secret: String,
}

/// Add a named secret (at most 5 per account, its first included); the answer holds it once.
#[utoipa::path(post, path = "/api/admin/v1/resellers/{login}/secrets", operation_id = "addResellerSecret", tag = "resellers",
    request_body = NewSecret,
    params(("login" = String, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "1 to 255 visible ASCII characters; repeats of the request with this key replay the first answer (kept 24 hours)")),
    responses((status = 201, description = "Added; the secret is shown once", body = AddedSecret)))]
pub async fn add(
    state: web::Data<AppState>,
    caller: AdminCaller,
    login: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let input: NewSecret = body::object(&req, &body)?;
    let login = login.into_inner();
    let (box_, source) = (state.secrets.clone(), caller.source());
    let (pool, now) = (state.pool.clone(), state.clock.now().naive_utc());
    idempotency::create(&state, &caller, &req, &body, input, |input| async move {
        let (name, who) = (input.name, login.clone());
        let given = name.clone();
        let secret = db::run(&pool, move |c| {
            let by = ChangedBy {
                source: &source,
                now,
            };
            secrets::add(c, &who, &given, &box_, &by)
        })
        .await?;
        let resource = format!("resellers/{login}/secrets/{name}");
        Ok::<_, AdminError>((
            AddedSecret {
                login,
                name,
                secret,
            },
            resource,
        ))
    })
    .await
}

/// Revoke a named secret: tokens made with it stop working within `IPLS_AUTH_CACHE_SECS`.
/// The first one (`default`) is replaced with rotate-secret instead.
#[utoipa::path(delete, path = "/api/admin/v1/resellers/{login}/secrets/{name}", operation_id = "revokeResellerSecret", tag = "resellers",
    params(("login" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: AdminCaller,
    path: web::Path<(String, String)>,
) -> AdminResult {
    caller.may_write()?;
    let (login, name) = path.into_inner();
    let (source, now) = (caller.source(), state.clock.now().naive_utc());
    db::run(&state.pool, move |c| {
        let by = ChangedBy {
            source: &source,
            now,
        };
        secrets::revoke(c, &login, &name, &by)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
