//! What the IP Licenses page does: add, remove (after a confirmation), note, suspend, resume,
//! move, bulk remove of ticked rows, ELS and Imunify conversion (every row that matches the
//! filter: `confirmed_removals`).
//! Each goes through the same domain call as the API, with the console user as actor.

use actix_web::http::header;
use actix_web::{web, HttpResponse, ResponseError};
use maud::html;
use serde::Deserialize;

use super::filter::ListQuery;
use super::form_pairs::Pairs;
use super::guard;
use super::page::{csrf_field, html_response, shell, ConsoleError, PageResult, Section};
use crate::auth::session::Console;
use crate::db;
use crate::db::models::Reseller;
use crate::domain::ip::LicenseIp;
use crate::domain::license_search::{self, AddressFilter, Filter, Sort};
use crate::domain::licenses::{self, Registration};
use crate::domain::roles::Permission;
use crate::domain::{ActingFor, Actor};
use crate::error::DomainError;
use crate::state::AppState;

/// Removals done per database call during a bulk remove, so that no call runs long.
const REMOVALS_PER_CALL: usize = 200;

#[derive(Deserialize)]
pub struct LicenseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ip: String,
    #[serde(default, rename = "type")]
    type_id: String,
    #[serde(default)]
    els: String,
    /// The add form's optional note (and the note form's).
    #[serde(default)]
    note: String,
    /// The list's filter, sort and rows per page, to come back to (`ListQuery::back_from`).
    #[serde(default)]
    back: String,
}

impl LicenseForm {
    /// The license the form names: its IP and type.
    fn license(&self) -> Result<(LicenseIp, i32), ConsoleError> {
        Ok((ip_of(&self.ip)?, type_of(&self.type_id)?))
    }
}

fn ip_of(text: &str) -> Result<LicenseIp, ConsoleError> {
    LicenseIp::parse(text.trim()).ok_or_else(|| {
        ConsoleError::invalid(format!(
            "{} is not an IP address",
            crate::wire::shorten(text)
        ))
    })
}

fn type_of(text: &str) -> Result<i32, ConsoleError> {
    text.trim().parse::<i32>().map_err(|_| {
        ConsoleError::invalid(format!(
            "{} is not a license type",
            crate::wire::shorten(text)
        ))
    })
}

