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
    assert!(log.contains("6.0 of 6.0 s simulated, "), "{log}");
    // A run shows its speed as it goes (issue 15).
    assert!(log.contains(" M requests/s, "), "{log}");
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
    // It suggests a name that is free, not the one that exists.
    assert!(
        text(&again.stderr).contains("mine-2.toml"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(fs::read_to_string(file).unwrap(), "mine", "not overwritten");
}

/// Runs `stampede run` on `text` (written to a temporary `bad.toml`) and
/// returns the exit code and stderr; checks nothing was written.
fn run_text(text: &str, extra: &[&str]) -> (Option<i32>, String) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = write(tmp.path(), "bad.toml", text);
    let out_dir = tmp.path().join("out");
    let mut args = vec!["run", file.as_str(), "--out", out_dir.to_str().unwrap()];
    args.extend(extra);
    let out = stampede(&args);
    let stderr = text_of(&out.stderr);
    if out.status.code() == Some(2) {
        assert!(!out_dir.exists(), "nothing written on bad input: {stderr}");
    }
    (out.status.code(), stderr)
}

fn text_of(bytes: &[u8]) -> String {
    text(bytes)
}

#[test]
fn r11_every_problem_of_a_file_at_once_in_file_order_with_lines() {
    let bad = r#"name = "three"
duration = "10s"

[clients]
keys = 100
rate = 1000
timout = "1s"

[cache]
ttl = "5 s"

[database]
connections = 0
"#;
    let (code, err) = run_text(bad, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("3 problems in"), "{err}");
    let at = |needle: &str| {
        err.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing: {err}"))
    };
    let first = at("bad.toml:7:1: `clients.timout`");
    let second = at("bad.toml:10:1: `cache.ttl`");
    let third = at("bad.toml:13:1: `database.connections`");
    assert!(first < second && second < third, "file order: {err}");
    // One line each.
    assert_eq!(err.trim_end().lines().count(), 4, "{err}");
}

#[test]
fn r11_several_problems_in_one_section_all_reported() {
    let bad = r#"name = "many"
duration = "10s"

[clients]
keys = 0
zipf = -1
rate = -5
retries = 1000

[cache]
ttl_jitter = 2
samples = 100
policy = "lruu"

[database]
connections = 0
cores = 0

[[clients.classes]]
name = "a"
share = 0.5
ttl = "1 s"

[[clients.classes]]
name = "a"
share = 0.5
"#;
    let (code, err) = run_text(bad, &[]);
    assert_eq!(code, Some(2), "{err}");
    let lines: Vec<&str> = err.trim_end().lines().skip(1).collect();
    let wanted = [
        "bad.toml:5:1: `clients.keys`",
        "bad.toml:6:1: `clients.zipf`",
        "bad.toml:7:1: `clients.rate`",
        "bad.toml:8:1: `clients.retries`",
        "bad.toml:11:1: `cache.ttl_jitter`",
        "bad.toml:12:1: `cache.samples`",
        "bad.toml:13:1: `cache.policy`",
        "bad.toml:16:1: `database.connections`",
        "bad.toml:17:1: `database.cores`",
        "bad.toml:22:1: `clients.classes[0].ttl`",
        "bad.toml:25:1: `clients.classes[1].name`",
    ];
    assert_eq!(lines.len(), wanted.len(), "{err}");
    for (line, want) in lines.iter().zip(wanted) {
        assert!(
            line.contains(want),
            "{want:?} expected in file order: {err}"
        );
    }
}

