//! `ipls`: the server and its operator commands.

use std::process::ExitCode;

fn main() -> ExitCode {
    match ipls::cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
