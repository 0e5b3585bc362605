//! Query strings and form bodies: reading every parameter kind never panics.
#![no_main]

use ipls::api::call::Call;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.len() / 2;
    let query = String::from_utf8_lossy(&data[..split]);
    let call = Call::from_parts(&query, &data[split..], "127.0.0.1".into());
    let _ = call.params::<ipls::api::rest::RegisterParams>();
    let _ = call.params::<ipls::api::rest::UpdateParams>();
    let _ = call.params::<ipls::api::rest::ServerParams>();
    let _ = call.get("token").map(ipls::auth::parse);
});
