//! The CLN JSON envelope (contract §2): exactly `success`, `message`, `type`, `data`.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
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

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

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
