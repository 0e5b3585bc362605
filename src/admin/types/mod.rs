//! The admin API's value types: each parses and checks a request's text or JSON value
//! (serde), and describes exactly what it accepts in the OpenAPI document (utoipa), so the
//! document and the server cannot disagree. A value a type refuses is a 400 naming it.

use chrono::NaiveDateTime;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::ip::LicenseIp;
use crate::domain::keys::products::{parse_product_code, product_codes};
use crate::domain::license_search::AddressFilter;
use crate::domain::month::Month;
use crate::domain::webhooks::EventType;
use crate::wire::patterns;

fn text(pattern: &str, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
}

/// Reads a string, then `parse`s it, naming `what` when it is refused.
fn parsed<'de, D, T>(d: D, what: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let text = String::deserialize(d)?;
    parse(&text)
        .ok_or_else(|| de::Error::custom(format!("{what} (got {})", crate::wire::shorten(&text))))
}

/// Whether `text` matches the pattern `schema` documents (if any): the document's pattern is
/// the server's rule too. Patterns are compiled once per type.
fn matches_documented(
    schema: &RefOr<Schema>,
    cache: &std::sync::OnceLock<Option<Result<regex::Regex, regex::Error>>>,
    text: &str,
) -> bool {
    let compiled = cache.get_or_init(|| match schema {
        RefOr::T(Schema::Object(object)) => object.pattern.as_deref().map(regex::Regex::new),
        _ => None,
    });
    match compiled {
        None => true,
        Some(Ok(re)) => re.is_match(text),
        // A pattern Rust cannot read accepts nothing (a test compiles every one).
        Some(Err(e)) => {
            log::error!("a documented pattern does not compile: {e}");
            false
        }
    }
}

/// Declares a newtype read from text, with its schema; a value must match the schema's
/// pattern and then parse.
macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident($inner:ty), $what:expr, $parse:expr, $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub $inner);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                parsed(d, $what, |t| $name::parse(t).ok().map(|v| v.0))
                    .map($name)
            }
        }

        impl $name {
            /// The value, or why `text` is not one.
            pub fn parse(text: &str) -> Result<Self, String> {
                static PATTERN: std::sync::OnceLock<
                    Option<Result<regex::Regex, regex::Error>>,
                > = std::sync::OnceLock::new();
                if !matches_documented(&<$name as PartialSchema>::schema(), &PATTERN, text) {
                    return Err($what.to_string());
                }
                ($parse)(text).map($name).ok_or_else(|| $what.to_string())
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema.into()
            }
        }

        impl ToSchema for $name {}
    };
}

text_value!(
    /// An `Idempotency-Key` header: 1 to 255 visible ASCII characters (spaces inside).
    IdempotencyKey(String),
    "Idempotency-Key has 1 to 255 visible ASCII characters",
    |t: &str| {
        let ok = !t.is_empty()
            && t.len() <= 255
            && t.bytes().all(|b| (0x20..=0x7e).contains(&b))
            && !t.starts_with(' ')
            && !t.ends_with(' ');
        ok.then(|| t.to_string())
    },
    text(
        r"^[!-~]([ -~]{0,253}[!-~])?$",
        "Repeats of the request with this key replay the first answer (kept 24 hours)"
    )
);

text_value!(
    /// A reseller's login.
    Login(String),
    "a login has 1 to 64 letters, digits, '.', '_', '@' or '-'",
    |t: &str| crate::domain::resellers::validate_login(t).ok().map(|()| t.to_string()),
    text(patterns::LOGIN, "A reseller's login")
);

text_value!(
    /// An e-mail address (`domain::users::normalize_email`'s rule), as sent.
    EmailAddress(String),
    "not an e-mail address (name@example.com)",
    |t: &str| crate::domain::users::normalize_email(t).ok().map(|_| t.to_string()),
    text(patterns::EMAIL, "An e-mail address").max_length(Some(crate::domain::users::MAX_EMAIL))
);

text_value!(
    /// An address or a CIDR block, as sent (the domain stores it in canonical form).
    BlockValue(String),
    "not an IP address or CIDR block",
    |t: &str| matches!(crate::net::cidr_list("", Some(t.to_string())).as_deref(), Ok([_]))
        .then(|| t.to_string()),
    text(&patterns::ip_or_block(), "An IP address or a CIDR block")
);

text_value!(
    /// Why a reseller is blocked: 1 to 500 characters, not only spaces, no NUL.
    BlockReason(String),
    "a block reason has 1 to 500 characters, not only spaces, and no NUL",
    |t: &str| crate::domain::resellers::block_reason(t).ok().map(|_| t.to_string()),
    text(patterns::BLOCK_REASON, "Shown to the reseller with every refused change")
        .min_length(Some(1))
        .max_length(Some(crate::domain::resellers::MAX_BLOCK_REASON_CHARS))
);

text_value!(
    /// Free text without NUL (Postgres cannot store one).
    Text(String),
    "text must not contain NUL (\\0) characters",
    |t: &str| (!t.contains('\0')).then(|| t.to_string()),
    text(patterns::NO_NUL, "Text without NUL characters")
);

