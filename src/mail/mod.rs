//! Sending mail to people: one SMTP server, named by one URL (`IPLS_SMTP_URL`), through
//! `lettre`. Without a URL mail is off. A send says whether the server refused the address for
//! good (an SMTP 5xx: retrying will not help) or failed for now (anything else).

pub mod settings;
pub mod worker;

use std::fmt;
use std::time::Duration;

use lettre::message::{header::ContentType, Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

/// How long a connection, and each SMTP command, may take unless the URL says (`timeout=`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How mail leaves: the server and how to talk to it, and the sender's address.
#[derive(Clone)]
pub struct MailSettings {
    pub server: SmtpServer,
    pub from: Mailbox,
}

impl fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} from {}", self.server, self.from)
    }
}

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte (port 465 by default).
    Tls,
    /// `smtp://`: STARTTLS, required (port 587 by default).
    StartTls,
    /// `smtp://...?tls=none`: plain text, for a relay on this host or a test server (port 25
    /// by default).
    Plain,
}

/// An SMTP server as `IPLS_SMTP_URL` names it.
#[derive(Clone)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub security: Security,
    user: Option<String>,
    password: Option<String>,
    pub timeout: Duration,
}

impl fmt::Display for SmtpServer {
    /// Never the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.security {
            Security::Tls => "smtps",
            Security::StartTls => "smtp (STARTTLS)",
            Security::Plain => "smtp (plain)",
        };
        write!(f, "{scheme} {}:{}", self.host, self.port)?;
        if let Some(user) = &self.user {
            write!(f, " as {user}")?;
        }
        Ok(())
    }
}

/// `smtp://[USER:PASSWORD@]HOST[:PORT][?tls=required|none][&timeout=SECONDS]` or
/// `smtps://[USER:PASSWORD@]HOST[:PORT][?timeout=SECONDS]`.
pub fn parse_url(text: &str) -> Result<SmtpServer, String> {
    let bad =
        |why: &str| format!("IPLS_SMTP_URL: {why} (smtp://user:password@host:587 or smtps://host)");
    let url = url::Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
    let mut security = match url.scheme() {
        "smtps" => Security::Tls,
        "smtp" => Security::StartTls,
        other => return Err(bad(&format!("the scheme is {other:?}"))),
    };
    let mut timeout = DEFAULT_TIMEOUT;
    for (name, value) in url.query_pairs() {
        match (name.as_ref(), value.as_ref()) {
            ("tls", "required") if security == Security::StartTls => {}
            ("tls", "none") if security == Security::StartTls => security = Security::Plain,
            ("timeout", seconds) => {
                let seconds: u64 = seconds
                    .parse()
                    .ok()
                    .filter(|s| (1..=300).contains(s))
                    .ok_or_else(|| bad("timeout is 1 to 300 seconds"))?;
                timeout = Duration::from_secs(seconds);
            }
            (name, value) => return Err(bad(&format!("{name}={value} is not understood"))),
        }
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("it names no host"))?
        .trim_matches(|c| c == '[' || c == ']')
        .to_string();
    let port = url.port().unwrap_or(match security {
        Security::Tls => 465,
        Security::StartTls => 587,
        Security::Plain => 25,
    });
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|d| d.into_owned())
            .map_err(|_| bad("the user or password is not valid percent-encoding"))
    };
    let user = match url.username() {
        "" => None,
        name => Some(decode(name)?),
    };
    let password = url.password().map(decode).transpose()?;
    Ok(SmtpServer {
        host,
        port,
        security,
        user,
        password,
        timeout,
    })
}

/// The sender's address (`IPLS_MAIL_FROM`): `ipls@example.com` or `ipls <ipls@example.com>`.
pub fn parse_from(text: &str) -> Result<Mailbox, String> {
    text.trim()
        .parse::<Mailbox>()
        .map_err(|e| format!("IPLS_MAIL_FROM: {text:?} is not a mail address ({e})"))
}

