//! The CLN API's parameters as types: each value type reads its parameter from the call
//! (leniently where clients differ: any order, empty components, `+` as a space) and
//! describes what it accepts in the OpenAPI document; each endpoint's parameters are one
//! struct (`cln_params!`) whose fields are those types, so the document is generated from
//! the same code that reads the requests.

use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::call::{parse_ip, Call};
use super::error::ApiError;
use crate::domain::ip::LicenseIp;
use crate::domain::keys::products::{
    code_type, imunify_type, Product, CLOUDLINUX_CODES, ELS_CODES, IMUNIFY_CODES,
};
use crate::domain::month::Month;
use crate::wire::{parse_bool, patterns, shorten};

/// A value read from one parameter's text.
pub trait CallValue: Sized {
    fn read(name: &str, text: &str) -> Result<Self, ApiError>;
}

/// How a field of a parameter struct is read from the call: a `CallValue` is required (a
/// missing or empty one is refused), an `Option` of one is not.
pub trait CallField: Sized {
    fn field(call: &Call, name: &str) -> Result<Self, ApiError>;
}

impl<T: CallValue> CallField for T {
    fn field(call: &Call, name: &str) -> Result<Self, ApiError> {
        match call.non_empty(name) {
            Some(text) => T::read(name, text),
            None => Err(ApiError::invalid(format!("Parameter {name} is required"))),
        }
    }
}

impl<T: CallValue> CallField for Option<T> {
    fn field(call: &Call, name: &str) -> Result<Self, ApiError> {
        call.non_empty(name)
            .map(|text| T::read(name, text))
            .transpose()
    }
}

/// An endpoint's parameters, read from a call.
pub trait FromCall: Sized {
    fn from_call(call: &Call) -> Result<Self, ApiError>;
}

impl Call {
    /// This call's parameters as `P` reads them.
    pub fn params<P: FromCall>(&self) -> Result<P, ApiError> {
        P::from_call(self)
    }
}

/// Declares an endpoint's parameter struct: documented (utoipa `IntoParams`, in the query;
/// the document adds the same fields as a form body for POST) and read (`FromCall`) from
/// the same fields.
macro_rules! cln_params {
    ($(#[$m:meta])* $name:ident { $( $(#[$fm:meta])* $field:ident : $ty:ty = $wire:literal ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, utoipa::IntoParams)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            $( $(#[$fm])* #[param(rename = $wire)] pub $field: $ty, )*
        }

        impl $crate::api::params::FromCall for $name {
            fn from_call(call: &$crate::api::call::Call) -> Result<Self, $crate::api::error::ApiError> {
                Ok(Self {
                    $( $field: <$ty as $crate::api::params::CallField>::field(call, $wire)?, )*
                })
            }
        }
    };
}
pub(crate) use cln_params;

fn text_schema(pattern: Option<&str>, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(pattern)
        .description(Some(description))
}

/// Declares a value type with its schema and how it reads its text.
macro_rules! call_value {
    ($(#[$doc:meta])* $name:ident($inner:ty), $schema:expr, |$param:ident, $text:ident| $read:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub $inner);

        impl CallValue for $name {
            fn read($param: &str, $text: &str) -> Result<Self, ApiError> {
                let _ = $param;
                $read.map($name)
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

call_value!(
    /// An IPv4 or IPv6 address (any syntactically valid one; rules come later).
    Ip(LicenseIp),
    text_schema(Some(&patterns::ip()), "An IPv4 or IPv6 address").max_length(Some(45)),
    |name, text| parse_ip(text)
);

/// A license type number as text.
fn type_number(name: &str, text: &str) -> Result<i32, ApiError> {
    text.parse::<i32>().ok().filter(|t| *t >= 0).ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid {name}: {} (expected a license type number)",
            shorten(text)
        ))
    })
}

call_value!(
    /// A license type number.
    LicenseType(i32),
    text_schema(Some(r"^[0-9]{1,9}$"), "A license type number"),
    |name, text| type_number(name, text)
);

call_value!(
    /// A license type number where `0` (like a missing or empty one) means every type.
    AllTypes(Option<i32>),
    text_schema(
        Some(r"^[0-9]{1,9}$"),
        "A license type number; missing, empty or 0: every type the caller holds on the IP"
    ),
    |name, text| type_number(name, text).map(|t| (t != 0).then_some(t))
);

call_value!(
    /// `true`, `false`, `1` or `0` (any case).
    BoolText(bool),
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["true", "false", "1", "0"])),
    |name, text| parse_bool(text).ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid value for {name}: {} (expected true, false, 1 or 0)",
            shorten(text)
        ))
    })
);

