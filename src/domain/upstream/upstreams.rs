//! Upstreams: their address, account and sealed secret, the types each takes (a type goes to
//! at most one), and the limits on how this instance calls them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::Upstream;
use crate::db::schema::{upstream_claims, upstream_ops, upstream_routes, upstreams};
use crate::db::{write_transaction, DbConnection};
use crate::domain::catalogue::find_type;
use crate::domain::webhooks::{outbox, EventType};
use crate::error::DomainError;
use crate::secrets::SecretBox;

/// Calls at once and per second to an upstream, unless the operator says otherwise.
pub const DEFAULT_CONCURRENCY: i32 = 8;
pub const DEFAULT_RATE: i32 = 20;

/// The longest secret an upstream may have.
pub const MAX_SECRET_CHARS: usize = 1_000;

/// What `upstream add` is given.
#[derive(Debug, Clone)]
pub struct NewUpstream<'a> {
    pub name: &'a str,
    pub url: &'a str,
    pub login: &'a str,
    pub secret: &'a str,
    pub types: &'a [i32],
    pub concurrency: i32,
    pub rate_per_second: i32,
    pub now: NaiveDateTime,
}

/// An upstream with the types routed to it.
#[derive(Debug, Clone)]
pub struct UpstreamView {
    pub upstream: Upstream,
    pub types: Vec<i32>,
}

/// The label an upstream's secret is sealed under (it cannot be moved to another upstream).
pub fn sealing_label(name: &str) -> String {
    format!("upstream:{name}")
}

/// Names are short words: they go into commands, URLs and history sources.
pub fn validate_name(name: &str) -> Result<(), DomainError> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    if name.is_empty() || name.len() > 40 || !name.chars().all(ok) {
        return Err(DomainError::invalid(format!(
            "an upstream's name has 1 to 40 letters, digits, '.', '_' or '-' (got {})",
            crate::wire::shorten(name)
        )));
    }
    Ok(())
}

