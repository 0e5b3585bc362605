//! Reseller tokens (contract §1): `LOGIN|TS|HASH`, where HASH is either the legacy
//! `sha1_hex(SECRET + TS)` (40 hex) or `hmac_sha256_hex(SECRET, "LOGIN|TS")` (64 hex).
//! Pure functions: parsing, minting and verification, no database. A leaf: `auth` verifies
//! resellers' tokens with it, and the relay (`upstream`) mints ipls's own for its upstreams.

use hmac::{Hmac, Mac};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Longest token considered at all; anything longer is malformed (login 64 + ts + hash).
const MAX_TOKEN_LEN: usize = 160;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashForm {
    LegacySha1,
    HmacSha256,
}

/// A token split into its parts; nothing verified yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    pub login: &'a str,
    /// The timestamp exactly as sent: the hash covers these characters.
    pub ts_text: &'a str,
    pub ts: i64,
    pub form: HashForm,
    pub digest: Vec<u8>,
}

/// Splits `LOGIN|TS|HASH`. None for anything malformed.
pub fn parse(token: &str) -> Option<Token<'_>> {
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let mut parts = token.rsplitn(3, '|');
    let hash = parts.next()?;
    let ts_text = parts.next()?;
    let login = parts.next()?;
    if login.is_empty() || ts_text.is_empty() || ts_text.len() > 12 {
        return None;
    }
    if !ts_text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ts = ts_text.parse().ok()?;
    let form = match hash.len() {
        40 => HashForm::LegacySha1,
        64 => HashForm::HmacSha256,
        _ => return None,
    };
    // hex::decode accepts both cases: hex is compared case-insensitively.
    let digest = hex::decode(hash).ok()?;
    Some(Token {
        login,
        ts_text,
        ts,
        form,
        digest,
    })
}

/// Whether `ts` lies within `window` seconds of `now`, either side.
pub fn within_window(ts: i64, now: i64, window: i64) -> bool {
    now.checked_sub(ts).is_some_and(|d| d.abs() <= window)
}

pub fn legacy_digest(secret: &str, ts_text: &str) -> Vec<u8> {
    let mut sha = Sha1::new();
    sha.update(secret.as_bytes());
    sha.update(ts_text.as_bytes());
    sha.finalize().to_vec()
}

