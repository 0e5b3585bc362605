//! Adding an endpoint, the same from the CLI, the admin API and the console: the URL is
//! checked (syntax, then a safe target, resolving its name), the owner and the event list
//! are read, and the endpoint is created with a new secret.

use chrono::NaiveDateTime;

use super::target;
use crate::db::DbConnection;
use crate::domain::resellers;
use crate::domain::webhooks::endpoints::{self, EndpointView, NewEndpoint};
use crate::domain::webhooks::Subscription;
use crate::error::DomainError;
use crate::secrets::SecretBox;

pub struct EndpointRequest<'a> {
    pub url: &'a str,
    /// The reseller whose events only it receives; None: the operator's, every reseller's.
    pub reseller: Option<&'a str>,
    /// `*` or a comma-separated list.
    pub events: &'a str,
    pub now: NaiveDateTime,
}

/// Blocking (it resolves the URL's host): call it where a database call may block.
pub fn add_endpoint(
    conn: &mut DbConnection,
    request: &EndpointRequest<'_>,
    secrets: &SecretBox,
    allow_private: bool,
) -> Result<(EndpointView, String), DomainError> {
    let url = target::parse(request.url).map_err(DomainError::Refused)?;
    let subscription = Subscription::parse(request.events)?;
    let reseller_id = match request.reseller {
        Some(login) => Some(resellers::get(conn, login)?.id),
        None => None,
    };
    target::check_resolved(&url, allow_private).map_err(DomainError::Refused)?;
    endpoints::create(
        conn,
        &NewEndpoint {
            url: url.as_str(),
            reseller_id,
            subscription: &subscription,
            now: request.now,
        },
        secrets,
    )
}
