//! IP addresses as licenses see them: parsed strictly, stored in one canonical text form,
//! and classified as a possible public server address or not.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A validated address in canonical form: IPv4 dotted quad, IPv6 compressed lower case
/// (RFC 5952, as Rust prints it). IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is the IPv4 address,
/// so one server cannot hold two licenses under two spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LicenseIp(IpAddr);

impl LicenseIp {
    /// Parses what a client sent. No trimming, no zone ids, no leading zeros in IPv4
    /// octets (ambiguous: octal in some parsers).
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() || text.len() > 45 {
            return None;
        }
        let addr: IpAddr = text.parse().ok()?;
        Some(Self::from_addr(addr))
    }

    pub fn from_addr(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => LicenseIp(IpAddr::V4(v4)),
                None => LicenseIp(IpAddr::V6(v6)),
            },
            v4 => LicenseIp(v4),
        }
    }

    /// The address as a text that sorts in numeric order, IPv4 before IPv6: `4` and eight
    /// hex digits, or `6` and thirty-two (stored as `ip_licenses.ip_key`).
    pub fn order_key(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => format!("4{:08x}", u32::from(v4)),
            IpAddr::V6(v6) => format!("6{:032x}", u128::from(v6)),
        }
    }

    /// `order_key` of a stored address (text that does not parse sorts first).
    pub fn order_key_of(stored: &str) -> String {
        Self::parse(stored)
            .map(|ip| ip.order_key())
            .unwrap_or_default()
    }

    /// Why this address cannot be a server's public address, if it cannot.
    pub fn non_public_reason(&self) -> Option<&'static str> {
        match self.0 {
            IpAddr::V4(v4) => ipv4_reason(v4),
            IpAddr::V6(v6) => ipv6_reason(v6),
        }
    }
}

impl fmt::Display for LicenseIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

fn ipv4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if ip.is_private() {
        Some("private")
    } else if a == 100 && (b & 0xc0) == 64 {
        Some("shared address space (100.64.0.0/10)")
    } else {
        None
    }
}

fn ipv6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if (first & 0xffc0) == 0xfe80 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if (first & 0xfe00) == 0xfc00 {
        Some("unique-local")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> Option<String> {
        LicenseIp::parse(text).map(|ip| ip.to_string())
    }

    #[test]
    fn order_keys_sort_numerically_ipv4_first() {
        let mut ips = [
            "2001:db8::10",
            "192.0.2.10",
            "2001:db8::2",
            "192.0.2.2",
            "10.0.0.1",
            "::ffff:192.0.2.3",
        ];
        ips.sort_by_key(|ip| LicenseIp::order_key_of(ip));
        assert_eq!(
            ips,
            [
                "10.0.0.1",
                "192.0.2.2",
                "::ffff:192.0.2.3",
                "192.0.2.10",
                "2001:db8::2",
                "2001:db8::10"
            ]
        );
        assert_eq!(LicenseIp::order_key_of("192.0.2.2"), "4c0000202");
        assert_eq!(LicenseIp::order_key_of("not an ip"), "");
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canon("203.0.113.7").as_deref(), Some("203.0.113.7"));
        assert_eq!(
            canon("2001:DB8:0:0:0:0:0:1").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(canon("2001:db8::0:1").as_deref(), Some("2001:db8::1"));
        assert_eq!(canon("::ffff:203.0.113.7").as_deref(), Some("203.0.113.7"));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            " 1.2.3.4",
            "1.2.3.4 ",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "01.2.3.4",
            "fe80::1%eth0",
            "abc",
            "1.2.3.4/32",
            "[::1]",
        ] {
            assert_eq!(canon(bad), None, "{bad:?} must be refused");
        }
    }

    #[test]
    fn classifies_non_public() {
        let reason = |t: &str| LicenseIp::parse(t).and_then(|ip| ip.non_public_reason());
        for (ip, why) in [
            ("0.0.0.0", "unspecified"),
            ("127.0.0.1", "loopback"),
            ("169.254.1.1", "link-local"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("100.64.0.1", "shared address space (100.64.0.0/10)"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("fd00::1", "unique-local"),
            ("::ffff:10.0.0.1", "private"),
        ] {
            assert_eq!(reason(ip), Some(why), "{ip}");
        }
        for public in [
            "203.0.113.7",
            "100.128.0.1",
            "8.8.8.8",
            "2001:db8::1",
            "172.32.0.1",
        ] {
            assert_eq!(reason(public), None, "{public}");
        }
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn address() -> impl Strategy<Value = IpAddr> {
            prop_oneof![
                any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
                any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o))),
            ]
        }

        proptest! {
            #[test]
            fn canonical_text_parses_back_to_itself(addr in address()) {
                let ip = LicenseIp::from_addr(addr);
                let canonical = ip.to_string();
                let again = LicenseIp::parse(&canonical).expect("canonical text parses");
                prop_assert_eq!(again, ip);
                prop_assert_eq!(again.to_string(), canonical);
            }

            #[test]
            fn whatever_parses_is_a_fixed_point(text in "[0-9a-fA-F:.]{1,45}") {
                if let Some(ip) = LicenseIp::parse(&text) {
                    let canonical = ip.to_string();
                    prop_assert_eq!(LicenseIp::parse(&canonical).map(|i| i.to_string()), Some(canonical));
                }
            }
        }
    }
}
