//! Console sessions: logging in (argon2id, throttled by the same failure budgets as API
//! tokens), the session cookie, and the extractor that console handlers take as an
//! argument. Sessions live in the database (`domain::sessions`), so they work across
//! instances; the cookie carries a random 256-bit id whose SHA-256 is the row's key.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use chrono::{Duration, NaiveDateTime};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::budget::{login_key, source_key};
use super::context::AuthContext;
use super::error::AuthError;
use super::password;
use crate::db::models::{ConsoleSession, ConsoleUser, Reseller};
use crate::db::{self};
use crate::domain::users::{self, Role};
use crate::domain::Source;
use crate::domain::{sessions, two_factor};
use crate::error::DomainError;
use crate::net::network_of;

pub const LOGIN_PATH: &str = "/console/login";
/// The page where a user sets up (or turns off) two-factor login.
pub const SECURITY_PATH: &str = "/console/security";
/// The cookie's name over HTTPS: the `__Host-` prefix makes browsers insist on Secure,
/// Path=/ and no Domain, so no other host or plain-HTTP page can plant or read it.
pub const SECURE_COOKIE: &str = "__Host-ipls_session";
/// Over plain HTTP a browser refuses `__Host-` cookies (they must be Secure).
pub const PLAIN_COOKIE: &str = "ipls_session";

/// A session's last use is written at most this often (reading a page is not a write).
const TOUCH_EVERY_SECS: i64 = 60;

/// Whether the browser talks HTTPS to us: TLS here, or a trusted proxy that says so.
pub fn is_https(req: &HttpRequest, state: &AuthContext) -> bool {
    if state.settings.tls {
        return true;
    }
    let from_trusted_proxy = req.peer_addr().is_some_and(|peer| {
        let peer = crate::net::canonical(peer.ip());
        state
            .settings
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&peer))
    });
    from_trusted_proxy
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

pub fn cookie_name(https: bool) -> &'static str {
    if https {
        SECURE_COOKIE
    } else {
        PLAIN_COOKIE
    }
}

/// The session cookie: HttpOnly, SameSite=Strict, Path=/, Secure over HTTPS, and no
/// expiry (the server ends the session; the browser forgets the cookie when it closes).
pub fn session_cookie(value: &str, https: bool) -> Cookie<'static> {
    Cookie::build(cookie_name(https), value.to_string())
        .path("/")
        .http_only(true)
        .secure(https)
        .same_site(SameSite::Strict)
        .finish()
}

/// A cookie that makes the browser drop the session cookie.
pub fn removal_cookie(https: bool) -> Cookie<'static> {
    let mut cookie = session_cookie("", https);
    cookie.make_removal();
    cookie
}

/// 32 random bytes from the OS, as hex.
pub fn random_token() -> Result<String, DomainError> {
    Ok(hex::encode(crate::domain::random::bytes::<32>()?))
}

fn id_hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// Constant-time comparison of two tokens.
pub fn tokens_match(expected: &str, sent: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(sent.as_bytes()))
}

/// What a right password leads to.
pub enum LoggedIn {
    /// A session: the cookie value.
    Session(String),
    /// The user has two-factor login: the id of the login's second step (its own cookie),
    /// which `second_factor` finishes.
    AwaitingCode(String),
}

/// The failure budgets a console login charges: its source's and its e-mail address's.
fn login_keys(source: Option<IpAddr>, email: &str) -> Vec<String> {
    let mut keys: Vec<String> = source
        .map(network_of)
        .map(|n| source_key(&n))
        .into_iter()
        .collect();
    keys.push(login_key(&format!("console:{email}")));
    keys
}

/// Checks e-mail and password, charging the failure budgets of the source and of the
/// e-mail address like an API token, and starts a session, or for a user with two-factor
/// login the wait for its code.
pub async fn log_in(
    state: &AuthContext,
    email: &str,
    password_text: &str,
    source: Option<IpAddr>,
) -> Result<LoggedIn, AuthError> {
    let now = state.clock.now().naive_utc();
    let email = email.trim().to_lowercase();
    let keys = login_keys(source, &email);
    let permit = state.budgets.charge(&state.pool, keys, true, now).await?;
    let lookup = email.clone();
    let user = db::run(&state.pool, move |c| users::find_by_email(c, &lookup)).await;
    let user = match user {
        Ok(user) => user,
        Err(e) => {
            state.budgets.succeeded(permit, now);
            return Err(e.into());
        }
    };
    let typed = password_text.to_string();
    let verified = web::block(move || match user {
        Some(user) if password::verify(&user.password_hash, &typed) => Some(user),
        Some(_) => None,
        None => {
            password::verify_decoy(&typed);
            None
        }
    })
    .await
    .map_err(|e| DomainError::Internal(format!("blocking task failed: {e}")))?;
    let Some(user) = verified else {
        state.budgets.failed(&state.pool, permit, true, now).await;
        return Err(AuthError::Unauthorized);
    };
    state.budgets.succeeded(permit, now);
    if two_factor::is_enabled(&user) {
        let step = random_token()?;
        let (hash, user_id) = (id_hash(&step), user.id);
        db::run(&state.pool, move |c| {
            two_factor::await_code(c, &hash, user_id, now)
        })
        .await?;
        return Ok(LoggedIn::AwaitingCode(step));
    }
    Ok(LoggedIn::Session(start_session(state, user.id, now).await?))
}

