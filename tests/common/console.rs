//! Console helpers shared by the HTTP-level and the browser tests: users with known
//! passwords, and a session opened through the real login form.

use ipls::domain::users::{self, NewUser, Role};

use super::{http, TestServer};

/// Every test user's password.
pub const PASSWORD: &str = "correct horse battery staple";

/// Creates a console user; `reseller` None makes an operator.
pub fn add_user(srv: &TestServer, email: &str, role: Role, reseller: Option<&str>) {
    let reseller_id = reseller.map(|login| {
        ipls::domain::resellers::get(&mut srv.conn(), login)
            .expect("the reseller exists")
            .id
    });
    let hash = ipls::auth::password::hash(PASSWORD).expect("hash");
    users::create(
        &mut srv.conn(),
        &NewUser {
            email,
            password_hash: &hash,
            role,
            reseller_id,
        },
        &ipls::domain::resellers::ChangedBy {
            source: &ipls::domain::Source::Cli,
            now: srv.now().naive_utc(),
        },
    )
    .expect("create user");
}

/// A logged-in HTTP client: the session cookie and the session's CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// The value of `name="FIELD" value="..."` in a page.
pub fn field_value(page: &str, field: &str) -> Option<String> {
    let needle = format!("name=\"{field}\" value=\"");
    let start = page.find(&needle)? + needle.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_string())
}

/// `name=value` of the first Set-Cookie header naming `name`.
pub fn set_cookie(response: &http::Response, name: &str) -> Option<String> {
    response
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.clone())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// Logs in through the form (with its double-submit token); panics unless it succeeds.
pub fn log_in(srv: &TestServer, email: &str, password: &str) -> Session {
    let (response, _) = try_log_in(srv, email, password, &[]);
    assert_eq!(
        response.status,
        303,
        "login of {email}: {}",
        response.text()
    );
    let cookie = set_cookie(&response, "ipls_session")
        .expect("a session cookie")
        .split(';')
        .next()
        .expect("name=value")
        .to_string();
    let page = get(srv, &cookie, "/console/account");
    let page = if page.status == 200 {
        page
    } else {
        get(srv, &cookie, "/console/operator/resellers")
    };
    let csrf = field_value(&page.text(), "csrf").expect("a CSRF field");
    Session { cookie, csrf }
}

/// Posts the login form; returns the answer and the login page's token cookie.
pub fn try_log_in(
    srv: &TestServer,
    email: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> (http::Response, String) {
    try_log_in_at(srv.addr, email, password, headers)
}

/// `try_log_in` against the server at `addr` (another instance).
pub fn try_log_in_at(
    addr: std::net::SocketAddr,
    email: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> (http::Response, String) {
    let form = http::request(addr, "GET", "/console/login", headers, b"");
    let token = field_value(&form.text(), "login_token").expect("a login token");
    let token_cookie = set_cookie(&form, "ipls_login")
        .expect("a login cookie")
        .split(';')
        .next()
        .expect("name=value")
        .to_string();
    let body = serde_urlencoded::to_string([
        ("email", email),
        ("password", password),
        ("login_token", token.as_str()),
    ])
    .expect("form");
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    all.push(("cookie", &token_cookie));
    all.push(("content-type", "application/x-www-form-urlencoded"));
    let response = http::request(addr, "POST", "/console/login", &all, body.as_bytes());
    (response, token_cookie)
}

pub fn get(srv: &TestServer, cookie: &str, target: &str) -> http::Response {
    http::request(srv.addr, "GET", target, &[("cookie", cookie)], b"")
}

/// Posts a form as the session's user; `fields` are sent as given (add the CSRF yourself).
pub fn post(
    srv: &TestServer,
    cookie: &str,
    target: &str,
    fields: &[(&str, &str)],
) -> http::Response {
    let body = serde_urlencoded::to_string(fields).expect("form");
    http::request(
        srv.addr,
        "POST",
        target,
        &[
            ("cookie", cookie),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    )
}
