//! The append-only license history: every change to a license writes one row, inside the
//! change's own transaction. The database refuses UPDATE and DELETE on it (triggers).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use serde_json::json;

use super::webhooks::{outbox, EventType};
use super::Actor;
use crate::db::models::{LicenseEvent, NewLicenseEvent};
use crate::db::schema::license_events;
use crate::db::DbConnection;
use crate::error::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Register,
    Remove,
    Convert,
    Update,
    Checkin,
    /// A trial that ran out was cleared to make room for a new registration.
    Expire,
    /// The license moved to a new IP (`ip`); `detail` is `from=OLD_IP`, plus `;trial` for a
    /// trial license.
    Move,
    /// Suspended (`detail` `reason=...`), or resumed: the license stays, its usage days
    /// count apart while suspended.
    Suspend,
    Resume,
    /// Its note or external id changed; `detail` is `changed=note,external_id` (those that
    /// did), the webhook event (`license.updated`) carries the new values.
    Note,
    /// Activation keys (`record_key`): a key made, deleted, or its limit or ranges changed.
    KeyCreate,
    KeyDelete,
    KeyUpdate,
    /// A server registered with a key, or left it (removed, unregistered, its key deleted,
    /// or moved to another key).
    KeyRegister,
    KeyRemove,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Register => "register",
            Action::Remove => "remove",
            Action::Convert => "convert",
            Action::Update => "update",
            Action::Checkin => "checkin",
            Action::Expire => "expire",
            Action::Move => "move",
            Action::Note => "note",
            Action::Suspend => "suspend",
            Action::Resume => "resume",
            Action::KeyCreate => "key_create",
            Action::KeyDelete => "key_delete",
            Action::KeyUpdate => "key_update",
            Action::KeyRegister => "key_register",
            Action::KeyRemove => "key_remove",
        }
    }

    fn event_type(self) -> EventType {
        match self {
            Action::Register => EventType::LicenseRegistered,
            Action::Remove => EventType::LicenseRemoved,
            Action::Convert => EventType::LicenseConverted,
            Action::Update => EventType::LicenseUpdated,
            Action::Checkin => EventType::LicenseCheckedIn,
            Action::Expire => EventType::LicenseExpired,
            Action::Move => EventType::LicenseMoved,
            Action::Note => EventType::LicenseUpdated,
            Action::Suspend => EventType::LicenseSuspended,
            Action::Resume => EventType::LicenseResumed,
            Action::KeyCreate => EventType::KeyCreated,
            Action::KeyDelete => EventType::KeyDeleted,
            Action::KeyUpdate => EventType::KeyUpdated,
            Action::KeyRegister => EventType::KeyServerRegistered,
            Action::KeyRemove => EventType::KeyServerRemoved,
        }
    }
}

/// `detail` of a register event for a trial license (usage reports leave trials unbilled).
pub const TRIAL_DETAIL: &str = "trial";

/// Whose license, when, and from where.
#[derive(Debug, Clone, Copy)]
pub struct EventContext<'a> {
    pub at: NaiveDateTime,
    pub reseller_id: i64,
    /// The reseller's login, for webhook payloads.
    pub login: &'a str,
    pub source: &'a str,
}

impl<'a> From<&Actor<'a>> for EventContext<'a> {
    fn from(actor: &Actor<'a>) -> Self {
        Self {
            at: actor.now,
            reseller_id: actor.reseller.id,
            login: &actor.reseller.login,
            source: actor.source,
        }
    }
}

/// Writes the history row and queues the matching webhook event, in the caller's transaction.
pub fn record(
    conn: &mut DbConnection,
    context: EventContext<'_>,
    action: Action,
    ip: &str,
    type_id: i32,
    detail: Option<String>,
) -> Result<(), DomainError> {
    record_with(
        conn,
        context,
        action,
        ip,
        type_id,
        detail,
        serde_json::Map::new(),
    )
}

/// `record`, with `extra` fields in the webhook event's `data` (values the history's detail
/// does not hold, such as a note's text).
pub fn record_with(
    conn: &mut DbConnection,
    context: EventContext<'_>,
    action: Action,
    ip: &str,
    type_id: i32,
    detail: Option<String>,
    extra: serde_json::Map<String, serde_json::Value>,
) -> Result<(), DomainError> {
    let mut event = webhook_event(&context, action, ip, type_id, detail.as_deref());
    for (name, value) in extra {
        event.data[name] = value;
    }
    let queued = outbox::Queued::new(event)?;
    outbox::emit_queued(conn, &queued)?;
    diesel::insert_into(license_events::table)
        .values(NewLicenseEvent {
            at: context.at,
            reseller_id: Some(context.reseller_id),
            action: action.as_str(),
            ip,
            type_id: Some(type_id),
            detail,
            source: Some(context.source),
            server_id: None,
        })
        .execute(conn)?;
    Ok(())
}