/// The second step of a login: the code from the authenticator app (or a recovery code) for
/// the login `step` awaits, charged to the same failure budgets as a password. Returns the
/// new session's cookie value.
pub async fn second_factor(
    state: &AuthContext,
    step: &str,
    code: &str,
    source: Option<IpAddr>,
) -> Result<String, AuthError> {
    let now = state.clock.now().naive_utc();
    let hash = id_hash(step);
    let lookup = hash.clone();
    let user = db::run(&state.pool, move |c| two_factor::awaiting(c, &lookup, now))
        .await?
        .ok_or(AuthError::Unauthorized)?;
    let permit = state
        .budgets
        .charge(&state.pool, login_keys(source, &user.email), true, now)
        .await?;
    let (secrets, typed, user_id) = (state.secrets.clone(), code.to_string(), user.id);
    let verified = db::run(&state.pool, move |c| {
        two_factor::verify(c, user_id, &typed, &secrets, now)
    })
    .await;
    match verified {
        Ok(true) => state.budgets.succeeded(permit, now),
        Ok(false) => {
            state.budgets.failed(&state.pool, permit, true, now).await;
            return Err(AuthError::Unauthorized);
        }
        Err(e) => {
            state.budgets.succeeded(permit, now);
            return Err(e.into());
        }
    }
    db::run(&state.pool, move |c| two_factor::end_step(c, &hash)).await?;
    start_session(state, user.id, now).await
}

/// Starts a session for the user; returns the cookie value.
async fn start_session(
    state: &AuthContext,
    user_id: i64,
    now: NaiveDateTime,
) -> Result<String, AuthError> {
    let id = random_token()?;
    let session = ConsoleSession {
        id_hash: id_hash(&id),
        user_id,
        csrf: random_token()?,
        created_at: now,
        last_seen_at: now,
    };
    let idle_cutoff = now - Duration::minutes(state.settings.console_idle_minutes);
    let absolute_cutoff = now - Duration::hours(state.settings.console_session_hours);
    db::run(&state.pool, move |c| {
        // Sessions that ran out and were never used again are cleared at each login, so
        // the table holds live sessions and the few that ended since the last login.
        sessions::prune(c, idle_cutoff, absolute_cutoff)?;
        sessions::start(c, &session)
    })
    .await?;
    Ok(id)
}

/// The session id in the request's cookie, if any.
/// Over HTTPS only the `__Host-` cookie counts, so that a cookie planted over plain HTTP
/// (which any network attacker can do) is never taken for a session there.
fn cookie_value(req: &HttpRequest, https: bool) -> Option<String> {
    req.cookie(cookie_name(https))
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty())
}

/// Ends the request's session, if it has one.
pub async fn log_out(state: &AuthContext, req: &HttpRequest) -> Result<(), DomainError> {
    if let Some(id) = cookie_value(req, is_https(req, state)) {
        let hash = id_hash(&id);
        db::run(&state.pool, move |c| sessions::end(c, &hash)).await?;
    }
    Ok(())
}

/// A logged-in console user: the actix extractor behind every console page but the login.
pub struct Console {
    pub user: ConsoleUser,
    /// The user's reseller (None for an operator), as it is now.
    pub reseller: Option<Reseller>,
    /// The session's CSRF token, printed into every form.
    pub csrf: String,
    id_hash: String,
}

impl Console {
    pub fn role(&self) -> Role {
        self.user.role()
    }

    /// How the history names this user.
    pub fn source(&self) -> Source {
        Source::Console(self.user.email.clone())
    }

    pub fn session_hash(&self) -> &str {
        &self.id_hash
    }
}

/// Why a request has no usable session.
#[derive(Debug)]
pub enum SessionRefused {
    /// No cookie, or one that names no session: log in.
    Missing,
    /// The session ran out (idle or absolute timeout) and was ended.
    Expired,
    /// The operator requires two-factor login and this user has not set it up yet.
    SecondFactorRequired,
    Failed(DomainError),
}

