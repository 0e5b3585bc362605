//! The values of the upstreams' resources (`admin::upstreams`).

use serde::de::Deserializer;
use serde::Deserialize;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::{matches_documented, parsed, text};
use crate::domain::upstream::upstreams::{normalise_url, validate_name, MAX_SECRET_CHARS};
use crate::wire::patterns;

text_value!(
    /// An upstream's name: 1 to 40 letters, digits, '.', '_' or '-'.
    UpstreamName(String),
    "an upstream's name has 1 to 40 letters, digits, '.', '_' or '-'",
    |t: &str| validate_name(t).ok().map(|()| t.to_string()),
    text(r"^[A-Za-z0-9._-]{1,40}$", "An upstream's name")
);

text_value!(
    /// An upstream's base URL.
    UpstreamUrl(String),
    "an upstream URL is http:// or https://, a host, an optional port and path",
    |t: &str| normalise_url(t).ok().map(|_| t.to_string()),
    text(&patterns::upstream_url(), "The upstream's base URL, e.g. https://cln.cloudlinux.com")
        .max_length(Some(2_000))
);

text_value!(
    /// ipls's secret at the upstream.
    UpstreamSecret(String),
    "the secret has 1 to 1,000 characters, not only spaces, and no NUL",
    |t: &str| (t.chars().count() <= MAX_SECRET_CHARS).then(|| t.to_string()),
    text(patterns::NOT_BLANK, "ipls's secret at the upstream (sealed, never shown again)")
        .max_length(Some(MAX_SECRET_CHARS))
);