#[test]
fn r11_did_you_mean_for_keys_metrics_and_kinds() {
    let small = |from: &str, to: &str| SMALL.replacen(from, to, 1);
    let (_, err) = run_text(&small("rate = 2000", "rat = 2000"), &[]);
    assert!(err.contains("did you mean `rate`?"), "{err}");
    let (_, err) = run_text(&format!("{SMALL}[strategy]\nkind = \"lokc\"\n"), &[]);
    assert!(err.contains("did you mean \"lock\"?"), "{err}");
    let (_, err) = run_text(
        &small("ttl = \"2s\"", "ttl = \"2s\"\npolicy = \"allkeys-lr\""),
        &[],
    );
    assert!(err.contains("did you mean \"allkeys-lru\"?"), "{err}");
    let (_, err) = run_text(
        &format!("{SMALL}[[events]]\nkind = \"flsh\"\nat = \"1s\"\n"),
        &[],
    );
    assert!(err.contains("did you mean \"flush\"?"), "{err}");
    let (_, err) = run_text(
        &format!("{SMALL}[expect]\n\"hit_ratoi\" = \"> 0.5\"\n"),
        &[],
    );
    assert!(err.contains("did you mean `hit_ratio`?"), "{err}");
    let (code, err) = run_text(SMALL, &["--expect", "latency_ms.p99x < 5"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("did you mean `latency_ms.p99`?"), "{err}");
    let (_, err) = run_text(SMALL, &["--set", "clients.zipff=1.1"]);
    assert!(err.contains("did you mean `zipf`?"), "{err}");
}

#[test]
fn r11_messages_say_what_a_key_takes_not_rust_types() {
    let small = |from: &str, to: &str| SMALL.replacen(from, to, 1);
    for (text, takes) in [
        (
            small("rate = 2000", "rate = \"fast\""),
            "it takes a number of requests per second",
        ),
        (
            small("duration = \"6s\"", "duration = 6"),
            "it takes a duration with a unit, such as \"5s\"",
        ),
        (
            small("keys = 300", "keys = 1.5"),
            "it takes a whole number of keys",
        ),
        (
            small("connections = 8", "connections = \"eight\""),
            "it takes a whole number of connections",
        ),
    ] {
        let (code, err) = run_text(&text, &[]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(takes), "{takes:?}: {err}");
        for jargon in ["f64", "u64", "u32", "invalid type", "expected a string"] {
            assert!(!err.contains(jargon), "{jargon:?} in {err}");
        }
    }
}

#[test]
fn r11_a_space_in_a_duration_is_diagnosed_as_a_space() {
    let (code, err) = run_text(&SMALL.replacen("ttl = \"2s\"", "ttl = \"5 s\"", 1), &[]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("`cache.ttl`") && err.contains("a space between the number and its unit"),
        "{err}"
    );
    assert!(err.contains("\"5s\""), "{err}");
    assert!(!err.contains("unknown unit"), "{err}");
}

/// SMALL with a database slowdown and two key classes.
fn with_fault_and_classes() -> String {
    format!(
        "{SMALL}[[events]]\nkind = \"db-slowdown\"\nat = \"2s\"\nfactor = 2.0\nduration = \"2s\"\n\
         [[clients.classes]]\nname = \"a\"\nshare = 0.5\n\
         [[clients.classes]]\nname = \"b\"\nshare = 0.5\nttl = \"1s\"\n"
    )
}

#[test]
fn r11_set_reaches_a_faults_factor_and_a_class_ttl() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = write(tmp.path(), "arrays.toml", &with_fault_and_classes());
    let run = |sets: &[&str], name: &str| -> (Value, String) {
        let dir = tmp.path().join(name);
        let mut args = vec!["run", file.as_str(), "--out", dir.to_str().unwrap(), "-q"];
        for set in sets {
            args.extend(["--set", set]);
        }
        let out = stampede(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        (
            serde_json::from_str(&fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap(),
            fs::read_to_string(dir.join("scenario.toml")).unwrap(),
        )
    };
    let (plain, _) = run(&[], "plain");
    let (slower, resolved) = run(&["events.0.factor=8"], "factor");
    assert!(resolved.contains("factor = 8"), "{resolved}");
    assert!(
        slower["latency_ms"]["max"].as_f64() > plain["latency_ms"]["max"].as_f64(),
        "a slowdown 8x instead of 2x is slower"
    );
    let (longer, resolved) = run(&["clients.classes.1.ttl=4s"], "ttl");
    assert!(resolved.contains("ttl = \"4s\""), "{resolved}");
    assert!(longer["hit_ratio"].as_f64() > plain["hit_ratio"].as_f64());

    // An item that does not exist, and a value checked like the file's.
    let (code, err) = run_text(&with_fault_and_classes(), &["--set", "events.3.factor=8"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("has 1 items"), "{err}");
    let (code, err) = run_text(&with_fault_and_classes(), &["--set", "events.0.factor=-1"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("(from --set events[0].factor)") && err.contains("`events[0].factor`"),
        "{err}"
    );
}

#[test]
fn r11_a_sweep_grid_reaches_a_class_ttl() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = write(
        tmp.path(),
        "grid.toml",
        &format!(
            "{}[sweep.grid]\n\"clients.classes.1.ttl\" = [\"1s\", \"4s\"]\n\"events.0.factor\" = [2.0, 8.0]\n",
            with_fault_and_classes()
        ),
    );
    let dir = tmp.path().join("sweep");
    let out = stampede(&["sweep", &file, "--out", dir.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let csv = fs::read_to_string(dir.join("sweep.csv")).unwrap();
    let mut rows = csv.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let ttl = header
        .iter()
        .position(|h| *h == "clients.classes.1.ttl")
        .expect("column");
    let factor = header
        .iter()
        .position(|h| *h == "events.0.factor")
        .expect("column");
    let hit = header
        .iter()
        .position(|h| *h == "hit_ratio")
        .expect("column");
    let rows: Vec<Vec<&str>> = rows.map(|r| r.split(',').collect()).collect();
    assert_eq!(rows.len(), 4);
    let hit_at = |t: &str, f: &str| -> f64 {
        rows.iter()
            .find(|r| r[ttl] == t && r[factor] == f)
            .unwrap_or_else(|| panic!("no row {t} {f}: {csv}"))[hit]
            .parse()
            .unwrap()
    };
    assert!(hit_at("4s", "2.0") > hit_at("1s", "2.0"), "{csv}");
}

#[test]
fn r11_check_with_nothing_to_check_is_an_error() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = write(tmp.path(), "small.toml", SMALL);
    let out = stampede(&["check", &file]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("nothing to check"), "{err}");
    assert!(
        !text(&out.stdout).contains("0 of 0"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn r11_bless_refuses_failing_expectations_unless_forced() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = write(
        tmp.path(),
        "small.toml",
        &format!("{SMALL}[expect]\n\"errors\" = \"> 5\"\n"),
    );
    let base = tmp.path().join("base");
    let b = base.to_str().unwrap();
    let out = stampede(&["check", &file, "--baseline", b, "--bless", "-q"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("--bless refused"),
        "{}",
        text(&out.stdout)
    );
    assert!(!base.join("small").exists(), "no baseline written");
    let out = stampede(&["check", &file, "--baseline", b, "--bless", "--force", "-q"]);
    assert_eq!(out.status.code(), Some(1), "the expectation still fails");
    assert!(base.join("small").join("summary.json").is_file(), "forced");
    assert_eq!(
        stampede(&["check", &file, "--force"]).status.code(),
        Some(2)
    );
}

#[test]
fn r11_moved_metrics_are_one_line_each_with_their_direction() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = write(
        tmp.path(),
        "small.toml",
        &format!("{SMALL}[expect]\n\"errors\" = \"== 0\"\n"),
    );
    let base = tmp.path().join("base");
    let b = base.to_str().unwrap();
    let out = stampede(&["check", &file, "--baseline", b, "--bless", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // Fewer connections: the queue grows, latency rises.
    let out = stampede(&[
        "check",
        &file,
        "--baseline",
        b,
        "--set",
        "database.connections=4",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stdout);
    let moved: Vec<&str> = said.lines().filter(|l| l.contains(" -> ")).collect();
    assert!(moved.len() >= 3, "{said}");
    for line in &moved {
        assert_eq!(line.matches(" -> ").count(), 1, "one metric a line: {line}");
        assert!(line.len() < 160, "a short line: {line}");
    }
    let p99 = moved
        .iter()
        .find(|l| l.contains("latency_ms.p99 "))
        .unwrap_or_else(|| panic!("{said}"));
    assert!(p99.contains("worse"), "{p99}");
    let queue = moved.iter().find(|l| l.contains("db_queue_peak ")).unwrap();
    assert!(queue.contains("worse"), "{queue}");
}

#[test]
fn r11_plan_says_when_its_answer_is_undecided_and_can_decide_on_the_bound() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = write(tmp.path(), "small.toml", SMALL);
    let plan = |decide: &str| {
        let dir = tmp.path().join(decide);
        let out = stampede(&[
            "plan",
            &file,
            "--vary",
            "database.connections",
            "--range",
            "1..32",
            "--expect",
            "latency_ms.p99 < 50",
            "--replicates",
            "3",
            "--scan",
            "5",
            "--decide-on",
            decide,
            "--out",
            dir.to_str().unwrap(),
            "-q",
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        (json(&out.stdout), text(&out.stderr))
    };
    // On the means, 8 passes (p99 36.5 ± 33 ms) and 7 fails (63 ± 45 ms):
    // both intervals straddle 50 ms.
    let (mean, said) = plan("mean");
    assert_eq!(mean["answer"], 8.0);
    assert_eq!(mean["undecided"], true);
    assert!(said.contains("undecided: the 95 % intervals"), "{said}");
    // On the bound, the answer is the first value whose interval is below 50 ms.
    let (bound, said) = plan("bound");
    assert_eq!(bound["answer"], 9.0);
    assert_eq!(bound["undecided"], false);
    assert!(!said.contains("undecided"), "{said}");
}
