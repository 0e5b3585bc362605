//! What the access log must not print: the values of query parameters that are credentials,
//! and the credentials the KernelCare monitoring paths carry (the key in
//! `/kcare/nagios/KEY`, the monitoring token in `/kcare/nagios-res/LOGIN/TOKEN`). A reseller
//! token is valid for minutes; an activation key or a key server's id is what a server
//! registers or checks in with, for as long as it exists (docs/security.md).

/// Parameters whose values are replaced by `***`, compared as the server decodes them.
pub const SECRET_PARAMS: [&str; 5] = ["token", "key", "server_id", "secret", "password"];

/// The request target with every secret parameter's value replaced by `***`. The key is
/// compared as the parameter parser reads it, so a percent-encoded spelling (`%74oken=`)
/// is redacted too.
pub fn redact_target(uri: &str) -> String {
    let Some((path, query)) = uri.split_once('?') else {
        return redact_path(uri);
    };
    let path = redact_path(path);
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if is_secret(&decoded_key(key)) => format!("{key}=***"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// The monitoring paths with their credential segment replaced by `***`.
fn redact_path(path: &str) -> String {
    for (marker, keep) in [("/kcare/nagios/", 0), ("/kcare/nagios-res/", 1)] {
        if let Some(at) = path.find(marker) {
            let (head, rest) = path.split_at(at + marker.len());
            let kept: Vec<&str> = rest.split('/').take(keep).collect();
            let mut out = format!("{head}{}", kept.join("/"));
            if keep > 0 {
                out.push('/');
            }
            out.push_str("***");
            return out;
        }
    }
    path.to_string()
}

fn is_secret(name: &str) -> bool {
    SECRET_PARAMS.iter().any(|s| name.eq_ignore_ascii_case(s))
}

/// A query key as the parameter parser reads it (percent-decoding, `+` as space).
fn decoded_key(key: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(key)
        .ok()
        .and_then(|pairs| pairs.into_iter().next())
        .map(|(k, _)| k)
        .unwrap_or_else(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::redact_target;

    #[test]
    fn tokens_are_redacted() {
        assert_eq!(
            redact_target("/api/ipl/check.json?ip=1.2.3.4&token=demo|1|abc"),
            "/api/ipl/check.json?ip=1.2.3.4&token=***"
        );
        assert_eq!(
            redact_target("/api/x?&TOKEN=demo%7C1%7Cabc&ip=1"),
            "/api/x?&TOKEN=***&ip=1"
        );
        assert_eq!(redact_target("/api/status.json"), "/api/status.json");
        assert_eq!(
            redact_target("/api/x?%74oken=demo|1|abc&ip=1"),
            "/api/x?%74oken=***&ip=1"
        );
        assert_eq!(
            redact_target("/api/x?to%6Ben=a&t%6f%6B%65%6E=b"),
            "/api/x?to%6Ben=***&t%6f%6B%65%6E=***"
        );
    }

    #[test]
    fn monitoring_paths_lose_their_credentials() {
        assert_eq!(
            redact_target("/clweb/api/kcare/nagios/WsTs821nSAtiastD"),
            "/clweb/api/kcare/nagios/***"
        );
        assert_eq!(
            redact_target("/api/kcare/nagios-res/acme/abcdefghijklmnop?x=1"),
            "/api/kcare/nagios-res/acme/***?x=1"
        );
        assert_eq!(
            redact_target("/api/kcare/nagios-res/acme"),
            "/api/kcare/nagios-res/acme/***"
        );
    }

    #[test]
    fn keys_and_server_ids_are_redacted() {
        assert_eq!(
            redact_target("/api/kcare/register_server.json?key=WsTs821nSAtiastD&hostname=h"),
            "/api/kcare/register_server.json?key=***&hostname=h"
        );
        assert_eq!(
            redact_target("/api/server/checkin.json?server_id=Ab3dEf6hIj9kLm2N"),
            "/api/server/checkin.json?server_id=***"
        );
        assert_eq!(
            redact_target("/api/kcare/key/servers.json?%6Bey=x&SERVER_ID=y"),
            "/api/kcare/key/servers.json?%6Bey=***&SERVER_ID=***"
        );
    }
}
