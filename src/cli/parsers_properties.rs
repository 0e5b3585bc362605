//! No CLI argument value makes a parser panic: every value parser a command uses, fed
//! arbitrary text (any Unicode, multi-byte characters at every position).

use proptest::prelude::*;

use super::args::{limit, on_off, type_list};
use super::output::duration;
use super::report::since;
use crate::domain::ip::LicenseIp;
use crate::domain::month::Month;
use crate::domain::prices::parse_cents;
use crate::net::cidr_list;

fn now() -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp(1_800_000_000, 0)
        .map(|t| t.naive_utc())
        .unwrap_or_default()
}

proptest! {
    #[test]
    fn value_parsers_never_panic(text in "\\PC{0,40}", tail in "[0-9a-z€é.,=:/ -]{0,6}") {
        for value in [text.clone(), format!("{text}{tail}"), format!("{tail}{text}")] {
            let _ = duration(&value);
            let _ = since(&value, now());
            let _ = type_list(&value);
            let _ = limit(&value);
            let _ = on_off(&value);
            let _ = cidr_list("--allow-from", Some(value.clone()));
            let _ = LicenseIp::parse(&value);
            let _ = Month::parse(&value);
            let _ = parse_cents(&value);
        }
    }
}
