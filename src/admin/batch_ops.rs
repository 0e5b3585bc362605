//! The operations a batch (`admin::batches`) may hold, read one by one so that a bad one is
//! named by its index, and each run through the same domain call as its own endpoint.

use chrono::Duration;
use serde::Deserialize;

use super::types::{IpValue, Login, TypeNumber};
use crate::db::models::License;
use crate::db::DbConnection;
use crate::domain::licenses::{self, AnnotationChange, Registration};
use crate::domain::{Actor, Policy};
use crate::error::DomainError;

/// One operation of a batch. `type` absent: every type the reseller holds on the IP (not
/// for register).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum BatchOp {
    Register {
        reseller: Login,
        ip: IpValue,
        #[serde(rename = "type")]
        #[schema(value_type = TypeNumber)]
        type_id: TypeNumber,
        #[serde(default)]
        els_allowed: bool,
        note: Option<String>,
        external_id: Option<String>,
    },
    Remove {
        reseller: Login,
        ip: IpValue,
        #[serde(rename = "type")]
        #[schema(value_type = Option<TypeNumber>)]
        type_id: Option<TypeNumber>,
    },
    Move {
        reseller: Login,
        ip: IpValue,
        new_ip: IpValue,
        #[serde(rename = "type")]
        #[schema(value_type = Option<TypeNumber>)]
        type_id: Option<TypeNumber>,
    },
    Suspend {
        reseller: Login,
        ip: IpValue,
        #[serde(rename = "type")]
        #[schema(value_type = Option<TypeNumber>)]
        type_id: Option<TypeNumber>,
        reason: String,
        /// e.g. `14d`.
        remove_after: Option<String>,
    },
    Resume {
        reseller: Login,
        ip: IpValue,
        #[serde(rename = "type")]
        #[schema(value_type = Option<TypeNumber>)]
        type_id: Option<TypeNumber>,
    },
    Note {
        reseller: Login,
        ip: IpValue,
        #[serde(rename = "type")]
        #[schema(value_type = Option<TypeNumber>)]
        type_id: Option<TypeNumber>,
        /// "" clears it; absent leaves it.
        note: Option<String>,
        /// "" clears it; absent leaves it.
        external_id: Option<String>,
    },
}

/// What an operation did: the licenses it left (register, move, suspend, resume, note), or
/// whether a remove found anything.
#[derive(Debug, Clone)]
pub enum Done {
    Licenses(Vec<License>),
    Removed(bool),
}

impl BatchOp {
    pub fn name(&self) -> &'static str {
        match self {
            BatchOp::Register { .. } => "register",
            BatchOp::Remove { .. } => "remove",
            BatchOp::Move { .. } => "move",
            BatchOp::Suspend { .. } => "suspend",
            BatchOp::Resume { .. } => "resume",
            BatchOp::Note { .. } => "note",
        }
    }

    pub fn reseller(&self) -> &str {
        match self {
            BatchOp::Register { reseller, .. }
            | BatchOp::Remove { reseller, .. }
            | BatchOp::Move { reseller, .. }
            | BatchOp::Suspend { reseller, .. }
            | BatchOp::Resume { reseller, .. }
            | BatchOp::Note { reseller, .. } => &reseller.0,
        }
    }

    /// The type a registration registers, when this is one (read, not checked).
    pub fn registered_type(&self) -> Option<i32> {
        match self {
            BatchOp::Register { type_id, .. } => Some(type_id.0),
            _ => None,
        }
    }

    /// A registration, when this is one (it goes through the relay outside an atomic batch).
    pub fn registration(&self) -> Result<Option<Registration>, DomainError> {
        let BatchOp::Register {
            ip,
            type_id,
            els_allowed,
            note,
            external_id,
            ..
        } = self
        else {
            return Ok(None);
        };
        Ok(Some(Registration {
            ip: ip.0,
            type_id: type_id.0,
            els_allowed: *els_allowed,
            note: licenses::note_text(note.as_deref().unwrap_or(""))?,
            external_id: licenses::external_id_text(external_id.as_deref().unwrap_or(""))?,
        }))
    }

    /// Runs the operation as `actor`, in the caller's transaction (nested, in an atomic batch).
    pub fn apply(
        &self,
        conn: &mut DbConnection,
        actor: &Actor<'_>,
        policy: &Policy,
    ) -> Result<Done, DomainError> {
        let licenses = match self {
            BatchOp::Register { .. } => {
                let request = self
                    .registration()?
                    .ok_or_else(|| DomainError::Internal("not a registration".into()))?;
                vec![licenses::register(conn, actor, policy, &request)?]
            }
            BatchOp::Remove { ip, type_id, .. } => {
                let removed = licenses::remove(conn, actor, &ip.0, type_id.map(|t| t.0))?;
                return Ok(Done::Removed(removed));
            }
            BatchOp::Move {
                ip,
                new_ip,
                type_id,
                ..
            } => licenses::move_licenses(
                conn,
                actor,
                policy,
                &ip.0,
                &new_ip.0,
                type_id.map(|t| t.0),
            )?,
            BatchOp::Suspend {
                ip,
                type_id,
                reason,
                remove_after,
                ..
            } => {
                let grace = grace_of(remove_after.as_deref())?;
                licenses::suspend(conn, actor, &ip.0, type_id.map(|t| t.0), reason, grace)?
            }
            BatchOp::Resume { ip, type_id, .. } => {
                licenses::resume(conn, actor, &ip.0, type_id.map(|t| t.0))?
            }
            BatchOp::Note {
                ip,
                type_id,
                note,
                external_id,
                ..
            } => {
                let change = AnnotationChange {
                    note: note.as_deref().map(licenses::note_text).transpose()?,
                    external_id: external_id
                        .as_deref()
                        .map(licenses::external_id_text)
                        .transpose()?,
                };
                licenses::annotate(conn, actor, &ip.0, type_id.map(|t| t.0), &change)?
            }
        };
        Ok(Done::Licenses(licenses))
    }
}

fn grace_of(text: Option<&str>) -> Result<Option<Duration>, DomainError> {
    text.map(|t| crate::wire::duration(t).map_err(DomainError::invalid))
        .transpose()
}
