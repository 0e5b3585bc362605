//! Running a domain mutation as the authenticated reseller, shared by REST and XML-RPC.

use crate::db::{self, models::Reseller, DbConnection};
use crate::domain::{Actor, Policy};
use crate::error::DomainError;
use crate::state::AppState;

/// Runs `f` on the blocking pool with the actor (reseller, caller's address, now) and
/// the operator's policy.
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
    let policy = state.policy();
    let now = state.clock.now().naive_utc();
    let source = peer.to_string();
    db::run(&state.pool, move |c| {
        let actor = Actor {
            reseller: &reseller,
            source: &source,
            now,
        };
        f(c, &actor, &policy)
    })
    .await
}
