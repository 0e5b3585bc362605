//! `ipls completions SHELL` and `ipls man DIR`: shell completions and man pages generated from
//! the CLI's own clap definitions, so they cannot drift from it (the Debian package ships
//! both).

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use super::error::CliError;
use super::Cli;

pub fn completions(shell: Shell) -> Result<(), CliError> {
    let mut command = Cli::command();
    // Into memory first: clap_complete panics when its writer fails (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "ipls", &mut script);
    std::io::stdout()
        .write_all(&script)
        .map_err(|e| format!("cannot write the completions: {e}").into())
}

/// One page per command and subcommand (`ipls.1`, `ipls-serve.1`, ...).
pub fn man_pages(dir: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .map_err(|e| format!("cannot write man pages to {}: {e}", dir.display()))?;
    Ok(())
}
