//! Registering a license: the one path of every face (REST, XML-RPC, console, admin API,
//! CLI). A type no upstream takes is registered here as always. A routed type is registered
//! in three steps, so that the caller hears `success:true` only once the upstream accepted:
//!
//! 1. the intent (`licenses::begin_intent`): every local rule checked, the IP held;
//! 2. the upstream's `register.json`, bounded by `IPLS_UPSTREAM_TIMEOUT_MS`;
//! 3. what it answered decides (`domain::upstream::intents`): accepted, the intent becomes
//!    the license; refused, its message reaches the caller and nothing stays; no usable
//!    answer, "upstream unavailable, try again" and the intent is withdrawn upstream.
//!
//! Changes on one IP reach the upstream in order: a registration first waits (briefly) for
//! the IP's earlier changes still in the outbox.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::client::CallError;
use super::settings::Relay;
use crate::db::models::{License, Reseller, Upstream};
use crate::db::{self, DbConnection};
use crate::domain::actor::{self, ActingFor, Actor, Source};
use crate::domain::events::EventContext;
use crate::domain::licenses::{self, Intent, Registration};
use crate::domain::upstream::{intents, ops, route_of, upstreams};
use crate::domain::Policy;
use crate::error::DomainError;

/// How often a registration looks again at its IP's queue while it waits.
const QUEUE_LOOK: Duration = Duration::from_millis(50);

/// Registers `request` for `who`, through the type's upstream if it has one. Returns the
/// license (new, or the caller's existing one unchanged).
pub async fn register(
    relay: &Relay,
    who: ActingFor,
    source: Source,
    policy: Policy,
    request: Registration,
) -> Result<License, DomainError> {
    let type_id = request.type_id;
    // One hop for the common case: a type no upstream takes is registered in the same call
    // that finds it has none.
    // A dry run (`db::dry_run`) checks the local rules only: the upstream is not asked.
    let dry = crate::db::dry_run::requested();
    let (local_policy, local_request) = (policy.clone(), request.clone());
    let (route, _) = act(
        relay,
        who.clone(),
        &source,
        move |c, actor| match route_of(c, type_id)? {
            Some(upstream) if !dry => Ok(Route::Upstream(upstream)),
            _ => licenses::register(c, actor, &local_policy, &local_request).map(Route::Local),
        },
    )
    .await?;
    let upstream = match route {
        Route::Local(license) => return Ok(license),
        Route::Upstream(upstream) => upstream,
    };
    let els_allowed = request.els_allowed;
    let (intent, reseller) = match begin(relay, &upstream, who, &source, &policy, &request).await? {
        Begun::Held(license) => return Ok(license),
        Begun::New(intent, reseller) => (intent, reseller),
    };
    let ending = Ending {
        reseller: &reseller,
        source: &source,
        detail: None,
    };
    complete(relay, &upstream, intent, els_allowed, ending).await
}

/// Where a registration goes: done here, or to this upstream.
enum Route {
    Local(License),
    Upstream(Upstream),
}

/// Whose intent it is, and what its history row says once the upstream accepts.
pub struct Ending<'a> {
    pub reseller: &'a Reseller,
    pub source: &'a Source,
    /// The history row's detail (None: a plain registration; a trial says so).
    pub detail: Option<String>,
}

/// Asks `upstream` to register `intent` and ends the intent as it answers: the license, or
/// why not (its refusal, or "upstream unavailable"). Registrations and imports both end here.
pub async fn complete(
    relay: &Relay,
    upstream: &Upstream,
    intent: License,
    els_allowed: bool,
    ending: Ending<'_>,
) -> Result<License, DomainError> {
    let (ip, type_id) = (intent.ip.clone(), intent.type_id);
    let params = [
        ("ip", ip.clone()),
        ("type", type_id.to_string()),
        ("els_allowed", els_allowed.to_string()),
    ];
    let answer = match upstreams::clear_secret(upstream, &relay.secrets) {
        Ok(secret) => {
            let timeout = relay.settings.call_timeout;
            let answer = relay
                .client
                .call(upstream, &secret, "register", &params, timeout)
                .await;
            relay.metrics.call(&upstream.name, &answer);
            answer.and_then(|data| accepted(&data, &ip, type_id))
        }
        Err(e) => {
            log::error!("relay: {e}");
            Err(CallError::NotSent(
                "ipls cannot open its upstream credentials".into(),
            ))
        }
    };
    settle(relay, upstream, intent, ending, answer).await
}

