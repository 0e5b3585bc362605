//! Running a domain mutation as the authenticated reseller, shared by REST and XML-RPC: the
//! one `AppState::act_as`, with the caller's address as the history's source.

use crate::db::{models::Reseller, DbConnection};
use crate::domain::{ActingFor, Actor, Policy, Source};
use crate::error::DomainError;
use crate::state::AppState;

pub async fn run_as<T, F>(
    state: &AppState,
    peer: &str,
    reseller: Reseller,
    f: F,
) -> Result<T, DomainError>
where
    F: FnOnce(&mut DbConnection, &Actor<'_>, &Policy) -> Result<T, DomainError> + Send + 'static,
    T: Send + 'static,
{
    let source = Source::Address(peer.to_string());
    state.act_as(ActingFor::Reseller(reseller), source, f).await
}
