//! Forms with repeated keys (ticked checkboxes), read as ordered pairs: serde's structs
//! cannot hold a repeated key.

use crate::error::DomainError;

pub struct Pairs(Vec<(String, String)>);

impl Pairs {
    pub fn parse(body: &[u8]) -> Result<Self, DomainError> {
        serde_urlencoded::from_bytes(body)
            .map(Pairs)
            .map_err(|e| DomainError::invalid(format!("unreadable form: {e}")))
    }

    /// The first value of `key`, or "".
    pub fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}
