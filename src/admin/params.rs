//! Reseller logins by id, to name resellers in answers and to find one by login. (The
//! parameters themselves are typed: `admin::types`.)

use std::collections::HashMap;

use super::error::AdminError;
use crate::db;
use crate::domain::resellers;
use crate::state::AppState;

/// Reseller logins by id, to name them in answers and to find one by login.
pub async fn logins(state: &AppState) -> Result<HashMap<i64, String>, AdminError> {
    Ok(db::run(&state.pool, resellers::logins_by_id).await?)
}

pub fn reseller_id(
    names: &HashMap<i64, String>,
    login: Option<&str>,
) -> Result<Option<i64>, AdminError> {
    match login.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(login) => names
            .iter()
            .find(|(_, l)| l.as_str() == login)
            .map(|(id, _)| Some(*id))
            .ok_or_else(|| AdminError::not_found("no such reseller")),
    }
}