/// server.json answers for at most this many IPs per call.
pub const MAX_SERVER_IPS: usize = 100;

call_value!(
    /// Up to `MAX_SERVER_IPS` addresses separated by commas (spaces around them tolerated).
    IpList(Vec<LicenseIp>),
    text_schema(None, "Comma-separated addresses, up to 100").max_length(Some(4_600)),
    |name, text| {
        let parts: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            Err(ApiError::invalid(format!("Parameter {name} is required")))
        } else if parts.len() > MAX_SERVER_IPS {
            Err(ApiError::invalid(format!(
                "Too many IPs: {} given, at most {MAX_SERVER_IPS} per call",
                parts.len()
            )))
        } else {
            parts.into_iter().map(parse_ip).collect()
        }
    }
);

call_value!(
    /// `YYYY-MM`.
    MonthText(Month),
    text_schema(Some(patterns::MONTH), "YYYY-MM"),
    |name, text| Month::parse(text).ok_or_else(|| {
        ApiError::invalid(format!("Invalid {name}: {} (expected YYYY-MM)", shorten(text)))
    })
);

call_value!(
    /// Free text (a longer one is cut where it is stored; NUL is refused).
    FreeText(String),
    text_schema(Some(patterns::NO_NUL), "Free text"),
    |name, text| Ok::<_, ApiError>(text.to_string())
);

call_value!(
    /// A whole number of servers, 0 for unlimited.
    ServerCount(i32),
    text_schema(Some(r"^[0-9]{1,7}$"), "Servers the key may hold; 0 = unlimited"),
    |name, text| text
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| ApiError::invalid(format!(
            "Invalid {name}: {} (expected a whole number, 0 for unlimited)",
            shorten(text)
        )))
);

call_value!(
    /// An Imunify product code, as its license type.
    ImunifyCode(i32),
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(IMUNIFY_CODES.map(|(code, _)| code))),
    |name, text| imunify_type(text).ok_or_else(|| {
        ApiError::invalid(format!(
            "Unknown Imunify code {}; expected one of {}",
            shorten(text),
            IMUNIFY_CODES.map(|(c, _)| c).join(", ")
        ))
    })
);

call_value!(
    /// A server's number, as CloudLinux OS and ELS answers show it (`id`).
    ServerNumber(i64),
    text_schema(Some(r"^[0-9]{1,18}$"), "A server's number (`id`)"),
    |name, text| text
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::invalid(format!(
            "Invalid {name}: {} (expected a server's number)",
            shorten(text)
        )))
);

/// A product code of `product` (any case) as its license type, or the refusal naming them.
fn product_code(product: Product, name: &str, text: &str) -> Result<i32, ApiError> {
    code_type(product, text.trim()).ok_or_else(|| {
        let codes: Vec<&str> = product.codes().iter().map(|(c, _)| *c).collect();
        ApiError::invalid(format!(
            "Unknown {name} {}; expected one of {}",
            shorten(text),
            codes.join(", ")
        ))
    })
}

call_value!(
    /// A CloudLinux OS key product (API v2's `productType`), as its license type.
    CloudLinuxCode(i32),
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(CLOUDLINUX_CODES.map(|(code, _)| code))),
    |name, text| product_code(Product::CloudLinux, name, text)
);

call_value!(
    /// An ELS product code, as its license type.
    ElsCode(i32),
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ELS_CODES.map(|(code, _)| code))),
    |name, text| product_code(Product::Els, name, text)
);

/// `productType`, or the Go client's `code` for the same thing (ELS key create), as the
/// ELS license type; required.
#[derive(Debug, Clone)]
pub struct ElsProductOrCode(pub i32);

impl CallField for ElsProductOrCode {
    fn field(call: &Call, name: &str) -> Result<Self, ApiError> {
        match call.non_empty(name).or_else(|| call.non_empty("code")) {
            Some(text) => product_code(Product::Els, name, text).map(ElsProductOrCode),
            None => Err(ApiError::invalid(format!(
                "Parameter {name} (or code) is required"
            ))),
        }
    }
}

