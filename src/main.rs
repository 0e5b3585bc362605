//! `ipls`: the server and its operator commands.

use std::process::ExitCode;

fn main() -> ExitCode {
    match ipls::cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line, whatever the cause: libpq's messages span several. A command that
            // already said why it exits non-zero (a reconcile's summary) adds nothing.
            let words: Vec<&str> = error.message.split_whitespace().collect();
            if !words.is_empty() {
                eprintln!("error: {}", words.join(" "));
            }
            ExitCode::from(error.exit)
        }
    }
}