/// The base URL: http(s), a host, no credentials, no query; kept without a trailing slash.
pub fn normalise_url(text: &str) -> Result<String, DomainError> {
    let bad = |why: &str| {
        DomainError::invalid(format!(
            "upstream URL {}: {why}",
            crate::wire::shorten(text)
        ))
    };
    let url = url::Url::parse(text.trim()).map_err(|_| bad("not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("use http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(bad("give the login and secret apart, and no query"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

fn check_bounds(concurrency: i32, rate: i32) -> Result<(), DomainError> {
    if !(1..=256).contains(&concurrency) || !(1..=10_000).contains(&rate) {
        return Err(DomainError::invalid(
            "concurrency is 1 to 256 calls at once, rate 1 to 10,000 calls a second",
        ));
    }
    Ok(())
}

/// Routes `types` to `upstream_id`, refusing a type already routed elsewhere or unknown.
fn route_types(
    conn: &mut DbConnection,
    upstream_id: i64,
    types: &[i32],
) -> Result<(), DomainError> {
    for type_id in types {
        if find_type(conn, *type_id)?.is_none() {
            return Err(DomainError::not_found(format!(
                "unknown license type {type_id}"
            )));
        }
        let routed: Option<(i64, String)> = upstream_routes::table
            .inner_join(upstreams::table)
            .filter(upstream_routes::type_id.eq(type_id))
            .select((upstreams::id, upstreams::name))
            .first(conn)
            .optional()?;
        match routed {
            Some((id, _)) if id == upstream_id => continue,
            Some((_, name)) => {
                return Err(DomainError::conflict(format!(
                "type {type_id} is already carried to upstream {name}; a type goes to one upstream"
            )))
            }
            None => {
                diesel::insert_into(upstream_routes::table)
                    .values((
                        upstream_routes::type_id.eq(type_id),
                        upstream_routes::upstream_id.eq(upstream_id),
                    ))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

pub fn add(
    conn: &mut DbConnection,
    new: &NewUpstream<'_>,
    secrets: &SecretBox,
) -> Result<UpstreamView, DomainError> {
    validate_name(new.name)?;
    let url = normalise_url(new.url)?;
    crate::domain::resellers::validate_login(new.login)?;
    if new
        .secret
        .chars()
        .all(crate::wire::patterns::is_ascii_space)
        || new.secret.contains('\0')
        || new.secret.chars().count() > MAX_SECRET_CHARS
    {
        return Err(DomainError::invalid(format!(
            "the upstream's secret is 1 to {MAX_SECRET_CHARS} characters, not only spaces, no NUL"
        )));
    }
    check_bounds(new.concurrency, new.rate_per_second)?;
    let sealed = secrets
        .seal(&sealing_label(new.name), new.secret)
        .map_err(DomainError::Internal)?;
    write_transaction(conn, |c| {
        if find(c, new.name)?.is_some() {
            return Err(DomainError::conflict(format!(
                "an upstream named {} exists",
                new.name
            )));
        }
        diesel::insert_into(upstreams::table)
            .values((
                upstreams::name.eq(new.name),
                upstreams::url.eq(&url),
                upstreams::login.eq(new.login),
                upstreams::secret.eq(&sealed),
                upstreams::concurrency.eq(new.concurrency),
                upstreams::rate_per_second.eq(new.rate_per_second),
                upstreams::created_at.eq(new.now),
            ))
            .execute(c)?;
        let upstream = get(c, new.name)?;
        route_types(c, upstream.id, new.types)?;
        view(c, upstream)
    })
}

/// Replaces the types routed to an upstream (a type routed elsewhere is refused).
pub fn set_types(
    conn: &mut DbConnection,
    name: &str,
    types: &[i32],
) -> Result<UpstreamView, DomainError> {
    write_transaction(conn, |c| {
        let upstream = get(c, name)?;
        diesel::delete(upstream_routes::table.filter(upstream_routes::upstream_id.eq(upstream.id)))
            .execute(c)?;
        route_types(c, upstream.id, types)?;
        view(c, upstream)
    })
}

pub fn find(conn: &mut DbConnection, name: &str) -> Result<Option<Upstream>, DomainError> {
    Ok(upstreams::table
        .filter(upstreams::name.eq(name))
        .select(Upstream::as_select())
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut DbConnection, name: &str) -> Result<Upstream, DomainError> {
    find(conn, name)?.ok_or_else(|| DomainError::not_found(format!("no upstream named {name}")))
}

pub fn by_id(conn: &mut DbConnection, id: i64) -> Result<Upstream, DomainError> {
    upstreams::table
        .find(id)
        .select(Upstream::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| DomainError::not_found(format!("no upstream with id {id}")))
}

fn view(conn: &mut DbConnection, upstream: Upstream) -> Result<UpstreamView, DomainError> {
    let types = upstream_routes::table
        .filter(upstream_routes::upstream_id.eq(upstream.id))
        .order(upstream_routes::type_id)
        .select(upstream_routes::type_id)
        .load(conn)?;
    Ok(UpstreamView { upstream, types })
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<UpstreamView>, DomainError> {
    let all: Vec<Upstream> = upstreams::table
        .order(upstreams::name)
        .select(Upstream::as_select())
        .load(conn)?;
    all.into_iter().map(|u| view(conn, u)).collect()
}

pub fn show(conn: &mut DbConnection, name: &str) -> Result<UpstreamView, DomainError> {
    let upstream = get(conn, name)?;
    view(conn, upstream)
}

/// The upstream a type is carried to, if any.
pub fn route_of(conn: &mut DbConnection, type_id: i32) -> Result<Option<Upstream>, DomainError> {
    Ok(upstream_routes::table
        .inner_join(upstreams::table)
        .filter(upstream_routes::type_id.eq(type_id))
        .select(Upstream::as_select())
        .first(conn)
        .optional()?)
}

/// Removes an upstream and its routes: its types stay local from then on. Refused while
/// changes are still waiting to be carried to it (they would be lost) unless `force`.
pub fn remove(conn: &mut DbConnection, name: &str, force: bool) -> Result<(), DomainError> {
    write_transaction(conn, |c| {
        let upstream = get(c, name)?;
        let waiting: i64 = upstream_ops::table
            .filter(upstream_ops::upstream_id.eq(upstream.id))
            .filter(upstream_ops::state.eq(super::ops::PENDING))
            .count()
            .get_result(c)?;
        if waiting > 0 && !force {
            return Err(DomainError::refused(format!(
                "{waiting} change(s) are still waiting to be carried to upstream {name}; \
                 wait for them (ipls upstream show {name}) or remove it with --force, losing them"
            )));
        }
        // Explicitly, not by the foreign keys' cascade (SQLite enforces it only when asked).
        diesel::delete(upstream_ops::table.filter(upstream_ops::upstream_id.eq(upstream.id)))
            .execute(c)?;
        diesel::delete(upstream_claims::table.filter(upstream_claims::upstream_id.eq(upstream.id)))
            .execute(c)?;
        diesel::delete(upstream_routes::table.filter(upstream_routes::upstream_id.eq(upstream.id)))
            .execute(c)?;
        diesel::delete(upstreams::table.find(upstream.id)).execute(c)?;
        Ok(())
    })
}

/// The upstream's secret in clear, for minting its tokens.
pub fn clear_secret(upstream: &Upstream, secrets: &SecretBox) -> Result<String, DomainError> {
    secrets
        .open(&sealing_label(&upstream.name), &upstream.secret)
        .ok_or_else(|| {
            DomainError::Internal(format!(
                "the master key does not open upstream {}'s secret",
                upstream.name
            ))
        })
}

/// `ipls rekey`: re-seals every upstream's secret under `new`. Returns the count.
pub fn reseal_all(
    conn: &mut DbConnection,
    old: &SecretBox,
    new: &SecretBox,
) -> Result<usize, DomainError> {
    let all: Vec<Upstream> = upstreams::table.select(Upstream::as_select()).load(conn)?;
    for upstream in &all {
        let clear = clear_secret(upstream, old)?;
        let sealed = new
            .seal(&sealing_label(&upstream.name), &clear)
            .map_err(DomainError::Internal)?;
        diesel::update(upstreams::table.find(upstream.id))
            .set(upstreams::secret.eq(sealed))
            .execute(conn)?;
    }
    Ok(all.len())
}

/// Takes the reconcile lease of `upstream_id` until `until` if it is free (one instance
/// reconciles an upstream at a time); true when taken.
pub fn take_reconcile_lease(
    conn: &mut DbConnection,
    upstream_id: i64,
    owner: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<bool, DomainError> {
    write_transaction(conn, |c| {
        let taken = diesel::update(
            upstreams::table.find(upstream_id).filter(
                upstreams::reconcile_lease_until
                    .is_null()
                    .or(upstreams::reconcile_lease_until.le(now))
                    .or(upstreams::reconcile_lease_owner.eq(owner)),
            ),
        )
        .set((
            upstreams::reconcile_lease_until.eq(Some(until)),
            upstreams::reconcile_lease_owner.eq(Some(owner)),
        ))
        .execute(c)?;
        Ok(taken == 1)
    })
}

/// After a failed reconcile: no instance tries again before `until`.
pub fn hold_reconcile_lease(
    conn: &mut DbConnection,
    upstream_id: i64,
    until: NaiveDateTime,
) -> Result<(), DomainError> {
    diesel::update(upstreams::table.find(upstream_id))
        .set((
            upstreams::reconcile_lease_until.eq(Some(until)),
            upstreams::reconcile_lease_owner.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a reconcile's end: when, and its counts (JSON); frees the lease.
pub fn reconciled(
    conn: &mut DbConnection,
    upstream_id: i64,
    at: NaiveDateTime,
    summary: &str,
) -> Result<(), DomainError> {
    write_transaction(conn, |c| {
        diesel::update(upstreams::table.find(upstream_id))
            .set((
                upstreams::last_reconcile_at.eq(Some(at)),
                upstreams::last_reconcile_counts.eq(Some(summary)),
                upstreams::reconcile_lease_until.eq(None::<NaiveDateTime>),
                upstreams::reconcile_lease_owner.eq(None::<String>),
            ))
            .execute(c)?;
        Ok(())
    })
}

/// An upstream's failing run, for the alert.
#[derive(Debug, Clone)]
pub struct Failing<'a> {
    pub pending: i64,
    pub since: NaiveDateTime,
    pub last_error: &'a str,
}

/// Raises the "upstream failing" alert (the `upstream.failing` webhook to operator
/// endpoints) once per run of failures, whichever instance sees it first. True when raised
/// now.
pub fn raise_alert(
    conn: &mut DbConnection,
    upstream: &Upstream,
    failing: &Failing<'_>,
    now: NaiveDateTime,
) -> Result<bool, DomainError> {
    write_transaction(conn, |c| {
        let raised = diesel::update(
            upstreams::table
                .find(upstream.id)
                .filter(upstreams::failing_alerted_at.is_null()),
        )
        .set(upstreams::failing_alerted_at.eq(Some(now)))
        .execute(c)?;
        if raised == 1 {
            let data = serde_json::json!({
                "upstream": upstream.name,
                "pending": failing.pending,
                "failing_since": crate::wire::iso(failing.since),
                "last_error": failing.last_error,
                "at": crate::wire::iso(now),
            });
            emit_operator_event(c, EventType::UpstreamFailing, data, now)?;
        }
        Ok(raised == 1)
    })
}

/// Clears the alert once nothing is failing (`upstream.recovered`). True when cleared now.
pub fn clear_alert(
    conn: &mut DbConnection,
    upstream: &Upstream,
    now: NaiveDateTime,
) -> Result<bool, DomainError> {
    write_transaction(conn, |c| {
        let cleared = diesel::update(
            upstreams::table
                .find(upstream.id)
                .filter(upstreams::failing_alerted_at.is_not_null()),
        )
        .set(upstreams::failing_alerted_at.eq(None::<NaiveDateTime>))
        .execute(c)?;
        if cleared == 1 {
            let data = serde_json::json!({
                "upstream": upstream.name,
                "at": crate::wire::iso(now),
            });
            emit_operator_event(c, EventType::UpstreamRecovered, data, now)?;
        }
        Ok(cleared == 1)
    })
}

/// Operator endpoints only: no reseller has id 0, so no reseller's endpoint matches.
fn emit_operator_event(
    conn: &mut DbConnection,
    kind: EventType,
    data: serde_json::Value,
    at: NaiveDateTime,
) -> Result<(), DomainError> {
    outbox::emit(
        conn,
        outbox::Event {
            kind,
            reseller_id: 0,
            at,
            data,
        },
    )?;
    Ok(())
}

/// Every upstream with its queue's health, by name: what the CLI, the admin API and the
/// console list.
pub fn overview(
    conn: &mut DbConnection,
) -> Result<Vec<(UpstreamView, super::ops::Health)>, DomainError> {
    let mut rows = Vec::new();
    for view in list(conn)? {
        let health = super::ops::health(conn, view.upstream.id)?;
        rows.push((view, health));
    }
    Ok(rows)
}
