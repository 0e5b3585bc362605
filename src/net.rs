//! Network addresses, a leaf every layer may use: the canonical form of an address or CIDR
//! block (an IPv4 peer reaching a dual-stack listener (`[::]`) arrives as the IPv4-mapped
//! `::ffff:a.b.c.d`, which is the same host as `a.b.c.d` and must match the same rules), the
//! block a per-source budget is kept for, and CIDR lists as settings and allowlists write them.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net};

/// The address itself for IPv4 and ordinary IPv6; the IPv4 address for a mapped one.
pub fn canonical(addr: IpAddr) -> IpAddr {
    addr.to_canonical()
}

/// A CIDR block in canonical form: `::ffff:a.b.c.d/N` with N >= 96 is the IPv4 block
/// `a.b.c.d/(N-96)`, so that an operator's allowlist or proxy list matches either spelling.
pub fn canonical_net(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net {
        if let (Some(v4), true) = (v6.addr().to_ipv4_mapped(), v6.prefix_len() >= 96) {
            if let Ok(block) = Ipv4Net::new(v4, v6.prefix_len() - 96) {
                return IpNet::V4(block.trunc());
            }
        }
    }
    net
}

/// The block a budget or a known source is kept for: the address for IPv4, its /64 for
/// IPv6 (one host usually holds a whole /64, so per-address IPv6 limits would be free to
/// dodge).
pub fn network_of(addr: IpAddr) -> String {
    match canonical(addr) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            format!("{}/64", Ipv6Addr::from(segments))
        }
    }
}

/// `CIDR[,CIDR...]`; a bare address is a /32 or /128.
pub fn cidr_list(key: &str, text: Option<String>) -> Result<Vec<IpNet>, String> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<IpNet>()
                .or_else(|_| t.parse::<std::net::IpAddr>().map(IpNet::from))
                .map(|net| canonical_net(net.trunc()))
                .map_err(|_| format!("{key}: {t:?} is not an address or CIDR block"))
        })
        .collect()
}

/// A CIDR list as stored (`allow_from`): blocks in canonical form, comma-separated; None
/// when the text names none.
pub fn normalised_cidrs(key: &str, text: &str) -> Result<Option<String>, String> {
    let blocks = cidr_list(key, Some(text.to_string()))?;
    if blocks.is_empty() {
        return Ok(None);
    }
    let shown: Vec<String> = blocks.iter().map(ToString::to_string).collect();
    Ok(Some(shown.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn mapped_ipv4_is_ipv4() {
        assert_eq!(canonical(ip("::ffff:127.0.0.1")), ip("127.0.0.1"));
        assert_eq!(canonical(ip("2001:db8::1")), ip("2001:db8::1"));
        assert_eq!(
            canonical_net("::ffff:10.0.0.0/104".parse().unwrap()).to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            canonical_net("::ffff:127.0.0.1/128".parse().unwrap()).to_string(),
            "127.0.0.1/32"
        );
        assert_eq!(
            canonical_net("2001:db8::/32".parse().unwrap()).to_string(),
            "2001:db8::/32"
        );
    }

    #[test]
    fn ipv6_sources_share_their_64() {
        assert_eq!(network_of(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(
            network_of(ip("2001:db8:1:2:ffff::9")),
            network_of(ip("2001:db8:1:2::1"))
        );
        assert_eq!(network_of(ip("::ffff:198.51.100.7")), "198.51.100.7");
    }
}
