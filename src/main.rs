//! The `stampede` binary: parse the command line, run, map errors to exit codes.

use clap::Parser;

fn main() {
    let cli = stampede::cli::Cli::parse();
    let code = match stampede::cli::execute(cli) {
        Ok(code) => code,
        Err(e @ stampede::Error::Interrupted(_)) => {
            eprintln!("\nstampede: {e:#}");
            e.exit_code()
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}