/// Why a message did not go.
#[derive(Debug)]
pub enum MailError {
    /// The server refused it for good (SMTP 5xx, or an address it will never take).
    Refused(String),
    /// It may go later: no connection, a timeout, a 4xx.
    Failed(String),
}

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailError::Refused(why) => write!(f, "refused: {why}"),
            MailError::Failed(why) => write!(f, "not sent: {why}"),
        }
    }
}

/// One plain-text message.
pub struct Outgoing<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    /// The Message-ID's left part (the sender's domain is added); None: a random one.
    pub message_id: Option<&'a str>,
    /// A file name and its text, attached as CSV.
    pub attachment: Option<(&'a str, &'a str)>,
}

/// Sends mail through one SMTP server. Blocking: the server calls it off its async workers.
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
    pub server: String,
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> Result<Self, String> {
        let server = &settings.server;
        let tls = || {
            TlsParameters::new(server.host.clone())
                .map_err(|e| format!("TLS for {}: {e}", server.host))
        };
        let builder = SmtpTransport::builder_dangerous(&server.host)
            .port(server.port)
            .timeout(Some(server.timeout));
        let builder = match server.security {
            Security::Tls => builder.tls(Tls::Wrapper(tls()?)),
            Security::StartTls => builder.tls(Tls::Required(tls()?)),
            Security::Plain => builder.tls(Tls::None),
        };
        let builder = match (&server.user, &server.password) {
            (Some(user), password) => builder.credentials(Credentials::new(
                user.clone(),
                password.clone().unwrap_or_default(),
            )),
            (None, _) => builder,
        };
        Ok(Self {
            transport: builder.build(),
            from: settings.from.clone(),
            server: server.to_string(),
        })
    }

    /// Whether the server answers (connects and greets), for `ipls doctor`.
    pub fn check(&self) -> Result<(), String> {
        match self.transport.test_connection() {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!("{} did not answer", self.server)),
            Err(e) => Err(format!("{}: {e}", self.server)),
        }
    }

    pub fn send(&self, message: &Outgoing<'_>) -> Result<(), MailError> {
        let to = message.to.parse::<Mailbox>().map_err(|e| {
            MailError::Refused(format!("{:?} is not a mail address ({e})", message.to))
        })?;
        // The same id on every attempt of a queued message; else `<random@this host>`, so that
        // replies and bounces can name the message.
        let id = message
            .message_id
            .map(|left| format!("<{left}@{}>", self.from.email.domain()));
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .message_id(id)
            .subject(message.subject);
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(message.text.to_string());
        let built =
            match message.attachment {
                None => builder.singlepart(text),
                Some((name, content)) => {
                    let csv = ContentType::parse("text/csv; charset=utf-8")
                        .map_err(|e| MailError::Refused(e.to_string()))?;
                    builder.multipart(MultiPart::mixed().singlepart(text).singlepart(
                        Attachment::new(name.to_string()).body(content.to_string(), csv),
                    ))
                }
            };
        let email = built.map_err(|e| MailError::Refused(e.to_string()))?;
        self.transport.send(&email).map(|_| ()).map_err(|e| {
            if e.is_permanent() {
                MailError::Refused(e.to_string())
            } else {
                MailError::Failed(e.to_string())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_server_and_how_to_reach_it() {
        let s = parse_url("smtp://mailer:p%40ss@mail.example.com").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.security),
            ("mail.example.com", 587, Security::StartTls)
        );
        assert_eq!(
            (s.user.as_deref(), s.password.as_deref()),
            (Some("mailer"), Some("p@ss"))
        );
        assert_eq!(
            s.to_string(),
            "smtp (STARTTLS) mail.example.com:587 as mailer"
        );
        let s = parse_url("smtps://mail.example.com?timeout=30").unwrap();
        assert_eq!(
            (s.port, s.security, s.timeout),
            (465, Security::Tls, Duration::from_secs(30))
        );
        let s = parse_url("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!((s.port, s.security), (2525, Security::Plain));
        for bad in [
            "http://mail.example.com",
            "smtp://",
            "smtp://h?tls=maybe",
            "smtps://h?tls=none",
            "smtp://h?timeout=0",
            "smtp://h?colour=red",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
        assert!(parse_from("ipls <ipls@example.com>").is_ok());
        assert!(parse_from("not an address").is_err());
    }
}
