//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use stampede::engine::{self, RunOutput};
use stampede::scenario::{self, Scenario};

/// A small scenario that runs in milliseconds: 300 keys at 2,000 req/s, all
/// expiring together every 2 s, in front of 8 connections with 10 ms queries.
pub const SMALL: &str = r#"name = "small"
duration = "6s"
warmup = "1s"
[clients]
keys = 300
rate = 2000
[cache]
ttl = "2s"
prewarm = "fresh"
[database]
connections = 8
query_time = { dist = "constant", value = "10ms" }
"#;

/// Parses scenario `text` (with `--set` style overrides) or panics with the error.
pub fn scenario(text: &str, sets: &[&str]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    match scenario::from_text(text, Path::new("test.toml"), &sets) {
        Ok((s, _)) => s,
        Err(e) => panic!("test scenario is invalid: {e}"),
    }
}

/// Runs scenario `text` with overrides and returns its outputs.
pub fn run(text: &str, sets: &[&str]) -> RunOutput {
    let s = scenario(text, sets);
    engine::run(&s, s.seed)
}

/// The repository root (where `scenarios/` lives).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `stampede` binary with `args` from the repository root.
pub fn stampede(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stampede"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("the stampede binary runs")
}
