//! How a command fails: one line on stderr and an exit status, 1 for a failure and 2 for a
//! usage error, including a value ipls itself finds wrong (`error::FACES` gives the domain's).

use crate::error::DomainError;

#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub exit: u8,
}

impl CliError {
    /// The exit status of a usage error.
    pub const USAGE: u8 = 2;

    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit: Self::USAGE,
        }
    }
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        Self { message, exit: 1 }
    }
}

impl From<&str> for CliError {
    fn from(message: &str) -> Self {
        message.to_string().into()
    }
}

/// The operator sees the domain's whole message (database details included); the exit
/// status comes from the table.
impl From<DomainError> for CliError {
    fn from(e: DomainError) -> Self {
        let exit = e.kind().answers().cli_exit;
        let message = match e {
            DomainError::Invalid(m)
            | DomainError::Refused(m)
            | DomainError::NotFound(m)
            | DomainError::Conflict(m) => m,
            other => other.to_string(),
        };
        Self { message, exit }
    }
}
