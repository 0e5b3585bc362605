//! Which products take activation keys, and the shapes of keys and server ids
//! (contract keys.md, "Formats").

use crate::error::DomainError;

/// The KernelCare type that `kcare/key/create.json` makes keys for.
pub const KERNELCARE_TYPE: i32 = 16;

/// The Imunify key API's product codes and the license types they stand for. `CLEAN` is
/// ours: CLN documents no type number for it, so the catalogue has a row of its own (50).
pub const IMUNIFY_CODES: [(&str, i32); 7] = [
    ("AVP", 40),
    ("360_1", 41),
    ("360_30", 42),
    ("360_250", 43),
    ("360_5", 44),
    ("360_UN", 49),
    ("CLEAN", 50),
];

/// The two key APIs: each sees only its own product's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    KernelCare,
    Imunify,
}

impl Product {
    /// The product a license type's keys belong to; None for types that take no keys.
    pub fn of_type(type_id: i32) -> Option<Product> {
        if type_id == KERNELCARE_TYPE {
            Some(Product::KernelCare)
        } else if imunify_code(type_id).is_some() {
            Some(Product::Imunify)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Product::KernelCare => "KernelCare",
            Product::Imunify => "Imunify",
        }
    }

    fn key_prefix(self) -> &'static str {
        match self {
            Product::KernelCare => "",
            Product::Imunify => "IM",
        }
    }

    /// Whether `text` has the shape of this product's keys (no database work otherwise).
    pub fn is_key_shaped(self, text: &str) -> bool {
        text.strip_prefix(self.key_prefix())
            .is_some_and(|rest| rest.len() == ID_LENGTH && is_alphanumeric(rest))
    }
}

/// `kcare` (or `kernelcare`, `16`) or an Imunify code, any case, as a license type: how
/// the CLI and the admin API name a key's product.
pub fn parse_product(text: &str) -> Option<i32> {
    let text = text.trim();
    if ["kcare", "kernelcare", "16"].contains(&text.to_ascii_lowercase().as_str()) {
        return Some(KERNELCARE_TYPE);
    }
    imunify_type(&text.to_ascii_uppercase())
}

/// The products' canonical names, as the admin API takes them exactly: `kcare` and the
/// Imunify codes.
pub fn product_codes() -> Vec<&'static str> {
    std::iter::once("kcare")
        .chain(IMUNIFY_CODES.iter().map(|(code, _)| *code))
        .collect()
}

/// A canonical product name (`product_codes`), exactly, as a license type.
pub fn parse_product_code(text: &str) -> Option<i32> {
    if text == "kcare" {
        return Some(KERNELCARE_TYPE);
    }
    IMUNIFY_CODES
        .iter()
        .find(|(code, _)| *code == text)
        .map(|(_, t)| *t)
}

/// The product as the CLI and the admin API show it: `kcare` or the Imunify code.
pub fn product_name(type_id: i32) -> &'static str {
    imunify_code(type_id).unwrap_or("kcare")
}

/// Every license type that takes keys.
pub fn key_types() -> impl Iterator<Item = i32> {
    std::iter::once(KERNELCARE_TYPE).chain(IMUNIFY_CODES.iter().map(|(_, t)| *t))
}

pub fn imunify_type(code: &str) -> Option<i32> {
    IMUNIFY_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, t)| *t)
}

pub fn imunify_code(type_id: i32) -> Option<&'static str> {
    IMUNIFY_CODES
        .iter()
        .find(|(_, t)| *t == type_id)
        .map(|(c, _)| *c)
}

/// Keys and server ids have 16 random characters (after `IM` for Imunify keys).
const ID_LENGTH: usize = 16;
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LETTERS: usize = 52;

fn is_alphanumeric(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A server id: 16 characters `[A-Za-z0-9]`, the first a letter.
pub fn is_server_id_shaped(text: &str) -> bool {
    text.len() == ID_LENGTH
        && is_alphanumeric(text)
        && text.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
}

/// A new key for `product`, from the OS generator (about 95 bits).
pub fn new_key(product: Product) -> Result<String, DomainError> {
    Ok(format!("{}{}", product.key_prefix(), random_id(false)?))
}

pub fn new_server_id() -> Result<String, DomainError> {
    random_id(true)
}

/// 16 characters drawn uniformly from the alphabet (rejection sampling keeps it uniform).
fn random_id(letter_first: bool) -> Result<String, DomainError> {
    let mut out = String::with_capacity(ID_LENGTH);
    let mut pool = [0u8; 64];
    while out.len() < ID_LENGTH {
        getrandom::fill(&mut pool)
            .map_err(|e| DomainError::Internal(format!("no randomness from the OS: {e}")))?;
        for byte in pool {
            let range = if out.is_empty() && letter_first {
                LETTERS
            } else {
                ALPHABET.len()
            };
            // The largest multiple of `range` below 256: bytes above it would bias the draw.
            let fair = 256 - 256 % range;
            if usize::from(byte) < fair && out.len() < ID_LENGTH {
                out.push(char::from(ALPHABET[usize::from(byte) % range]));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_have_their_shapes() {
        for _ in 0..200 {
            let kc = new_key(Product::KernelCare).unwrap();
            assert!(Product::KernelCare.is_key_shaped(&kc), "{kc}");
            assert!(!Product::Imunify.is_key_shaped(&kc), "{kc}");
            let im = new_key(Product::Imunify).unwrap();
            assert!(Product::Imunify.is_key_shaped(&im), "{im}");
            let server = new_server_id().unwrap();
            assert!(is_server_id_shaped(&server), "{server}");
        }
    }

    #[test]
    fn shapes_refuse_other_text() {
        assert!(!Product::KernelCare.is_key_shaped("short"));
        assert!(!Product::KernelCare.is_key_shaped("WsTs821nSAtias-D"));
        assert!(!Product::KernelCare.is_key_shaped("WsTs821nSAtiastDx"));
        assert!(!is_server_id_shaped("1b3dEf6hIj9kLm2N"));
        assert!(is_server_id_shaped("Ab3dEf6hIj9kLm2N"));
    }

    #[test]
    fn codes_and_types_map_both_ways() {
        for (code, type_id) in IMUNIFY_CODES {
            assert_eq!(imunify_type(code), Some(type_id));
            assert_eq!(imunify_code(type_id), Some(code));
            assert_eq!(Product::of_type(type_id), Some(Product::Imunify));
        }
        assert_eq!(Product::of_type(16), Some(Product::KernelCare));
        assert_eq!(Product::of_type(17), None);
        assert_eq!(imunify_type("360_2"), None);
    }
}
