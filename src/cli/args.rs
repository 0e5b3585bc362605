//! Parsing of CLI values shared by several commands: type lists, limits, on/off.

use std::collections::BTreeMap;

use crate::domain::ip::LicenseIp;
use crate::domain::month::Month;
use crate::domain::prices::parse_cents;
use crate::domain::resellers::Grants;

/// `--ip`: an IPv4 or IPv6 address (a usage error otherwise, before anything is opened).
pub fn license_ip(text: &str) -> Result<LicenseIp, String> {
    LicenseIp::parse(text).ok_or_else(|| format!("{text:?} is not an IP address"))
}

/// `--allow-from`: CIDR blocks separated by commas ("" allows every source), checked here so
/// that a mistake is a usage error; the domain stores them in canonical form.
pub fn allow_from(text: &str) -> Result<String, String> {
    crate::net::cidr_list("--allow-from", Some(text.to_string()))?;
    Ok(text.to_string())
}

/// `--month`: YYYY-MM.
pub fn month(text: &str) -> Result<Month, String> {
    Month::parse(text).ok_or_else(|| format!("{text:?} is not a month (expected YYYY-MM)"))
}

/// A price: a whole or decimal amount such as 12 or 12.50, in cents.
pub fn cents(text: &str) -> Result<i64, String> {
    parse_cents(text).ok_or_else(|| format!("{text:?}: expected an amount like 12 or 12.50"))
}

/// A comma-separated list of type ids (one clap value, hence the newtype).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeList(pub Vec<i32>);

/// `1,16,40` into type ids.
pub fn type_list(text: &str) -> Result<TypeList, String> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<i32>()
                .map_err(|_| format!("--types: {t:?} is not a type number"))
        })
        .collect::<Result<_, _>>()
        .map(TypeList)
}

/// `TYPE=N` or `TYPE=unlimited`.
pub fn limit(text: &str) -> Result<(i32, Option<i32>), String> {
    let bad = || format!("--limit {text:?}: expected TYPE=N or TYPE=unlimited");
    let (type_text, value) = text.split_once('=').ok_or_else(bad)?;
    let type_id = type_text.trim().parse::<i32>().map_err(|_| bad())?;
    let value = value.trim();
    if value.eq_ignore_ascii_case("unlimited") {
        return Ok((type_id, None));
    }
    let n = value
        .parse::<i32>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(bad)?;
    Ok((type_id, Some(n)))
}

pub fn on_off(text: &str) -> Result<bool, String> {
    match text {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err(format!("expected on or off, got {text:?}")),
    }
}

/// Builds grants from enabled types, the limits already in force, and `--limit` overrides.
/// A limit for a type that is not enabled is an error, not a silent grant.
pub fn grants(
    types: &[i32],
    existing: &BTreeMap<i32, Option<i32>>,
    limits: &[(i32, Option<i32>)],
) -> Result<Grants, String> {
    let mut granted: BTreeMap<i32, Option<i32>> = types
        .iter()
        .map(|t| (*t, existing.get(t).copied().flatten()))
        .collect();
    for (type_id, value) in limits {
        match granted.get_mut(type_id) {
            Some(slot) => *slot = *value,
            None => {
                return Err(format!(
                    "--limit {type_id}=...: type {type_id} is not enabled (add it to --types)"
                ))
            }
        }
    }
    Ok(Grants { limits: granted })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_limits() {
        assert_eq!(type_list("1, 16,40").unwrap(), TypeList(vec![1, 16, 40]));
        assert!(type_list("1,x").is_err());
        assert_eq!(limit("1=5").unwrap(), (1, Some(5)));
        assert_eq!(limit("1=unlimited").unwrap(), (1, None));
        assert!(limit("1").is_err());
        assert!(limit("1=-2").is_err());
    }

    #[test]
    fn limits_apply_to_enabled_types_only() {
        let existing = BTreeMap::from([(1, Some(3)), (16, None)]);
        let g = grants(&[1, 16], &existing, &[(16, Some(2))]).unwrap();
        assert_eq!(g.limits, BTreeMap::from([(1, Some(3)), (16, Some(2))]));
        assert!(grants(&[1], &existing, &[(40, Some(1))]).is_err());
    }
}
