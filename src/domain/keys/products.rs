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

/// CloudLinux OS keys (API v2's `productType`) and their catalogue types (keys.md).
pub const CLOUDLINUX_CODES: [(&str, i32); 4] =
    [("CL", 1), ("CLP", 1002), ("CLS", 4), ("CLADMIN", 5)];

/// ELS keys' product codes (ours but `CELS`, CLN's sample), one per ELS type of the
/// catalogue; a key is `CODE-` and 24 characters.
pub const ELS_CODES: [(&str, i32); 15] = [
    ("CELS", 3),
    ("OELS", 5003),
    ("UELS16", 5004),
    ("CELS8", 5005),
    ("CELS_SLA", 5011),
    ("CELS8_SLA", 5012),
    ("OELS_SLA", 5013),
    ("UELS16_SLA", 5014),
    ("CELS7", 5017),
    ("CELS7C", 5018),
    ("UELS18", 5019),
    ("UELS18_SLA", 5020),
    ("CELS8S", 5034),
    ("CELS8S_SLA", 5035),
    ("ESU", 7215),
];

const KERNELCARE_CODES: [(&str, i32); 1] = [("kcare", KERNELCARE_TYPE)];

/// The key products: each key API sees only its own product's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    KernelCare,
    Imunify,
    CloudLinux,
    Els,
}

impl Product {
    pub const ALL: [Product; 4] = [
        Product::KernelCare,
        Product::Imunify,
        Product::CloudLinux,
        Product::Els,
    ];

    /// The product's codes and the license types they stand for.
    pub fn codes(self) -> &'static [(&'static str, i32)] {
        match self {
            Product::KernelCare => &KERNELCARE_CODES,
            Product::Imunify => &IMUNIFY_CODES,
            Product::CloudLinux => &CLOUDLINUX_CODES,
            Product::Els => &ELS_CODES,
        }
    }

    /// The product a license type's keys belong to; None for types that take no keys.
    pub fn of_type(type_id: i32) -> Option<Product> {
        Product::ALL
            .into_iter()
            .find(|p| p.codes().iter().any(|(_, t)| *t == type_id))
    }

    /// The license types of this product's keys.
    pub fn types(self) -> Vec<i32> {
        self.codes().iter().map(|(_, t)| *t).collect()
    }

    /// The types a listing covers: the one a `productType` named, or all of the product's.
    pub fn types_or(self, only: Option<i32>) -> Vec<i32> {
        only.map_or_else(|| self.types(), |t| vec![t])
    }

    pub fn name(self) -> &'static str {
        match self {
            Product::KernelCare => "KernelCare",
            Product::Imunify => "Imunify",
            Product::CloudLinux => "CloudLinux OS",
            Product::Els => "ELS",
        }
    }

    /// The product's slug in console addresses (`/console/keys?product=`).
    pub fn slug(self) -> &'static str {
        match self {
            Product::KernelCare => "kcare",
            Product::Imunify => "imunify",
            Product::CloudLinux => "cloudlinux",
            Product::Els => "els",
        }
    }

    pub fn from_slug(text: &str) -> Option<Product> {
        Product::ALL.into_iter().find(|p| p.slug() == text)
    }

    /// Whether `text` has the shape of this product's keys (no database work otherwise).
    pub fn is_key_shaped(self, text: &str) -> bool {
        match self {
            Product::KernelCare => is_random_part(text, ID_LENGTH),
            Product::Imunify => text
                .strip_prefix("IM")
                .is_some_and(|rest| is_random_part(rest, ID_LENGTH)),
            Product::CloudLinux => text.split_once('-').is_some_and(|(account, hex)| {
                (1..=12).contains(&account.len())
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && hex.len() == 32
                    && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            }),
            Product::Els => text.split_once('-').is_some_and(|(code, rest)| {
                ELS_CODES.iter().any(|(c, _)| *c == code) && is_random_part(rest, ELS_LENGTH)
            }),
        }
    }
}

fn is_random_part(text: &str, length: usize) -> bool {
    text.len() == length && is_alphanumeric(text)
}

/// `kcare` (or `kernelcare`, `16`) or a product code of another key product, any case, as a
/// license type: how the CLI and the admin API name a key's product.
pub fn parse_product(text: &str) -> Option<i32> {
    let text = text.trim();
    if ["kcare", "kernelcare", "16"].contains(&text.to_ascii_lowercase().as_str()) {
        return Some(KERNELCARE_TYPE);
    }
    let upper = text.to_ascii_uppercase();
    all_codes().find(|(code, _)| *code == upper).map(|(_, t)| t)
}