impl std::fmt::Display for SessionRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionRefused::Missing => f.write_str("not logged in"),
            SessionRefused::Expired => f.write_str("session expired"),
            SessionRefused::SecondFactorRequired => f.write_str("two-factor login required"),
            SessionRefused::Failed(e) => write!(f, "{e}"),
        }
    }
}

impl ResponseError for SessionRefused {
    fn status_code(&self) -> StatusCode {
        match self {
            SessionRefused::Missing
            | SessionRefused::Expired
            | SessionRefused::SecondFactorRequired => StatusCode::SEE_OTHER,
            SessionRefused::Failed(DomainError::Unavailable(_) | DomainError::Busy(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            SessionRefused::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let target = match self {
            SessionRefused::Missing => LOGIN_PATH.to_string(),
            SessionRefused::Expired => format!("{LOGIN_PATH}?expired=1"),
            SessionRefused::SecondFactorRequired => format!("{SECURITY_PATH}?required=1"),
            SessionRefused::Failed(e) => {
                log::warn!("console session lookup failed: {e}");
                return HttpResponse::build(self.status_code())
                    .content_type("text/plain; charset=utf-8")
                    .body("The console cannot reach its database right now; try again shortly.");
            }
        };
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, target))
            .finish()
    }
}

/// Whether a session has run out at `now`.
fn expired(session: &ConsoleSession, state: &AuthContext, now: NaiveDateTime) -> bool {
    let idle = Duration::minutes(state.settings.console_idle_minutes);
    let absolute = Duration::hours(state.settings.console_session_hours);
    now - session.last_seen_at >= idle || now - session.created_at >= absolute
}

impl FromRequest for Console {
    type Error = SessionRefused;
    type Future = Pin<Box<dyn Future<Output = Result<Self, SessionRefused>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AuthContext>>().cloned();
        let id = state
            .as_ref()
            .and_then(|s| cookie_value(req, is_https(req, s)));
        // Where a user who must set up two-factor login may still go.
        let setting_up = req.path().starts_with(SECURITY_PATH) || req.path() == "/console/logout";
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                SessionRefused::Failed(DomainError::Internal("application state missing".into()))
            })?;
            let hash = id_hash(&id.ok_or(SessionRefused::Missing)?);
            let now = state.clock.now().naive_utc();
            let idle_state = state.clone();
            let lookup = hash.clone();
            let found = db::run(&state.pool, move |c| {
                let Some(found) = sessions::find(c, &lookup)? else {
                    return Ok(None);
                };
                if expired(&found.session, &idle_state, now) {
                    sessions::end(c, &lookup)?;
                    return Ok(Some(Err(())));
                }
                if (now - found.session.last_seen_at).num_seconds() >= TOUCH_EVERY_SECS {
                    sessions::touch(c, &lookup, now)?;
                }
                Ok(Some(Ok(found)))
            })
            .await
            .map_err(SessionRefused::Failed)?;
            match found {
                None => Err(SessionRefused::Missing),
                Some(Err(())) => Err(SessionRefused::Expired),
                Some(Ok(found))
                    if state.settings.console_require_2fa
                        && !two_factor::is_enabled(&found.user)
                        && !setting_up =>
                {
                    Err(SessionRefused::SecondFactorRequired)
                }
                Some(Ok(found)) => Ok(Console {
                    user: found.user,
                    reseller: found.reseller,
                    csrf: found.session.csrf,
                    id_hash: hash,
                }),
            }
        })
    }
}

/// Checks a logged-in user's password again before a sensitive action (revealing the API
/// secret, changing the password), charged to the same failure budgets as a login.
pub async fn confirm_password(
    state: &AuthContext,
    who: &Console,
    password_text: &str,
    source: Option<IpAddr>,
) -> Result<(), AuthError> {
    let now = state.clock.now().naive_utc();
    let keys = login_keys(source, &who.user.email);
    let permit = state.budgets.charge(&state.pool, keys, true, now).await?;
    let stored = who.user.password_hash.clone();
    let typed = password_text.to_string();
    let matches = web::block(move || password::verify(&stored, &typed))
        .await
        .map_err(|e| DomainError::Internal(format!("blocking task failed: {e}")))?;
    if matches {
        state.budgets.succeeded(permit, now);
        Ok(())
    } else {
        state.budgets.failed(&state.pool, permit, true, now).await;
        Err(DomainError::refused("That password is not right.").into())
    }
}
