//! Who is calling: CLN reseller tokens, the credentials cache, failed-authentication
//! budgets, known sources, canonical source addresses, and the actix extractor that
//! handlers take as an argument.

pub mod admin;
pub mod bucket;
pub mod budget;
pub mod cache;
pub mod checkin_limit;
pub mod client_address;
pub mod context;
pub mod error;
pub mod extract;
pub mod known_sources;
pub mod password;
pub mod reseller;
pub mod secret_use;
pub mod session;

pub use crate::token::{
    hmac_digest, legacy_digest, mint, parse, verify, within_window, HashForm, Token,
};
pub use context::{AuthContext, AuthSettings};
pub use error::AuthError;
pub use extract::{Authenticated, CarriesToken};