fn all_codes() -> impl Iterator<Item = (&'static str, i32)> {
    Product::ALL
        .into_iter()
        .flat_map(|p| p.codes().iter().copied())
}

/// The products' canonical names, as the admin API takes them exactly: `kcare` and the
/// other products' codes.
pub fn product_codes() -> Vec<&'static str> {
    all_codes().map(|(code, _)| code).collect()
}

/// A canonical product name (`product_codes`), exactly, as a license type.
pub fn parse_product_code(text: &str) -> Option<i32> {
    all_codes().find(|(code, _)| *code == text).map(|(_, t)| t)
}

/// The product as the CLI and the admin API show it: `kcare` or the product code.
pub fn product_name(type_id: i32) -> &'static str {
    all_codes()
        .find(|(_, t)| *t == type_id)
        .map_or("kcare", |(code, _)| code)
}

/// Every license type that takes keys.
pub fn key_types() -> impl Iterator<Item = i32> {
    all_codes().map(|(_, t)| t)
}

/// A code of `product`, any case, as its license type.
pub fn code_type(product: Product, code: &str) -> Option<i32> {
    product
        .codes()
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, t)| *t)
}

/// The code `product` names `type_id` by.
pub fn type_code(product: Product, type_id: i32) -> Option<&'static str> {
    product
        .codes()
        .iter()
        .find(|(_, t)| *t == type_id)
        .map(|(c, _)| *c)
}

pub fn imunify_type(code: &str) -> Option<i32> {
    IMUNIFY_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, t)| *t)
}

pub fn imunify_code(type_id: i32) -> Option<&'static str> {
    type_code(Product::Imunify, type_id)
}

/// Keys and server ids have 16 random characters (after `IM` for Imunify keys); ELS keys
/// 24 after their code.
const ID_LENGTH: usize = 16;
const ELS_LENGTH: usize = 24;
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

/// A new key of `type_id` (of `product`) for the reseller `owner`, from the OS generator
/// (at least 95 bits). CloudLinux OS keys start with the account's number, as CLN's do.
pub fn new_key(product: Product, type_id: i32, owner: i64) -> Result<String, DomainError> {
    Ok(match product {
        Product::KernelCare => random_id(false, ID_LENGTH)?,
        Product::Imunify => format!("IM{}", random_id(false, ID_LENGTH)?),
        Product::CloudLinux => {
            format!(
                "{owner}-{}",
                hex::encode(crate::domain::random::bytes::<16>()?)
            )
        }
        Product::Els => {
            let code = type_code(Product::Els, type_id)
                .ok_or_else(|| DomainError::Internal(format!("type {type_id} is not ELS")))?;
            format!("{code}-{}", random_id(false, ELS_LENGTH)?)
        }
    })
}

pub fn new_server_id() -> Result<String, DomainError> {
    random_id(true, ID_LENGTH)
}

/// `length` characters drawn uniformly from the alphabet (rejection sampling keeps it
/// uniform).
fn random_id(letter_first: bool, length: usize) -> Result<String, DomainError> {
    let mut out = String::with_capacity(length);
    let mut pool = [0u8; 64];
    while out.len() < length {
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
            if usize::from(byte) < fair && out.len() < length {
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
            for product in Product::ALL {
                let type_id = product.codes()[0].1;
                let key = new_key(product, type_id, 1231).unwrap();
                for other in Product::ALL {
                    assert_eq!(other.is_key_shaped(&key), other == product, "{key}");
                }
            }
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
        assert!(Product::CloudLinux.is_key_shaped("1231-2b48feedf5b5a0e0609ae028d9275c93"));
        assert!(!Product::CloudLinux.is_key_shaped("1231-2B48FEEDF5B5A0E0609AE028D9275C93"));
        assert!(Product::Els.is_key_shaped("CELS-yUDxBd5ethmGO5d3hnAZEau0"));
        assert!(!Product::Els.is_key_shaped("XELS-yUDxBd5ethmGO5d3hnAZEau0"));
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
        assert_eq!(Product::of_type(1002), Some(Product::CloudLinux));
        assert_eq!(Product::of_type(2), None);
        assert_eq!(Product::of_type(5034), Some(Product::Els));
        assert_eq!(parse_product("clp"), Some(1002));
        assert_eq!(parse_product("CELS"), Some(3));
        assert_eq!(imunify_type("360_2"), None);
    }
}