/// What a key event is about: the key, and for server events the server and its address.
#[derive(Debug, Clone, Copy)]
pub struct KeySubject<'a> {
    pub key: &'a str,
    pub type_id: i32,
    /// (server id, address) for KeyRegister and KeyRemove.
    pub server: Option<(&'a str, &'a str)>,
}

/// Writes a key's history row (`ip` is the server's address, empty for the key's own events;
/// `detail` starts with `key=KEY`) and queues its webhook event, in the caller's transaction.
pub fn record_key(
    conn: &mut DbConnection,
    context: EventContext<'_>,
    action: Action,
    subject: KeySubject<'_>,
    extra: Option<&str>,
) -> Result<(), DomainError> {
    let (server_id, ip) = subject.server.unzip();
    let mut data = json!({
        "key": subject.key,
        "type": subject.type_id,
        "reseller": context.login,
        "reseller_id": context.reseller_id,
        "source": context.source,
        "at": crate::wire::iso(context.at),
    });
    if let Some((server_id, ip)) = subject.server {
        data["server_id"] = json!(server_id);
        data["ip"] = json!(ip);
    }
    if let Some(extra) = extra {
        for (name, value) in extra.split(' ').filter_map(|p| p.split_once('=')) {
            data[name] = value.parse::<i64>().map_or(json!(value), |n| json!(n));
        }
    }
    let queued = outbox::Queued::new(outbox::Event {
        kind: action.event_type(),
        reseller_id: context.reseller_id,
        at: context.at,
        data,
    })?;
    outbox::emit_queued(conn, &queued)?;
    let detail = match extra {
        Some(extra) => format!("key={} {extra}", subject.key),
        None => format!("key={}", subject.key),
    };
    diesel::insert_into(license_events::table)
        .values(NewLicenseEvent {
            at: context.at,
            reseller_id: Some(context.reseller_id),
            action: action.as_str(),
            ip: ip.unwrap_or(""),
            type_id: Some(subject.type_id),
            detail: Some(detail),
            source: Some(context.source),
            server_id,
        })
        .execute(conn)?;
    Ok(())
}

/// The webhook event reporting a history row: its type follows the action, and `data` names
/// the license, the reseller and the source, with what the detail says in fields of its own.
fn webhook_event(
    context: &EventContext<'_>,
    action: Action,
    ip: &str,
    type_id: i32,
    detail: Option<&str>,
) -> outbox::Event {
    let kind = action.event_type();
    let mut data = json!({
        "ip": ip,
        "type": type_id,
        "reseller": context.login,
        "reseller_id": context.reseller_id,
        "source": context.source,
        "at": crate::wire::iso(context.at),
    });
    let parsed = detail.and_then(|d| d.split_once('='));
    match (action, parsed) {
        (Action::Convert, Some(("from", from))) => {
            data["from_type"] = from.parse::<i32>().map_or(json!(from), |n| json!(n));
        }
        (Action::Update, Some(("els_allowed", value))) => {
            data["els_allowed"] = json!(value == "true");
        }
        (Action::Register, _) => data["trial"] = json!(detail == Some(TRIAL_DETAIL)),
        (Action::Move, Some(("from", from))) => {
            let suffix = crate::domain::licenses::MOVED_TRIAL_SUFFIX;
            data["from_ip"] = json!(from.trim_end_matches(suffix));
            data["trial"] = json!(from.ends_with(suffix));
        }
        _ => {}
    }
    outbox::Event {
        kind,
        reseller_id: context.reseller_id,
        at: context.at,
        data,
    }
}

/// Filters for the audit view; None means any.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub reseller_id: Option<i64>,
    pub ip: Option<String>,
    pub since: Option<NaiveDateTime>,
    /// Only events older than this id (the next page, newest first).
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// Events matching the filter, oldest first (the newest `limit` of them).
pub fn audit(
    conn: &mut DbConnection,
    filter: &AuditFilter,
) -> Result<Vec<LicenseEvent>, DomainError> {
    let mut query = license_events::table
        .select(LicenseEvent::as_select())
        .order(license_events::id.desc())
        .limit(filter.limit)
        .into_boxed();
    if let Some(id) = filter.reseller_id {
        query = query.filter(license_events::reseller_id.eq(id));
    }
    if let Some(ip) = &filter.ip {
        query = query.filter(license_events::ip.eq(ip.clone()));
    }
    if let Some(since) = filter.since {
        query = query.filter(license_events::at.ge(since));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(license_events::id.lt(before));
    }
    let mut events = query.load(conn)?;
    events.reverse();
    Ok(events)
}
