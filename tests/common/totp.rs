//! RFC 6238 codes computed in the tests themselves (HMAC-SHA-1 over the 30-second step,
//! dynamic truncation, 6 digits), apart from the crate ipls uses, so that a test checks ipls
//! against the RFC and not against itself.

use hmac::{Hmac, Mac};

/// RFC 4648 base32 (no padding), as authenticator apps take a secret.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u64, Vec::new());
    for c in text
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
    {
        let digit = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .expect("a base32 digit") as u64;
        value = (value << 5) | digit;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
            value &= (1 << bits) - 1;
        }
    }
    out
}

/// The code of `secret` for the 30-second step holding `unix_time`, with `digits` digits.
pub fn code_with(secret: &[u8], unix_time: i64, digits: u32) -> String {
    let counter = (unix_time / 30) as u64;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).expect("any key length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let number = u32::from_be_bytes([
        digest[offset],
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]) & 0x7fff_ffff;
    format!(
        "{:0width$}",
        number % 10u32.pow(digits),
        width = digits as usize
    )
}

/// A 6-digit code for the base32 `secret` at `unix_time`.
pub fn code(secret: &str, unix_time: i64) -> String {
    code_with(&base32_decode(secret), unix_time, 6)
}

#[test]
fn rfc_6238_vectors() {
    let secret = b"12345678901234567890";
    assert_eq!(code_with(secret, 59, 8), "94287082");
    assert_eq!(code_with(secret, 1_234_567_890, 8), "89005924");
    assert_eq!(base32_decode("GEZDGNBVGY3TQOJQ"), b"1234567890");
}