/// Resolves `who` and runs `f` as it on the blocking pool; returns the reseller too.
async fn act<T, F>(
    relay: &Relay,
    who: ActingFor,
    source: &Source,
    f: F,
) -> Result<(T, Reseller), DomainError>
where
    F: FnOnce(&mut DbConnection, &Actor<'_>) -> Result<T, DomainError> + Send + 'static,
    T: Send + 'static,
{
    let now = relay.clock.now().naive_utc();
    let source = source.clone();
    db::run(&relay.pool, move |c| {
        let reseller = who.resolve(c)?;
        let found = actor::act(c, ActingFor::Reseller(reseller.clone()), &source, now, f)?;
        Ok((found, reseller))
    })
    .await
}

/// What `begin` found or wrote.
enum Begun {
    /// The caller's license already: nothing to ask.
    Held(License),
    /// The intent, and whose it is.
    New(License, Reseller),
}

/// Writes the intent, waiting (at most `queue_wait`) while earlier changes on its IP are
/// still being carried: they reach the upstream first. `Err` when they do not in time.
async fn begin(
    relay: &Relay,
    upstream: &Upstream,
    who: ActingFor,
    source: &Source,
    policy: &Policy,
    request: &Registration,
) -> Result<Begun, DomainError> {
    let deadline = Instant::now() + relay.settings.queue_wait;
    loop {
        let (upstream_id, policy, wanted) = (upstream.id, policy.clone(), request.clone());
        let (intent, reseller) = act(relay, who.clone(), source, move |c, actor| {
            licenses::begin_intent(c, actor, &policy, &wanted, upstream_id)
        })
        .await?;
        match intent {
            Intent::Held(license) => return Ok(Begun::Held(license)),
            Intent::New(intent) => return Ok(Begun::New(intent, reseller)),
            Intent::Waiting if Instant::now() >= deadline => {
                return Err(DomainError::conflict(format!(
                    "an earlier change to IP {} is still being carried to upstream {}; \
                     try again in a moment",
                    request.ip, upstream.name
                )))
            }
            Intent::Waiting => {
                ops::OPS_QUEUED.raise();
                actix_web::rt::time::sleep(QUEUE_LOOK).await;
            }
        }
    }
}

/// The upstream said success: its data must be this license (anything else is not an answer
/// to this call, and is treated as no answer).
fn accepted(data: &Value, ip: &str, type_id: i32) -> Result<(), CallError> {
    let same_type = data.get("type").and_then(Value::as_i64) == Some(i64::from(type_id));
    let same_ip = data.get("ip").and_then(Value::as_str).is_some_and(|a| {
        crate::domain::ip::LicenseIp::parse(a).is_some_and(|a| a.to_string() == ip)
    });
    if same_type && same_ip {
        Ok(())
    } else {
        Err(CallError::NoAnswer(
            "the upstream's answer names another license".into(),
        ))
    }
}

/// Ends the intent as the upstream's answer says, and tells the caller.
async fn settle(
    relay: &Relay,
    upstream: &Upstream,
    intent: License,
    ending: Ending<'_>,
    answer: Result<(), CallError>,
) -> Result<License, DomainError> {
    let now = relay.clock.now().naive_utc();
    let (upstream_id, reseller, source_text) = (
        upstream.id,
        ending.reseller.clone(),
        ending.source.to_string(),
    );
    let detail = ending.detail;
    match answer {
        Ok(()) => {
            let id = intent.id;
            let confirmed = db::run(&relay.pool, move |c| {
                let context = EventContext {
                    at: now,
                    reseller_id: reseller.id,
                    login: &reseller.login,
                    source: &source_text,
                };
                intents::confirm(c, id, context, detail)
            })
            .await?;
            confirmed.ok_or_else(|| {
                DomainError::conflict(format!(
                    "the registration of IP {} was settled meanwhile; try again",
                    intent.ip
                ))
            })
        }
        Err(CallError::Refused(message)) => {
            db::run(&relay.pool, move |c| {
                intents::abandon(c, &intent, upstream_id)
            })
            .await?;
            Err(DomainError::Refused(message))
        }
        Err(CallError::NotSent(why)) => {
            db::run(&relay.pool, move |c| {
                intents::abandon(c, &intent, upstream_id)
            })
            .await?;
            Err(DomainError::upstream_unavailable(why))
        }
        Err(CallError::NoAnswer(why)) => {
            log::warn!(
                "relay: {why}; withdrawing IP {} type {} at upstream {}",
                intent.ip,
                intent.type_id,
                upstream.name
            );
            let bound = chrono::Duration::from_std(relay.settings.call_timeout).unwrap_or_default();
            let not_before = chrono::Utc::now().naive_utc() + bound;
            db::run(&relay.pool, move |c| {
                intents::withdraw(c, &intent, upstream_id, &source_text, now, not_before)
            })
            .await?;
            Err(DomainError::upstream_unavailable(why))
        }
    }
}