/// Back to the list as it was (`back`), with a notice.
fn back_to_list(back: &str, notice: &str) -> HttpResponse {
    let list = ListQuery::back_from(back);
    let location = if list.is_empty() {
        format!("/console/licenses?notice={notice}")
    } else {
        format!("/console/licenses?{list}&notice={notice}")
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// An action that a rule refused is shown on the list it came from, with why (and, for an
/// add, what was typed); a refusal of the user or the form itself stays its own page.
async fn in_page(
    state: &AppState,
    who: &Console,
    back: &str,
    typed: Option<&LicenseForm>,
    done: PageResult,
) -> PageResult {
    let error = match done {
        Err(error @ ConsoleError::Failed(_)) => error,
        other => return other,
    };
    let status = error.status_code();
    let query: ListQuery = serde_urlencoded::from_str(back).unwrap_or_default();
    let failed = super::licenses::Failure {
        typed: typed.map(|form| super::licenses::Typed {
            ip: form.ip.clone(),
            type_id: form.type_id.clone(),
            note: form.note.clone(),
        }),
        error,
    };
    match super::licenses::render(state, who, query, Some(&failed)).await {
        Ok(page) => Ok(HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(page.into_string())),
        Err(_) => Err(failed.error),
    }
}

/// Runs `act` with the reseller as the domain's actor, named after the console user.
pub(super) async fn as_actor<T, F>(
    state: &AppState,
    who: &Console,
    reseller: &Reseller,
    act: F,
) -> Result<T, ConsoleError>
where
    F: FnOnce(&mut db::DbConnection, &Actor<'_>) -> Result<T, DomainError> + Send + 'static,
    T: Send + 'static,
{
    let acting = ActingFor::Reseller(reseller.clone());
    Ok(state
        .act_as(acting, who.source(), move |c, actor, _| act(c, actor))
        .await?)
}

pub async fn add(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<LicenseForm>,
) -> PageResult {
    let done = async {
        let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageLicenses)?;
        let (ip, type_id) = form.license()?;
        let request = Registration {
            note: licenses::note_text(&form.note).map_err(ConsoleError::from)?,
            ..Registration::of(ip, type_id)
        };
        state
            .register(ActingFor::Reseller(reseller.clone()), who.source(), request)
            .await?;
        Ok(back_to_list(&form.back, "added"))
    }
    .await;
    in_page(&state, &who, &form.back, Some(&form), done).await
}

/// `GET /console/licenses/remove?ip=&type=&back=`: which license a remove takes, and the
/// button that does it.
pub async fn confirm_remove(
    state: web::Data<AppState>,
    who: Console,
    form: web::Query<LicenseForm>,
) -> PageResult {
    let reseller = guard::reseller_read(&who, Permission::ManageLicenses)?.clone();
    let (ip, type_id) = form.license()?;
    let filter = Filter {
        type_id: Some(type_id),
        address: Some(AddressFilter::Exact(ip)),
        ..Filter::default()
    };
    let now = state.clock.now().naive_utc();
    let (held, names) = db::run(&state.pool, move |c| {
        let held =
            license_search::page(c, Some(reseller.id), &filter, Sort::default(), None, 1, now)?;
        Ok((held, crate::domain::catalogue::all_types(c)?))
    })
    .await?;
    let Some(license) = held.first() else {
        return Err(DomainError::not_found(format!(
            "You hold no license of type {type_id} on IP {ip}"
        ))
        .into());
    };
    let name = names
        .iter()
        .find(|t| t.id == type_id)
        .map_or(String::new(), |t| t.name.clone());
    let list = ListQuery::back_from(&form.back);
    let body = html! {
        p.warning role="alert" {
            "This removes the " strong { (name) " (" (type_id) ")" } " license of " strong.ip { (license.ip) }
            ": its server stops being licensed, and billing for it stops. It cannot be undone."
        }
        form method="post" action="/console/licenses/remove" {
            (csrf_field(&who))
            input type="hidden" name="ip" value=(license.ip);
            input type="hidden" name="type" value=(type_id);
            input type="hidden" name="back" value=(list);
            button.danger type="submit" { "Remove this license" }
            " "
            a href={"/console/licenses?" (list)} { "Cancel" }
        }
    };
    Ok(html_response(shell(
        "Remove a license",
        Some(&who),
        Section::Licenses,
        body,
    )))
}

pub async fn remove(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<LicenseForm>,
) -> PageResult {
    let done = async {
        let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageLicenses)?;
        let (ip, type_id) = form.license()?;
        let removed = as_actor(&state, &who, reseller, move |c, actor| {
            licenses::remove(c, actor, &ip, Some(type_id))
        })
        .await?;
        Ok(back_to_list(
            &form.back,
            if removed { "removed" } else { "not-held" },
        ))
    }
    .await;
    in_page(&state, &who, &form.back, None, done).await
}

pub async fn els(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<LicenseForm>,
) -> PageResult {
    let done = async {
        let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageLicenses)?;
        let (ip, type_id) = form.license()?;
        let on = form.els == "on";
        let held = as_actor(&state, &who, reseller, move |c, actor| {
            licenses::update_els(c, actor, &ip, Some(type_id), on)
        })
        .await?;
        Ok(back_to_list(
            &form.back,
            if held { "els" } else { "not-held" },
        ))
    }
    .await;
    in_page(&state, &who, &form.back, None, done).await
}

/// A row's note form: its license and the two values.
#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(flatten)]
    row: LicenseForm,
    #[serde(default)]
    external_id: String,
}

/// Saves one license's note and external id (empty clears either).
pub async fn note(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<NoteForm>,
) -> PageResult {
    let done = async {
        let reseller = guard::reseller_write(&who, &form.row.csrf, Permission::ManageServers)?;
        let (ip, type_id) = form.row.license()?;
        let change = licenses::AnnotationChange {
            note: Some(licenses::note_text(&form.row.note)?),
            external_id: Some(licenses::external_id_text(&form.external_id)?),
        };
        as_actor(&state, &who, reseller, move |c, actor| {
            licenses::annotate(c, actor, &ip, Some(type_id), &change)
        })
        .await?;
        Ok(back_to_list(&form.row.back, "noted"))
    }
    .await;
    in_page(&state, &who, &form.row.back, None, done).await
}

/// A row's suspend form: its license and the reason typed.
#[derive(Deserialize)]
pub struct SuspendForm {
    #[serde(flatten)]
    row: LicenseForm,
    #[serde(default)]
    reason: String,
}

