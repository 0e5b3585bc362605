//! The admin API's numbers: page sizes and cursors in queries, and whole numbers in JSON
//! bodies (`5` and `5.0` alike, as JSON Schema's integers are), each with its bounds in its
//! schema and in its parser.

use serde::de::{self, Deserializer};
use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::parsed;

/// How many items a page holds: 1 to `MAX_PAGE` (default `DEFAULT_PAGE`).
#[derive(Debug, Clone, Copy)]
pub struct PageSize(pub i64);

pub const DEFAULT_PAGE: i64 = 100;
pub const MAX_PAGE: i64 = 1_000;

impl<'de> Deserialize<'de> for PageSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parsed(d, "limit is a whole number from 1 to 1000", |t| {
            t.parse::<i64>().ok().filter(|n| (1..=MAX_PAGE).contains(n))
        })
        .map(PageSize)
    }
}

impl PartialSchema for PageSize {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(MAX_PAGE))
            .description(Some("Page size (default 100)"))
            .into()
    }
}

impl ToSchema for PageSize {}

impl PageSize {
    pub fn of(value: Option<PageSize>) -> i64 {
        value.map_or(DEFAULT_PAGE, |p| p.0)
    }
}

/// A cursor that is an id this API gave out: a whole number.
#[derive(Debug, Clone, Copy)]
pub struct IdCursor(pub i64);

impl<'de> Deserialize<'de> for IdCursor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parsed(d, "cursor is a next_cursor this API gave out", |t| {
            t.parse::<i64>().ok().filter(|n| *n >= 0)
        })
        .map(IdCursor)
    }
}

impl PartialSchema for IdCursor {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0))
            .maximum(Some(i64::MAX))
            .description(Some("`next_cursor` of the previous page"))
            .into()
    }
}

impl ToSchema for IdCursor {}

/// A whole number in a JSON body: `5` or `5.0` (JSON Schema's integers include both), within
/// `min..=max`.
fn whole_in<'de, D: Deserializer<'de>>(
    d: D,
    what: &str,
    min: i64,
    max: i64,
) -> Result<i64, D::Error> {
    let value = f64::deserialize(d)?;
    if value.fract() == 0.0 && value >= min as f64 && value <= max as f64 {
        Ok(value as i64)
    } else {
        Err(de::Error::custom(format!(
            "{what} is a whole number from {min} to {max} (got {value})"
        )))
    }
}

/// Declares a whole-number newtype of a JSON body, with its bounds and schema.
macro_rules! whole_value {
    ($(#[$doc:meta])* $name:ident($inner:ty), $what:expr, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name(pub $inner);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let n = whole_in(d, $what, i64::from($min), i64::from($max))?;
                <$inner>::try_from(n).map($name).map_err(de::Error::custom)
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(i64::from($min)))
                    .maximum(Some(i64::from($max)))
                    .into()
            }
        }

        impl ToSchema for $name {}
    };
}

whole_value!(
    /// A license type's number.
    TypeNumber(i32),
    "type",
    0,
    i32::MAX
);

whole_value!(
    /// How many licenses of a type a reseller may hold.
    LicenseLimit(i32),
    "limit",
    0,
    i32::MAX
);

whole_value!(
    /// How many servers a key may hold; 0 = unlimited.
    ServerLimit(i32),
    "limit",
    0,
    crate::domain::keys::manage::MAX_LIMIT
);

whole_value!(
    /// A monthly price in cents.
    Cents(i64),
    "monthly_cents",
    0,
    100_000_000_000_i64
);

whole_value!(
    /// Calls at once each instance makes to an upstream.
    Concurrency(i32),
    "concurrency",
    1,
    256
);

whole_value!(
    /// Calls per second each instance makes to an upstream.
    Rate(i32),
    "rate_per_second",
    1,
    10_000
);
