//! A KernelCare key's IP ranges (`key/set_cidr.json`): parsing with CLN's codes, and the
//! check a registration makes.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use crate::net::{canonical, canonical_net};
use crate::wire::shorten;

/// More ranges than this on one key is refused (a list that long is a mistake or an attack).
pub const MAX_RANGES: usize = 64;

/// Why a range list was refused: `code` is what `set_cidr.json` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrRefusal {
    /// 1 a bad address, 2 a bad prefix.
    pub code: i32,
    pub message: String,
}

/// Parses ranges separated by spaces, commas or semicolons into canonical blocks; a bare
/// address is a one-address block. Empty text is the empty list (the key accepts any address).
pub fn parse(text: &str) -> Result<Vec<IpNet>, CidrRefusal> {
    let parts: Vec<&str> = text
        .split([' ', ',', ';', '\t', '\n', '\r'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() > MAX_RANGES {
        return Err(CidrRefusal {
            code: 1,
            message: format!("At most {MAX_RANGES} ranges per key; {} given", parts.len()),
        });
    }
    let mut blocks: Vec<IpNet> = Vec::with_capacity(parts.len());
    for part in parts {
        let block = parse_one(part)?;
        if !blocks.contains(&block) {
            blocks.push(block);
        }
    }
    Ok(blocks)
}

fn parse_one(part: &str) -> Result<IpNet, CidrRefusal> {
    let shown = shorten(part);
    let (address, prefix) = match part.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (part, None),
    };
    let address = IpAddr::from_str(address).map_err(|_| CidrRefusal {
        code: 1,
        message: format!("Invalid IP address in range {shown}"),
    })?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| CidrRefusal {
                code: 2,
                message: format!("Invalid prefix in range {shown}: expected 0 to {max}"),
            })?,
    };
    let block = IpNet::new(address, prefix).map_err(|_| CidrRefusal {
        code: 2,
        message: format!("Invalid prefix in range {shown}"),
    })?;
    Ok(canonical_net(block.trunc()))
}

/// The stored form: blocks separated by single spaces; None for the empty list.
pub fn to_stored(blocks: &[IpNet]) -> Option<String> {
    (!blocks.is_empty()).then(|| {
        blocks
            .iter()
            .map(IpNet::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// Whether `address` may register with a key whose stored ranges are `stored`.
pub fn admits(stored: Option<&str>, address: IpAddr) -> bool {
    let Some(stored) = stored else { return true };
    let address = canonical(address);
    stored
        .split(' ')
        .filter_map(|b| IpNet::from_str(b).ok())
        .any(|block| block.contains(&address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_bare_addresses() {
        let blocks = parse("10.0.0.5/24, 192.0.2.1;2001:db8::/32  10.0.0.9/24").unwrap();
        assert_eq!(
            to_stored(&blocks).unwrap(),
            "10.0.0.0/24 192.0.2.1/32 2001:db8::/32"
        );
        assert_eq!(parse("  ").unwrap(), vec![]);
        assert_eq!(to_stored(&[]), None);
    }

    #[test]
    fn codes_say_which_part_is_wrong() {
        assert_eq!(parse("10.0.0.300/24").unwrap_err().code, 1);
        assert_eq!(parse("example.com").unwrap_err().code, 1);
        assert_eq!(parse("10.0.0.0/33").unwrap_err().code, 2);
        assert_eq!(parse("10.0.0.0/x").unwrap_err().code, 2);
        assert_eq!(parse("2001:db8::/129").unwrap_err().code, 2);
        let many = vec!["10.0.0.1"; MAX_RANGES + 1].join(" ");
        assert_eq!(parse(&many).unwrap_err().code, 1);
    }

    #[test]
    fn admits_addresses_inside_the_ranges() {
        let stored = to_stored(&parse("10.0.0.0/24 2001:db8::/32").unwrap());
        let inside: IpAddr = "10.0.0.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.8".parse().unwrap();
        let outside: IpAddr = "10.0.1.1".parse().unwrap();
        assert!(admits(stored.as_deref(), inside));
        assert!(admits(stored.as_deref(), mapped));
        assert!(!admits(stored.as_deref(), outside));
        assert!(admits(None, outside));
    }
}