/// Suspends one license with the reason typed in its row.
pub async fn suspend(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<SuspendForm>,
) -> PageResult {
    let done = async {
        let reseller = guard::reseller_write(&who, &form.row.csrf, Permission::ManageServers)?;
        let (ip, type_id) = form.row.license()?;
        let reason = licenses::reason_text(&form.reason)?;
        let done = as_actor(&state, &who, reseller, move |c, actor| {
            licenses::suspend(c, actor, &ip, Some(type_id), &reason, None)
        })
        .await?;
        Ok(back_to_list(
            &form.row.back,
            if done.is_empty() {
                "already-suspended"
            } else {
                "suspended"
            },
        ))
    }
    .await;
    in_page(&state, &who, &form.row.back, None, done).await
}

/// Resumes one suspended license.
pub async fn resume(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<LicenseForm>,
) -> PageResult {
    let done = async {
        let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageServers)?;
        let (ip, type_id) = form.license()?;
        let done = as_actor(&state, &who, reseller, move |c, actor| {
            licenses::resume(c, actor, &ip, Some(type_id))
        })
        .await?;
        Ok(back_to_list(
            &form.back,
            if done.is_empty() {
                "not-suspended"
            } else {
                "resumed"
            },
        ))
    }
    .await;
    in_page(&state, &who, &form.back, None, done).await
}

/// A row's move form: its license and the new IP typed.
#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(flatten)]
    row: LicenseForm,
    #[serde(default)]
    new_ip: String,
}

/// Moves one license to the IP typed in its row.
pub async fn move_license(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<MoveForm>,
) -> PageResult {
    let done = async {
        let reseller = guard::reseller_write(&who, &form.row.csrf, Permission::ManageServers)?;
        let (from, type_id) = form.row.license()?;
        let to = ip_of(&form.new_ip)?;
        let acting = ActingFor::Reseller(reseller.clone());
        state
            .act_as(acting, who.source(), move |c, actor, policy| {
                licenses::move_licenses(c, actor, policy, &from, &to, Some(type_id))
            })
            .await?;
        Ok(back_to_list(&form.row.back, "moved"))
    }
    .await;
    in_page(&state, &who, &form.row.back, None, done).await
}

#[derive(Deserialize)]
pub struct ConvertForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ip: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    back: String,
}

pub async fn convert(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<ConvertForm>,
) -> PageResult {
    let done = async {
        let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageLicenses)?;
        let ip = ip_of(&form.ip)?;
        let (from, to) = (type_of(&form.from)?, type_of(&form.to)?);
        let done = as_actor(&state, &who, reseller, move |c, actor| {
            licenses::convert(c, actor, &ip, from, to)
        })
        .await?;
        Ok(back_to_list(
            &form.back,
            if done { "converted" } else { "not-converted" },
        ))
    }
    .await;
    in_page(&state, &who, &form.back, None, done).await
}

/// Removes each (ip, type) pair, a bounded number per database call. Returns how many
/// licenses were removed (a pair already gone counts as nothing).
async fn remove_all(
    state: &AppState,
    who: &Console,
    reseller: &Reseller,
    pairs: Vec<(LicenseIp, i32)>,
) -> Result<usize, ConsoleError> {
    let mut removed = 0;
    for chunk in pairs.chunks(REMOVALS_PER_CALL) {
        let chunk = chunk.to_vec();
        removed += as_actor(state, who, reseller, move |c, actor| {
            let mut n = 0;
            for (ip, type_id) in &chunk {
                if licenses::remove(c, actor, ip, Some(*type_id))? {
                    n += 1;
                }
            }
            Ok(n)
        })
        .await?;
    }
    Ok(removed)
}

/// The ticked rows (`pick=IP|TYPE`, repeated: read as pairs, as serde's structs cannot hold
/// a repeated key).
pub async fn bulk_remove(state: web::Data<AppState>, who: Console, body: web::Bytes) -> PageResult {
    let fields = Pairs::parse(&body)?;
    let reseller =
        guard::reseller_write(&who, fields.get("csrf"), Permission::ManageLicenses)?.clone();
    let mut pairs = Vec::new();
    for pick in fields.all("pick") {
        let (ip, type_id) = pick
            .split_once('|')
            .ok_or_else(|| ConsoleError::invalid("unreadable selection"))?;
        pairs.push((ip_of(ip)?, type_of(type_id)?));
    }
    if pairs.is_empty() {
        return Ok(back_to_list(fields.get("back"), "nothing"));
    }
    let picked = pairs.len();
    let removed = remove_all(&state, &who, &reseller, pairs).await?;
    Ok(back_to_list(
        fields.get("back"),
        match removed {
            0 => "removed-none",
            n if n < picked => "removed-part",
            _ => "removed-some",
        },
    ))
}
