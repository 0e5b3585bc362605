//! One attempt: POST the payload with the Standard Webhooks headers and read at most the
//! logged part of the answer. Redirects are not followed, proxies from the environment are
//! not used, and the whole attempt is bounded by the configured timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::redirect::Policy;
use reqwest::{Client, Url};

use super::settings::WebhookSettings;
use super::signature;
use super::target::{self, SafeResolver};
use crate::domain::webhooks::deliveries::LOGGED_ANSWER_BYTES;

pub fn client(settings: &WebhookSettings) -> Result<Client, String> {
    Client::builder()
        .redirect(Policy::none())
        .no_proxy()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
        .dns_resolver(Arc::new(SafeResolver {
            allow_private: settings.allow_private,
        }))
        .user_agent(concat!("ipls-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))
}

/// What the endpoint answered, or why there was no answer.
pub struct Answer {
    pub status: Option<u16>,
    pub elapsed: Duration,
    pub body: Vec<u8>,
    pub error: Option<String>,
}

impl Answer {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

pub struct Message<'a> {
    pub url: &'a str,
    pub signing_key: &'a [u8],
    pub message_id: &'a str,
    /// The attempt's time (Unix seconds): receivers refuse stale or future timestamps.
    pub timestamp: i64,
    pub body: &'a str,
}

pub async fn send(client: &Client, message: &Message<'_>, allow_private: bool) -> Answer {
    let started = Instant::now();
    let failed = |error: String| Answer {
        status: None,
        elapsed: started.elapsed(),
        body: Vec::new(),
        error: Some(error),
    };
    let url = match Url::parse(message.url) {
        Ok(url) => url,
        Err(e) => return failed(format!("bad URL: {e}")),
    };
    if let Err(why) = target::check_literal(&url, allow_private) {
        return failed(why);
    }
    let signature = match signature::sign(
        message.signing_key,
        message.message_id,
        message.timestamp,
        message.body.as_bytes(),
    ) {
        Ok(signature) => signature,
        Err(e) => return failed(e),
    };
    let request = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", message.message_id)
        .header("webhook-timestamp", message.timestamp.to_string())
        .header("webhook-signature", signature)
        .body(message.body.to_string());
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => return failed(describe(&e)),
    };
    let status = response.status().as_u16();
    let mut response = response;
    let mut body = Vec::new();
    // Only what the log keeps is read; the rest of a large answer is dropped unread.
    while body.len() < LOGGED_ANSWER_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    Answer {
        status: Some(status),
        elapsed: started.elapsed(),
        body,
        error: None,
    }
}

/// reqwest's error with its causes (the resolver's refusal is a cause of a connect error).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
