//! What the Keys pages do: create, change limit and note, set IP ranges, delete, remove a
//! server. Each goes through the same domain call as the CLN key API, with the console user
//! as actor.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::guard;
use super::license_actions::as_actor;
use super::page::{ConsoleError, PageResult};
use crate::auth::session::Console;
use crate::domain::keys::manage::{self, KeyChange};
use crate::domain::keys::servers::{self, Remover};
use crate::domain::keys::{cidr, sticky, Product};
use crate::domain::roles::Permission;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, rename = "type")]
    type_id: String,
    #[serde(default)]
    limit: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    cidr: String,
    #[serde(default)]
    server_id: String,
    #[serde(default)]
    sticky_tag: String,
}

fn refused(message: String) -> ConsoleError {
    ConsoleError::invalid(message)
}

fn limit_of(text: &str) -> Result<i32, ConsoleError> {
    text.trim().parse::<i32>().map_err(|_| {
        refused(format!(
            "{} is not a number of servers",
            crate::wire::shorten(text)
        ))
    })
}

fn to(location: String) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

fn to_key(key: &str, notice: &str) -> HttpResponse {
    to(format!("/console/keys/{key}?notice={notice}"))
}

pub async fn create(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<KeyForm>,
) -> PageResult {
    let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageLicenses)?;
    let type_id: i32 = form
        .type_id
        .trim()
        .parse()
        .map_err(|_| refused("choose a product".into()))?;
    let limit = limit_of(&form.limit)?;
    let note = form.note.clone();
    let key = as_actor(&state, &who, reseller, move |c, actor| {
        manage::create(c, actor, type_id, limit, &note)
    })
    .await?;
    let slug = Product::of_type(key.type_id).map_or("kcare", Product::slug);
    Ok(to(format!("/console/keys?product={slug}&notice=created")))
}

pub async fn update(
    state: web::Data<AppState>,
    who: Console,
    key: web::Path<String>,
    form: web::Form<KeyForm>,
) -> PageResult {
    let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageLicenses)?;
    let change = KeyChange {
        limit: Some(limit_of(&form.limit)?),
        note: Some(form.note.clone()),
        ..KeyChange::default()
    };
    let key = key.into_inner();
    let shown = key.clone();
    as_actor(&state, &who, reseller, move |c, actor| {
        manage::update(c, actor, None, &key, &change)
    })
    .await?
    .ok_or(ConsoleError::NotFound)?;
    Ok(to_key(&shown, "updated"))
}

pub async fn ranges(
    state: web::Data<AppState>,
    who: Console,
    key: web::Path<String>,
    form: web::Form<KeyForm>,
) -> PageResult {
    let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageLicenses)?;
    let blocks = cidr::parse(&form.cidr).map_err(|r| refused(r.message))?;
    let key = key.into_inner();
    let shown = key.clone();
    as_actor(&state, &who, reseller, move |c, actor| {
        manage::set_ranges(c, actor, Some(Product::KernelCare), &key, &blocks)
    })
    .await?
    .ok_or(ConsoleError::NotFound)?;
    Ok(to_key(&shown, "ranges"))
}

pub async fn delete(
    state: web::Data<AppState>,
    who: Console,
    key: web::Path<String>,
    form: web::Form<KeyForm>,
) -> PageResult {
    let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageLicenses)?;
    let key = key.into_inner();
    let removed = as_actor(&state, &who, reseller, move |c, actor| {
        manage::delete(c, actor, None, &key)
    })
    .await?
    .ok_or(ConsoleError::NotFound)?;
    log::debug!("console: deleted a key with {} server(s)", removed.len());
    Ok(to("/console/keys?notice=deleted".into()))
}

pub async fn remove_server(
    state: web::Data<AppState>,
    who: Console,
    key: web::Path<String>,
    form: web::Form<KeyForm>,
) -> PageResult {
    let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageServers)?;
    let server_id = form.server_id.clone();
    as_actor(&state, &who, reseller, move |c, actor| {
        servers::remove(c, None, &server_id, &Remover::Reseller(actor))
    })
    .await?
    .ok_or(ConsoleError::NotFound)?;
    Ok(to_key(&key.into_inner(), "server-removed"))
}

/// `POST /console/keys/{key}/sticky`: a KernelCare key's sticky tag (empty clears it).
pub async fn sticky_tag(
    state: web::Data<AppState>,
    who: Console,
    key: web::Path<String>,
    form: web::Form<KeyForm>,
) -> PageResult {
    let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageLicenses)?;
    let today = state.clock.now().date_naive();
    let tag = match form.sticky_tag.trim() {
        "" => None,
        text => Some(sticky::parse(text, today).map_err(ConsoleError::from)?),
    };
    let key = key.into_inner();
    let shown = key.clone();
    as_actor(&state, &who, reseller, move |c, actor| {
        sticky::set(c, actor, &key, tag)
    })
    .await?
    .ok_or(ConsoleError::NotFound)?;
    Ok(to_key(&shown, "sticky"))
}
