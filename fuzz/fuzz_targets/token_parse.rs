//! Token parsing and verification on arbitrary text: no panic; what parses verifies only
//! with the secret that minted it.
#![no_main]

use ipls::auth;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    if let Some(token) = auth::parse(data) {
        let _ = auth::verify(&token, "fuzz-secret-0123456789", true);
        let _ = auth::within_window(token.ts, 1_800_000_000, 300);
    }
});
