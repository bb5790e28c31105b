//! Issue 11, the command line: progress, `--json`, completions, `init`,
//! errors reported all at once, `--set` into arrays, `check` and `plan`
//! telling more, the README's fix runs held to their own expectations.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::common::{SMALL, stampede};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", text(bytes)))
}

fn write(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    fs::write(&path, contents).expect("write the scenario");
    path.to_str().expect("a UTF-8 path").to_string()
}

#[test]
fn r11_run_json_prints_summary_json_alone_on_stdout() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("healthy");
    let out = stampede(&[
        "run",
        "scenarios/healthy.toml",
        "--out",
        dir.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed = json(&out.stdout);
    let file: Value = serde_json::from_str(&fs::read_to_string(dir.join("summary.json")).unwrap())
        .expect("summary.json is JSON");
    assert_eq!(printed, file);
    // The human summary went to stderr.
    assert!(text(&out.stderr).contains("stampede run healthy"));
}

#[test]
fn r11_progress_lines_in_a_log_and_quiet_silences_them() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let scenario = write(tmp.path(), "small.toml", SMALL);
    let out_dir = tmp.path().join("out");
    let run = |extra: &[&str]| {
        let mut args = vec!["run", scenario.as_str(), "--out", out_dir.to_str().unwrap()];
        args.extend(extra);
        let out = stampede(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stderr)
    };
    // stderr is a pipe here, not a terminal: plain lines, the last at 100 %.
    let log = run(&[]);
    assert!(log.contains("6.0 of 6.0 s simulated"), "{log}");
    let quiet = run(&["--quiet"]);
    assert!(!quiet.contains("simulated,"), "{quiet}");

    let check = stampede(&[
        "check",
        &scenario,
        "--set",
        "sweep.replicates=3",
        "--set",
        "expect.errors=== 0",
    ]);
    assert!(
        text(&check.stderr).contains("3/3 runs done"),
        "{}",
        text(&check.stderr)
    );
    let check = stampede(&[
        "check",
        &scenario,
        "--set",
        "sweep.replicates=3",
        "--set",
        "expect.errors=== 0",
        "-q",
    ]);
    assert!(!text(&check.stderr).contains("runs done"));
}

#[test]
fn r11_check_and_plan_json_are_machine_readable() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let scenario = write(
        tmp.path(),
        "small.toml",
        &format!("{SMALL}[expect]\n\"errors\" = \"== 0\"\n"),
    );
    let out = stampede(&["check", &scenario, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out.stdout);
    assert_eq!(report["passed"], Value::Bool(true));
    assert_eq!(report["outcomes"][0]["case"], "errors == 0");
    assert!(text(&out.stderr).contains("1 of 1 passed"));

    let plan_dir = tmp.path().join("plan");
    let out = stampede(&[
        "plan",
        &scenario,
        "--vary",
        "database.connections",
        "--range",
        "1..32",
        "--expect",
        "latency_ms.p99 < 50",
        "--replicates",
        "2",
        "--scan",
        "4",
        "--out",
        plan_dir.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = json(&out.stdout);
    assert!(plan["answer"].is_number(), "{plan}");
    assert_eq!(plan["vary"], "database.connections");
    assert!(plan["evaluations"].as_array().unwrap().len() >= 4);
    assert!(text(&out.stderr).contains("answer: database.connections ="));
}

#[test]
fn r11_completions_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let out = stampede(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = text(&out.stdout);
        for word in ["stampede", "run", "sweep", "check", "plan", "init", "json"] {
            assert!(script.contains(word), "{shell} script lacks {word}");
        }
    }
    assert_eq!(stampede(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn r11_init_writes_a_starter_that_runs_and_never_overwrites() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("mine.toml");
    let file = file.to_str().unwrap();
    let out = stampede(&["init", file]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = fs::read_to_string(file).expect("init wrote the file");
    assert!(written.starts_with("# A starter scenario"), "commented");

    let out_dir = tmp.path().join("out");
    let run = stampede(&["run", file, "--out", out_dir.to_str().unwrap(), "-q"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(out_dir.join("summary.json").is_file());
    // Its own expectations hold, so `check` passes on it as written.
    assert_eq!(stampede(&["check", file, "-q"]).status.code(), Some(0));

    fs::write(file, "mine").unwrap();
    let again = stampede(&["init", file]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("already exists"));
    assert_eq!(fs::read_to_string(file).unwrap(), "mine", "not overwritten");
}