pub fn hmac_digest(secret: &str, login: &str, ts_text: &str) -> Vec<u8> {
    // HMAC takes keys of any length, so new_from_slice cannot fail here.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    mac.update(login.as_bytes());
    mac.update(b"|");
    mac.update(ts_text.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Checks the token's hash against the reseller's secret in constant time.
/// `allow_legacy` false refuses the sha1 form outright.
pub fn verify(token: &Token<'_>, secret: &str, allow_legacy: bool) -> bool {
    let expected = match token.form {
        HashForm::LegacySha1 if !allow_legacy => return false,
        HashForm::LegacySha1 => legacy_digest(secret, token.ts_text),
        HashForm::HmacSha256 => hmac_digest(secret, token.login, token.ts_text),
    };
    !expected.is_empty() && bool::from(expected.ct_eq(&token.digest))
}

/// Mints a token, as clients do (the `ipls token` command, tests, the demo line).
pub fn mint(login: &str, secret: &str, ts: i64, form: HashForm) -> String {
    let ts_text = ts.to_string();
    let digest = match form {
        HashForm::LegacySha1 => legacy_digest(secret, &ts_text),
        HashForm::HmacSha256 => hmac_digest(secret, login, &ts_text),
    };
    format!("{login}|{ts_text}|{}", hex::encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123";

    #[test]
    fn legacy_hash_is_sha1_of_secret_and_ts() {
        // sha1("0123456789abcdef01231700000000"), computed independently with sha1sum.
        let token = mint("r1", SECRET, 1_700_000_000, HashForm::LegacySha1);
        assert_eq!(
            token,
            "r1|1700000000|446647255834648e0bb08ce536669c964e0f94dd"
        );
    }

    #[test]
    fn both_forms_verify_with_the_right_secret_only() {
        for form in [HashForm::LegacySha1, HashForm::HmacSha256] {
            let token = mint("r1", SECRET, 1_700_000_000, form);
            let parsed = parse(&token).unwrap();
            assert_eq!(parsed.form, form);
            assert!(verify(&parsed, SECRET, true));
            assert!(!verify(&parsed, "another-secret-000", true));
        }
    }

    #[test]
    fn legacy_can_be_switched_off() {
        let legacy = mint("r1", SECRET, 1_700_000_000, HashForm::LegacySha1);
        assert!(!verify(&parse(&legacy).unwrap(), SECRET, false));
        let hmac = mint("r1", SECRET, 1_700_000_000, HashForm::HmacSha256);
        assert!(verify(&parse(&hmac).unwrap(), SECRET, false));
    }

    #[test]
    fn hex_case_does_not_matter() {
        let token = mint("r1", SECRET, 1_700_000_000, HashForm::LegacySha1).to_uppercase();
        let token = token.replacen("R1", "r1", 1);
        assert!(verify(&parse(&token).unwrap(), SECRET, true));
    }

    #[test]
    fn hmac_binds_the_login() {
        let token = mint("r1", SECRET, 1_700_000_000, HashForm::HmacSha256);
        let forged = token.replacen("r1", "r2", 1);
        assert!(!verify(&parse(&forged).unwrap(), SECRET, true));
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        let good_hash = "a".repeat(40);
        for bad in [
            String::new(),
            "r1".into(),
            "r1|1700000000".into(),
            format!("|1700000000|{good_hash}"),
            format!("r1||{good_hash}"),
            format!("r1|-5|{good_hash}"),
            format!("r1|17e8|{good_hash}"),
            format!("r1|1700000000|{}", "a".repeat(39)),
            format!("r1|1700000000|{}", "g".repeat(40)),
            format!("r1|1700000000000000|{good_hash}"),
            format!("{}|1700000000|{good_hash}", "x".repeat(200)),
        ] {
            assert_eq!(parse(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn window_is_symmetric_and_inclusive() {
        assert!(within_window(1000, 1300, 300));
        assert!(within_window(1300, 1000, 300));
        assert!(!within_window(1000, 1301, 300));
        assert!(!within_window(1301, 1000, 300));
        assert!(!within_window(i64::MIN, i64::MAX, 300));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn form() -> impl Strategy<Value = HashForm> {
            prop_oneof![Just(HashForm::LegacySha1), Just(HashForm::HmacSha256)]
        }

        proptest! {
            #[test]
            fn only_the_right_secret_verifies(
                login in "[a-z0-9._@-]{1,32}",
                secret in "[ -~]{16,64}",
                other in "[ -~]{16,64}",
                ts in 0i64..=999_999_999_999,
                form in form(),
            ) {
                let token = mint(&login, &secret, ts, form);
                let parsed = parse(&token).expect("minted tokens parse");
                prop_assert_eq!(parsed.login, login.as_str());
                prop_assert_eq!(parsed.ts, ts);
                prop_assert!(verify(&parsed, &secret, true));
                prop_assert_eq!(verify(&parsed, &other, true), other == secret);
            }

            #[test]
            fn any_changed_hash_digit_fails(
                secret in "[a-z0-9]{16,40}",
                ts in 0i64..=999_999_999_999,
                form in form(),
                position in 0usize..64,
            ) {
                let token = mint("acme", &secret, ts, form);
                let (head, hash) = token.rsplit_once('|').expect("three parts");
                let position = position % hash.len();
                let mut digits: Vec<char> = hash.chars().collect();
                digits[position] = if digits[position] == '0' { '1' } else { '0' };
                let forged = format!("{head}|{}", digits.into_iter().collect::<String>());
                prop_assert!(!verify(&parse(&forged).expect("still well-formed"), &secret, true));
            }

            #[test]
            fn window_is_exactly_the_distance(ts in any::<i64>(), now in any::<i64>(), window in 0i64..100_000) {
                let expected = i128::from(now).abs_diff(i128::from(ts)) <= window as u128;
                prop_assert_eq!(within_window(ts, now, window), expected);
            }

            #[test]
            fn parsing_never_panics(text in "\\PC{0,200}") {
                let _ = parse(&text);
            }
        }
    }
}