text_value!(
    /// A webhook endpoint's URL: http(s), a host name or address, a port, a path.
    WebhookUrl(String),
    "a webhook URL is http:// or https://, a host, an optional port and path",
    |t: &str| crate::webhooks::target::parse(t).ok().map(|_| t.to_string()),
    text(&patterns::webhook_url(), "http:// or https://; its host must resolve to public addresses only")
        .max_length(Some(crate::domain::webhooks::endpoints::MAX_URL_LEN))
);

text_value!(
    /// An event type's name, or `*` for every event.
    EventName(String),
    "an event type (license.registered, ...) or *",
    |t: &str| (t == "*" || EventType::parse(t).is_some()).then(|| t.to_string()),
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(std::iter::once("*").chain(EventType::ALL.map(EventType::as_str))))
);

text_value!(
    /// A license type's number, in a query.
    TypeText(i32),
    "type is a license type number",
    |t: &str| t.parse::<i32>().ok().filter(|n| *n >= 0),
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .maximum(Some(i32::MAX))
);

text_value!(
    /// `YYYY-MM`.
    MonthValue(Month),
    "a month is YYYY-MM",
    Month::parse,
    text(patterns::MONTH, "YYYY-MM")
);

text_value!(
    /// An IPv4 or IPv6 address.
    IpValue(LicenseIp),
    "not an IP address",
    LicenseIp::parse,
    text(&patterns::ip(), "An IPv4 or IPv6 address")
);

text_value!(
    /// An address or a CIDR block.
    AddressValue(AddressFilter),
    "not an IP address or CIDR block",
    |t: &str| AddressFilter::parse(t).ok(),
    text(&patterns::ip_or_block(), "An IP address or a CIDR block")
);

text_value!(
    /// `kcare` or an Imunify code, as a license type.
    ProductValue(i32),
    "product is kcare or an Imunify code (AVP, 360_1, 360_5, 360_30, 360_250, 360_UN, CLEAN)",
    parse_product_code,
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(product_codes()))
        .description(Some("`kcare` or an Imunify code"))
);

text_value!(
    /// A date (`2026-11-01`, from midnight UTC) or an RFC 3339 time.
    Since(NaiveDateTime),
    "a date (YYYY-MM-DD) or an RFC 3339 time",
    parse_since,
    AnyOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))))
        .item(ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))))
        .description(Some("A date (from midnight UTC) or an RFC 3339 time"))
);

fn parse_since(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(day.and_time(chrono::NaiveTime::MIN));
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.naive_utc())
}

mod numbers;
pub mod upstream;

pub use numbers::{
    Cents, Concurrency, IdCursor, LicenseLimit, PageSize, Rate, ServerLimit, TypeNumber,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_values_parse_and_others_do_not() {
        assert!(Login::parse("acme.example@x-1").is_ok());
        assert!(Login::parse("").is_err());
        assert!(Login::parse("a b").is_err());
        assert!(MonthValue::parse("2026-12").is_ok());
        assert!(MonthValue::parse("2026-13").is_err());
        assert!(IpValue::parse("2001:db8::1").is_ok());
        assert!(
            IpValue::parse("01.2.3.4").is_err(),
            "the pattern refuses leading zeros"
        );
        assert!(BlockValue::parse("10.0.0.0/8").is_ok());
        assert!(BlockValue::parse("10.0.0.0/33").is_err());
        assert!(BlockReason::parse("unpaid").is_ok());
        assert!(BlockReason::parse(" \t ").is_err());
        assert!(BlockReason::parse(&"x".repeat(501)).is_err());
        assert!(BlockReason::parse(&format!(" {}", "x".repeat(499))).is_ok());
        assert!(Text::parse("a\0b").is_err());
        assert!(WebhookUrl::parse("https://hooks.example.com/ipls").is_ok());
        assert!(WebhookUrl::parse("http://250.112.250.181:15/4Ex3Az/*").is_err());
        assert!(WebhookUrl::parse("ftp://example.com/").is_err());
        assert!(EventName::parse("*").is_ok());
        assert!(EventName::parse("license.registered").is_ok());
        assert!(EventName::parse("license.nope").is_err());
        assert!(ProductValue::parse("360_UN").is_ok());
        assert!(
            ProductValue::parse("kernelcare").is_err(),
            "only the documented names"
        );
        assert!(IdempotencyKey::parse("order-17").is_ok());
        assert!(IdempotencyKey::parse(" x").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(TypeText::parse("16").is_ok());
        assert!(TypeText::parse("-1").is_err());
    }

    /// Every pattern a type documents compiles in Rust too (one that does not would accept
    /// nothing).
    #[test]
    fn every_documented_pattern_compiles() {
        let schemas = [
            Login::schema(),
            MonthValue::schema(),
            IpValue::schema(),
            AddressValue::schema(),
            BlockValue::schema(),
            BlockReason::schema(),
            Text::schema(),
            WebhookUrl::schema(),
            IdempotencyKey::schema(),
        ];
        for schema in schemas {
            let RefOr::T(Schema::Object(object)) = schema else {
                panic!("a text value's schema is an object schema");
            };
            let pattern = object.pattern.expect("a pattern");
            regex::Regex::new(&pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        }
    }
}
