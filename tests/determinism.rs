//! Same scenario and seed give byte-identical outputs; another seed does not.

use std::fs;
use std::path::Path;

use crate::common::stampede;

const OUTPUTS: [&str; 5] = [
    "summary.json",
    "timeseries.csv",
    "scenario.toml",
    "latency.png",
    "db_load.png",
];

fn run_to(dir: &Path, extra: &[&str]) {
    let out = dir.to_str().expect("temp paths are UTF-8");
    let mut args = vec!["run", "scenarios/hot-key-expiry.toml", "--out", out];
    args.extend_from_slice(extra);
    let result = stampede(&args);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

#[test]
fn same_seed_same_bytes_other_seed_other_results() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    run_to(&a, &[]);
    run_to(&b, &[]);
    run_to(&c, &["--seed", "2"]);
    for name in OUTPUTS {
        let first = fs::read(a.join(name)).expect("output written");
        let second = fs::read(b.join(name)).expect("output written");
        assert!(
            first == second,
            "{name} differs between two runs with the same seed"
        );
    }
    for name in ["summary.json", "timeseries.csv"] {
        let first = fs::read(a.join(name)).expect("output written");
        let other = fs::read(c.join(name)).expect("output written");
        assert!(first != other, "{name} is the same with seed 2");
    }
}
