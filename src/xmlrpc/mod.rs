//! XML-RPC as CLN speaks it (contract §4): request parsing, response writing, fault codes.
//! Pure code: no HTTP, no database.

mod parse;
mod write;

pub use parse::parse_request;
pub use write::{response, write_fault, write_value, RESPONSE_HEAD, RESPONSE_TAIL};

/// An XML-RPC value as received or sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Bool(bool),
    Str(String),
    Double(f64),
    /// `base64` and `dateTime.iso8601` payloads, kept as text (no method takes them).
    Other(String),
    Nil,
    Array(Vec<Value>),
    Struct(Vec<(String, Value)>),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    pub method: String,
    pub params: Vec<Value>,
}

/// Fault codes of CLN's XML-RPC API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    Internal = 1,
    NotAuthorized = 10,
    InvalidArguments = 30,
    InvalidIp = 40,
    /// Spacewalk's "Could not find token" (an unknown or unusable activation key).
    TokenNotFound = 60,
    /// Spacewalk's "Too many systems registered using this registration token".
    TokenFull = 61,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault {}: {message}", *code as i32)]
pub struct Fault {
    pub code: FaultCode,
    pub message: String,
}

impl FaultCode {
    /// The code of a number in `error::FACES` (a number it does not know is internal).
    pub fn from_number(n: i32) -> Self {
        match n {
            10 => FaultCode::NotAuthorized,
            30 => FaultCode::InvalidArguments,
            40 => FaultCode::InvalidIp,
            60 => FaultCode::TokenNotFound,
            61 => FaultCode::TokenFull,
            _ => FaultCode::Internal,
        }
    }
}

impl Fault {
    pub fn new(code: FaultCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(FaultCode::InvalidArguments, message)
    }
}
