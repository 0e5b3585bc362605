//! CSV export of the IP Licenses page's current filter, streamed a page at a time, so that
//! 100,000 rows cost one page of memory.

use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use futures_util::stream;

use super::filter::ListQuery;
use super::guard;
use super::page::PageResult;
use crate::auth::session::Console;
use crate::db;
use crate::db::models::License;
use crate::domain::license_search::{self, After, Filter, Sort};
use crate::domain::roles::Permission;
use crate::state::AppState;

const ROWS_PER_FETCH: i64 = 2_000;
const HEADER: &str = "ip,type,hostname,added,last_checkin,els_allowed,external_id,note\r\n";

/// One CSV field: quoted when it holds a separator, quote or line break; a leading `=`,
/// `+`, `-` or `@` (a formula to a spreadsheet) is neutralised with a `'`, since the
/// hostname comes from whatever a server sent at check-in.
pub fn field(text: &str, out: &mut String) {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&guarded.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&guarded);
    }
}

fn write_row(license: &License, out: &mut String) {
    field(&license.ip, out);
    out.push(',');
    out.push_str(&license.type_id.to_string());
    out.push(',');
    field(license.server_info.as_deref().unwrap_or(""), out);
    out.push(',');
    out.push_str(&license.created_at.format("%Y-%m-%d %H:%M:%S").to_string());
    out.push(',');
    if let Some(at) = license.last_checkin {
        out.push_str(&at.format("%Y-%m-%d %H:%M:%S").to_string());
    }
    out.push(',');
    out.push_str(if license.els_allowed { "true" } else { "false" });
    out.push(',');
    field(license.external_id.as_deref().unwrap_or(""), out);
    out.push(',');
    field(license.note.as_deref().unwrap_or(""), out);
    out.push_str("\r\n");
}

struct Cursor {
    state: AppState,
    reseller_id: i64,
    filter: Filter,
    sort: Sort,
    after: Option<After>,
    done: bool,
}

pub async fn csv(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<ListQuery>,
) -> PageResult {
    let reseller = guard::reseller_read(&who, Permission::ViewLicenses)?;
    let filter = query.filter()?;
    let start = Cursor {
        state: state.get_ref().clone(),
        reseller_id: reseller.id,
        filter,
        sort: query.sort(),
        after: None,
        done: false,
    };
    let body = stream::unfold(start, |mut cursor| async move {
        if cursor.done {
            return None;
        }
        let now = cursor.state.clock.now().naive_utc();
        let (id, filter, sort, after) = (
            cursor.reseller_id,
            cursor.filter.clone(),
            cursor.sort,
            cursor.after.clone(),
        );
        // Fetched outside the request's task: the lane is named.
        let page = db::run(&cursor.state.pool.lane(db::Lane::Reads), move |c| {
            license_search::page(
                c,
                Some(id),
                &filter,
                sort,
                after.as_ref(),
                ROWS_PER_FETCH,
                now,
            )
        })
        .await;
        match page {
            Ok(rows) => {
                cursor.done = (rows.len() as i64) < ROWS_PER_FETCH;
                cursor.after = rows.last().map(|l| After::of(l, cursor.sort));
                let mut text = String::with_capacity(rows.len() * 80);
                for license in &rows {
                    write_row(license, &mut text);
                }
                Some((Ok::<_, actix_web::Error>(Bytes::from(text)), cursor))
            }
            Err(e) => {
                // The status line is gone: a failure can only end the body early, which
                // the client sees as a broken transfer; the cause goes to the log.
                log::error!("CSV export for reseller {id} cut short: {e}");
                cursor.done = true;
                Some((
                    Err(actix_web::error::ErrorServiceUnavailable(e.to_string())),
                    cursor,
                ))
            }
        }
    });
    let head =
        stream::once(async { Ok::<_, actix_web::Error>(Bytes::from_static(HEADER.as_bytes())) });
    use futures_util::StreamExt;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"licenses-{}.csv\"", reseller.login),
        ))
        .streaming(head.chain(body)))
}

#[cfg(test)]
mod tests {
    use super::field;

    fn one(text: &str) -> String {
        let mut out = String::new();
        field(text, &mut out);
        out
    }

    #[test]
    fn fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(one("plain"), "plain");
        assert_eq!(one("a,b"), "\"a,b\"");
        assert_eq!(one("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(one("=cmd()"), "'=cmd()");
        assert_eq!(one("-1,2"), "\"'-1,2\"");
    }
}
