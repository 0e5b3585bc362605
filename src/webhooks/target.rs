//! Where webhooks may go. An endpoint whose address is (or resolves to) loopback, private,
//! link-local (cloud metadata at 169.254.169.254 included), unique-local or otherwise not
//! public is refused unless `IPLS_WEBHOOK_ALLOW_PRIVATE=true`: a partner must not be able to
//! aim the server at its own network. The check runs when an endpoint is added and again at
//! every connection (the sender's resolver), so a name that later resolves elsewhere is
//! refused then too.

use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

use crate::domain::ip::LicenseIp;
use crate::domain::webhooks::endpoints::MAX_URL_LEN;

/// A syntactically acceptable endpoint URL: http or https, a host, no credentials in it.
pub fn parse(text: &str) -> Result<Url, String> {
    if text.len() > MAX_URL_LEN {
        return Err(format!(
            "the webhook URL is longer than {MAX_URL_LEN} characters"
        ));
    }
    let url = Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{text:?}: a webhook URL is http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?}: the URL names no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{text:?}: credentials in the URL are not accepted (they would be stored and logged)"
        ));
    }
    if url.fragment().is_some() {
        return Err(format!("{text:?}: a webhook URL has no #fragment"));
    }
    Ok(url)
}

/// Why `addr` may not receive webhooks (None: it may).
pub fn refusal(addr: IpAddr, allow_private: bool) -> Option<String> {
    if allow_private {
        return None;
    }
    let canonical = LicenseIp::from_addr(addr);
    canonical.non_public_reason().map(|why| {
        format!(
            "{canonical} is a {why} address; webhooks go to public addresses only \
             (IPLS_WEBHOOK_ALLOW_PRIVATE=true allows others)"
        )
    })
}

/// The host as an address when the URL names one directly (no resolver runs for it).
fn literal_host(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// Checks an address literal in the URL (the sender's resolver checks names).
pub fn check_literal(url: &Url, allow_private: bool) -> Result<(), String> {
    match literal_host(url).and_then(|ip| refusal(ip, allow_private)) {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// Resolves the URL's host and checks every address it has (blocking: run it off the
/// async executor).
pub fn check_resolved(url: &Url, allow_private: bool) -> Result<(), String> {
    check_literal(url, allow_private)?;
    if literal_host(url).is_some() || allow_private {
        return Ok(());
    }
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} resolves to no address"));
    }
    for addr in addrs {
        if let Some(why) = refusal(addr.ip(), false) {
            return Err(format!("{host}: {why}"));
        }
    }
    Ok(())
}

/// The sender's resolver: the system's answer, refused whole if any address is not allowed.
pub struct SafeResolver {
    pub allow_private: bool,
}

impl Resolve for SafeResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for addr in &addrs {
                if let Some(why) = refusal(addr.ip(), allow_private) {
                    return Err(format!("{host}: {why}").into());
                }
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_before_anything_is_stored() {
        assert!(parse("https://hooks.example.com/ipls").is_ok());
        for bad in [
            "ftp://example.com/",
            "https://user:pass@example.com/",
            "not a url",
            "https://example.com/#frag",
            "file:///etc/passwd",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn private_literals_are_refused_unless_allowed() {
        for private in [
            "http://127.0.0.1/",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://10.1.2.3/",
            "http://[::ffff:192.168.1.1]/",
            "http://[fd00:ec2::254]/",
            "http://100.64.0.1/",
        ] {
            let url = parse(private).expect("a URL");
            assert!(check_literal(&url, false).is_err(), "{private}");
            assert!(check_literal(&url, true).is_ok(), "{private}");
        }
        let public = parse("http://203.0.113.9/").expect("a URL");
        assert!(check_literal(&public, false).is_ok());
    }
}
