//! `ipls`: the server and its operator commands.

use std::process::ExitCode;

fn main() -> ExitCode {
    match ipls::cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // One line, whatever the cause: libpq's messages span several.
            let words: Vec<&str> = message.split_whitespace().collect();
            eprintln!("error: {}", words.join(" "));
            ExitCode::FAILURE
        }
    }
}
