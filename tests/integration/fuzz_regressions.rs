//! Replays every input kept under fuzz/regressions/TARGET/ through the same code the fuzz
//! targets exercise, so a crash the fuzzer once found stays fixed without a fuzzer.

use std::path::PathBuf;

use ipls::api::call::Call;
use ipls::domain::ip::LicenseIp;
use ipls::xmlrpc::parse_request;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<(PathBuf, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read regression input");
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn xmlrpc_inputs_answer_without_panicking() {
    let kept = inputs("xmlrpc_request");
    assert!(
        !kept.is_empty(),
        "fuzz/regressions/xmlrpc_request holds the kept inputs"
    );
    for (path, bytes) in kept {
        let outcome = std::panic::catch_unwind(|| parse_request(&bytes));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn text_inputs_answer_without_panicking() {
    for target in ["token_parse", "ip_parse", "query_params"] {
        for (path, bytes) in inputs(target) {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let outcome = std::panic::catch_unwind(|| {
                let _ = ipls::auth::parse(&text);
                if let Some(ip) = LicenseIp::parse(&text) {
                    assert_eq!(LicenseIp::parse(&ip.to_string()), Some(ip));
                }
                let call = Call::from_parts(&text, &bytes, "127.0.0.1".parse().ok());
                let _ = call.params::<ipls::api::rest::RegisterParams>();
                let _ = call.params::<ipls::api::rest::UpdateParams>();
                let _ = call.params::<ipls::api::rest::ServerParams>();
            });
            assert!(outcome.is_ok(), "{} panicked", path.display());
        }
    }
}
