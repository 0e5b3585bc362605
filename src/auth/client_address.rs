//! The address a request really comes from: the peer, or, when the peer is a trusted proxy,
//! the nearest untrusted address in `X-Forwarded-For`. From anyone else the header is
//! ignored, so a client cannot claim another server's address. Every address comes out in
//! canonical form (an IPv4-mapped IPv6 peer of a `[::]` listener is its IPv4 address).

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

use crate::net::canonical;

pub fn resolve(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |addr: &IpAddr| trusted.iter().any(|net| net.contains(addr));
    if !is_trusted(&peer) {
        return peer;
    }
    // Right to left: each proxy appends the address it received the request from.
    let hops = forwarded_for.iter().rev().flat_map(|h| h.rsplit(','));
    let mut client = peer;
    for hop in hops {
        match hop.trim().parse::<IpAddr>().map(canonical) {
            Ok(addr) => {
                client = addr;
                if !is_trusted(&addr) {
                    return addr;
                }
            }
            // A hop we cannot read ends the chain we can believe.
            Err(_) => return client,
        }
    }
    client
}

/// `resolve` for an actix request.
pub fn of_request(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let headers: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    Some(resolve(peer, &headers, trusted))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_cannot_claim_an_address() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            resolve(ip("203.0.113.9"), &["198.51.100.1"], &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            resolve(ip("203.0.113.9"), &["198.51.100.1"], &[]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn trusted_proxies_are_skipped_right_to_left() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer = ip("10.0.0.1");
        assert_eq!(
            resolve(peer, &["198.51.100.1"], &trusted),
            ip("198.51.100.1")
        );
        // The client spoofs a first hop; the proxy appended the real one.
        assert_eq!(
            resolve(peer, &["1.2.3.4, 198.51.100.1, 10.0.0.2"], &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(
            resolve(peer, &["1.2.3.4", "198.51.100.1"], &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(resolve(peer, &[], &trusted), peer);
        assert_eq!(resolve(peer, &["garbage"], &trusted), peer);
    }

    #[test]
    fn mapped_peers_and_hops_are_ipv4() {
        let trusted: Vec<IpNet> = vec!["127.0.0.1/32".parse().unwrap()];
        assert_eq!(
            resolve(ip("::ffff:127.0.0.1"), &["::ffff:198.51.100.1"], &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(
            resolve(ip("::ffff:203.0.113.9"), &[], &[]),
            ip("203.0.113.9")
        );
    }
}