impl PartialSchema for ElsProductOrCode {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(ELS_CODES.map(|(code, _)| code)))
            .description(Some(
                "An ELS product code; the Go client's `code` is read too",
            ))
            .into()
    }
}

impl ToSchema for ElsProductOrCode {}

/// A parameter that must be sent but may be empty (`key/set_cidr.json`'s `cidr`: empty
/// clears the key's ranges).
#[derive(Debug, Clone)]
pub struct MayBeEmpty(pub String);

impl CallField for MayBeEmpty {
    fn field(call: &Call, name: &str) -> Result<Self, ApiError> {
        call.get(name)
            .map(|t| MayBeEmpty(t.to_string()))
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "Parameter {name} is required (empty clears the ranges)"
                ))
            })
    }
}

impl PartialSchema for MayBeEmpty {
    fn schema() -> RefOr<Schema> {
        text_schema(
            Some(patterns::NO_NUL),
            "CIDR blocks separated by spaces, commas or semicolons; empty clears them",
        )
        .into()
    }
}

impl ToSchema for MayBeEmpty {}

/// `note`, or the WHMCS module's `description` for the same thing.
#[derive(Debug, Clone, Default)]
pub struct NoteOrDescription(pub Option<String>);

impl CallField for NoteOrDescription {
    fn field(call: &Call, name: &str) -> Result<Self, ApiError> {
        Ok(NoteOrDescription(
            call.get(name)
                .or_else(|| call.get("description"))
                .map(str::to_string),
        ))
    }
}

impl PartialSchema for NoteOrDescription {
    fn schema() -> RefOr<Schema> {
        text_schema(
            Some(patterns::NO_NUL),
            "Up to 100 characters, longer is cut; the WHMCS module's `description` is read too",
        )
        .into()
    }
}

impl ToSchema for NoteOrDescription {}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(query: &str) -> Call {
        Call::from_parts(query, b"", "127.0.0.1".parse().ok())
    }

    cln_params!(Sample {
        ip: Ip = "ip",
        type_id: AllTypes = "type",
        els: Option<BoolText> = "els_allowed",
    });

    #[test]
    fn structs_read_their_fields_by_their_wire_names() {
        let p: Sample = call("type=0&ip=192.0.2.1&els_allowed=TRUE")
            .params()
            .unwrap();
        assert_eq!(p.ip.0.to_string(), "192.0.2.1");
        assert_eq!(p.type_id.0, None, "0 is every type");
        assert!(p.els.unwrap().0);
        let missing = call("type=1").params::<Sample>().unwrap_err();
        assert_eq!(missing.0.public_message(), "Parameter ip is required");
        let bad = call("ip=1.2.3.4&type=undefined")
            .params::<Sample>()
            .unwrap_err();
        assert!(bad.0.public_message().starts_with("Invalid type"));
    }

    #[test]
    fn every_type_reads_empty_and_zero_as_all() {
        cln_params!(Remove { type_id: Option<AllTypes> = "type" });
        for all in ["type=", "type=0", ""] {
            assert!(
                call(all)
                    .params::<Remove>()
                    .unwrap()
                    .type_id
                    .and_then(|t| t.0)
                    .is_none(),
                "{all}"
            );
        }
        assert_eq!(
            call("type=16")
                .params::<Remove>()
                .unwrap()
                .type_id
                .and_then(|t| t.0),
            Some(16)
        );
        assert!(call("type=undefined").params::<Remove>().is_err());
        assert!(call("type=-1").params::<Remove>().is_err());
    }

    #[test]
    fn server_lists_are_bounded() {
        cln_params!(Servers { ips: IpList = "ip" });
        let many: Vec<String> = (0..101).map(|i| format!("192.0.2.{}", i % 250)).collect();
        let refused = call(&format!("ip={}", many.join(",")))
            .params::<Servers>()
            .unwrap_err();
        assert!(refused.0.public_message().starts_with("Too many IPs"));
        let ok: Servers = call("ip=192.0.2.1, 2001:db8::1").params().unwrap();
        assert_eq!(ok.ips.0.len(), 2);
    }
}
