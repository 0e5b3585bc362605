//! Streaming a reseller's licenses page by page (list.json, v2 licenses, XML-RPC reconcile),
//! so that a reseller with 100,000+ licenses costs the server one page of memory, not the
//! whole list.

use actix_web::web::Bytes;
use actix_web::HttpResponse;
use futures_util::stream::{self, StreamExt};

use super::error::{ApiError, ApiResult};
use crate::db;
use crate::db::models::License;
use crate::domain::queries::{license_page, ListCursor};
use crate::state::AppState;

/// How a license becomes one row of the list.
pub type RowWriter = fn(&License, &mut Vec<u8>) -> Result<(), String>;

/// The shape of a streamed list: what opens it, separates rows, and closes it.
pub struct ListFormat {
    pub content_type: &'static str,
    pub head: &'static str,
    pub separator: &'static str,
    pub tail: &'static str,
    pub write_row: RowWriter,
}

/// Answers with every license of `reseller_id` in (ip, type) order. The first page is read
/// before the answer starts, so that a database failure still gets a proper envelope;
/// later pages are fetched as the client reads. A failure after the start can only cut the
/// body short (the status line is gone): it is logged and the document stays unterminated,
/// so a client never mistakes a partial list for a whole one.
pub async fn stream_licenses(
    state: &AppState,
    reseller_id: i64,
    format: &'static ListFormat,
) -> ApiResult {
    let page_size = state.config.list_page_size;
    let first = fetch(state, reseller_id, None).await?;
    let mut head = format.head.as_bytes().to_vec();
    let next = encode_page(&first, true, page_size, format, &mut head)?;
    let Some(cursor) = next else {
        return Ok(response(format).body(head));
    };
    let state = state.clone();
    let rest = stream::unfold(Some(cursor), move |cursor| {
        let state = state.clone();
        async move {
            let cursor = cursor?;
            let chunk = match fetch(&state, reseller_id, Some(cursor)).await {
                Ok(page) => {
                    let mut buf = Vec::new();
                    encode_page(&page, false, page_size, format, &mut buf).map(|next| (buf, next))
                }
                Err(e) => Err(e),
            };
            Some(match chunk {
                Ok((buf, next)) => (Ok(Bytes::from(buf)), next),
                Err(e) => {
                    log::error!("list stream for reseller {reseller_id} cut short: {e}");
                    (
                        Err(actix_web::error::ErrorInternalServerError("list cut short")),
                        None,
                    )
                }
            })
        }
    });
    let body =
        stream::once(async move { Ok::<_, actix_web::Error>(Bytes::from(head)) }).chain(rest);
    Ok(response(format).streaming(body))
}

fn response(format: &ListFormat) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::Ok();
    builder.content_type(format.content_type);
    builder
}

async fn fetch(
    state: &AppState,
    reseller_id: i64,
    after: Option<ListCursor>,
) -> Result<Vec<License>, ApiError> {
    let page_size = state.config.list_page_size;
    let now = state.clock.now().naive_utc();
    // The stream's later pages are fetched outside the request's task: the lane is named.
    Ok(db::run(&state.pool.lane(db::Lane::Reads), move |c| {
        license_page(c, reseller_id, after.as_ref(), page_size, now)
    })
    .await?)
}

/// Appends the page's rows (separated; a leading separator unless `first`). Returns the
/// cursor of the next page, or None after writing the tail of the last one.
fn encode_page(
    page: &[License],
    first: bool,
    page_size: i64,
    format: &ListFormat,
    out: &mut Vec<u8>,
) -> Result<Option<ListCursor>, ApiError> {
    for (i, license) in page.iter().enumerate() {
        if i > 0 || !first {
            out.extend_from_slice(format.separator.as_bytes());
        }
        (format.write_row)(license, out)
            .map_err(|e| ApiError::from(crate::error::DomainError::Internal(e)))?;
    }
    let full = i64::try_from(page.len()).unwrap_or(i64::MAX) >= page_size;
    match page.last() {
        Some(last) if full => Ok(Some(ListCursor {
            ip: last.ip.clone(),
            type_id: last.type_id,
        })),
        _ => {
            out.extend_from_slice(format.tail.as_bytes());
            Ok(None)
        }
    }
}
