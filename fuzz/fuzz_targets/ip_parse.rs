//! IP parsing: no panic, and the canonical form is a fixed point (parse . print = id).
#![no_main]

use ipls::domain::ip::LicenseIp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    if let Some(ip) = LicenseIp::parse(data) {
        let canonical = ip.to_string();
        assert_eq!(LicenseIp::parse(&canonical), Some(ip));
        let _ = ip.non_public_reason();
    }
});
