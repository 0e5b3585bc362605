//! The CLN JSON envelope (contract §2): exactly `success`, `message`, `type`, `data`.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use chrono::{Datelike, NaiveDateTime, Timelike};
use serde::Serialize;

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    success: bool,
    message: Option<&'a str>,
    /// Always null; CLN sends it and clients expect the key.
    #[serde(rename = "type")]
    kind: Option<()>,
    data: T,
}

/// `{"success":true,"message":null,"type":null,"data":DATA}`, HTTP 200.
pub fn success<T: Serialize>(data: T) -> HttpResponse {
    respond(StatusCode::OK, true, None, data)
}

/// `{"success":false,"message":MESSAGE,"type":null,"data":null}` with the given status.
pub fn failure(status: StatusCode, message: &str) -> HttpResponse {
    respond(status, false, Some(message), ())
}

pub fn respond<T: Serialize>(
    status: StatusCode,
    ok: bool,
    message: Option<&str>,
    data: T,
) -> HttpResponse {
    let body = serde_json::to_vec(&Envelope {
        success: ok,
        message,
        kind: None,
        data,
    });
    match body {
        Ok(bytes) => HttpResponse::build(status)
            .content_type("application/json")
            .body(bytes),
        Err(e) => {
            log::error!("cannot serialise a response: {e}");
            HttpResponse::InternalServerError()
                .content_type("application/json")
                .body(INTERNAL_ERROR_BODY)
        }
    }
}

const INTERNAL_ERROR_BODY: &str =
    r#"{"success":false,"message":"Unexpected server error","type":null,"data":null}"#;

/// The opening of a streamed success envelope; the rows and `]}` follow.
pub const STREAM_HEAD: &str = r#"{"success":true,"message":null,"type":null,"data":["#;
pub const STREAM_TAIL: &str = "]}";

/// CLN's date format: minutes precision with a numeric offset, e.g. `2026-11-28T21:05+0000`.
/// Stored times are UTC, so the offset is always +0000.
pub fn format_date(at: NaiveDateTime) -> String {
    // Written field by field: chrono's strftime re-parses its pattern on every call, which
    // shows in list.json at 100,000 rows.
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}+0000",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;
    use chrono::NaiveDate;

    #[test]
    fn date_format_is_minutes_with_offset() {
        let at = NaiveDate::from_ymd_opt(2026, 1, 2)
            .unwrap()
            .and_hms_opt(3, 4, 59)
            .unwrap();
        assert_eq!(format_date(at), "2026-01-02T03:04+0000");
    }

    #[test]
    fn envelope_has_exactly_four_keys_in_order() {
        let body = success(vec![1, 2]).into_body().try_into_bytes().unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"success":true,"message":null,"type":null,"data":[1,2]}"#
        );
        let body = failure(StatusCode::OK, "no")
            .into_body()
            .try_into_bytes()
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"success":false,"message":"no","type":null,"data":null}"#
        );
    }
}
