//! Issue 10, outputs: kept runs bound to their scenario, strict baselines,
//! output paths checked before anything runs, directories replaced whole,
//! foreign files never deleted, overridden runs kept apart, Ctrl-C.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::stampede;

/// A sweep of four runs that takes milliseconds.
const SWEEP: &str = r#"name = "small"
duration = "4s"
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
[sweep]
replicates = 2
[sweep.grid]
"clients.rate" = [5000, 10000]
"#;

/// The same scenario without `[sweep]`.
fn plain() -> String {
    SWEEP[..SWEEP.find("[sweep]").unwrap()].to_string()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(args: &[&str]) -> String {
    let out = stampede(args);
    let all = text(&out);
    assert!(out.status.success(), "{args:?}:\n{all}");
    all
}

/// Runs `args`, expects exit 2 with no panic; returns the output.
fn bad(args: &[&str]) -> String {
    let out = stampede(args);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}:\n{all}");
    assert!(!all.contains("panicked"), "{all}");
    all
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let file = dir.join(name);
    fs::write(&file, text).unwrap();
    file.to_str().unwrap().to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every file name in `dir` (not recursive), sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn r10_resume_refuses_runs_of_another_grid() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "sweep.toml", SWEEP);
    let out = tmp.path().join("out");
    ok(&["sweep", &file, "--out", s(&out), "--jobs", "2"]);
    let old = fs::read_to_string(out.join("sweep.csv")).unwrap();

    // Edit the grid: the four kept runs are of other scenarios.
    let edited = SWEEP.replace("[5000, 10000]", "[50000, 100000]");
    write(tmp.path(), "sweep.toml", &edited);
    let said = ok(&["sweep", &file, "--out", s(&out), "--resume", "--jobs", "2"]);
    assert!(
        said.contains("discarded 4 kept runs") && said.contains("another scenario"),
        "{said}"
    );
    let resumed = fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_ne!(resumed, old);
    let fresh = tmp.path().join("fresh");
    ok(&["sweep", &file, "--out", s(&fresh), "--jobs", "2"]);
    assert_eq!(
        resumed,
        fs::read_to_string(fresh.join("sweep.csv")).unwrap(),
        "a resumed sweep must equal a fresh one of the new grid"
    );
}

#[test]
fn r10_resume_refuses_runs_of_another_set_duration() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "sweep.toml", SWEEP);
    let out = tmp.path().join("out");
    ok(&["sweep", &file, "--out", s(&out), "--jobs", "2"]);
    let said = ok(&[
        "sweep",
        &file,
        "--out",
        s(&out),
        "--resume",
        "--set",
        "duration=5s",
    ]);
    assert!(said.contains("discarded 4 kept runs"), "{said}");
    let fresh = tmp.path().join("fresh");
    ok(&["sweep", &file, "--out", s(&fresh), "--set", "duration=5s"]);
    assert_eq!(
        fs::read(out.join("sweep.csv")).unwrap(),
        fs::read(fresh.join("sweep.csv")).unwrap()
    );
    // The same flags again: every kept run is reused, nothing discarded.
    let said = ok(&[
        "sweep",
        &file,
        "--out",
        s(&out),
        "--resume",
        "--set",
        "duration=5s",
    ]);
    assert!(
        said.contains("0 runs to do") && said.contains("reusing 4 kept runs"),
        "{said}"
    );
    assert!(!said.contains("discarded"), "{said}");
}

#[test]
fn r10_merge_refuses_runs_that_do_not_belong() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "sweep.toml", SWEEP);
    let dir = |n: &str| tmp.path().join(n);
    for k in 1..=2 {
        let shard = format!("{k}/2");
        ok(&[
            "sweep",
            &file,
            "--out",
            s(&dir(&format!("shard{k}"))),
            "--shard",
            &shard,
        ]);
    }
    // A run of another grid under a shard's name: same point, other scenario.
    let other = write(
        tmp.path(),
        "other.toml",
        &SWEEP.replace("[5000, 10000]", "[50000, 100000]"),
    );
    ok(&["sweep", &other, "--out", s(&dir("other"))]);
    let victim = dir("shard2").join("runs/p00000-r0001.json");
    assert!(victim.exists());
    fs::copy(dir("other").join("runs/p00000-r0001.json"), &victim).unwrap();
    let said = bad(&[
        "merge",
        s(&dir("shard1")),
        s(&dir("shard2")),
        "--out",
        s(&dir("merged")),
    ]);
    assert!(
        said.contains("p00000-r0001.json") && said.contains("another scenario"),
        "{said}"
    );
    assert!(!dir("merged").exists());

    // A run kept without a fingerprint (an older stampede) is refused too.
    let mut run: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&victim).unwrap()).unwrap();
    run.as_object_mut().unwrap().remove("fingerprint");
    fs::write(&victim, run.to_string()).unwrap();
    let said = bad(&[
        "merge",
        s(&dir("shard1")),
        s(&dir("shard2")),
        "--out",
        s(&dir("merged")),
    ]);
    assert!(said.contains("fingerprint"), "{said}");
}

#[test]
fn r10_set_on_a_swept_key_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "sweep.toml", SWEEP);
    let out = tmp.path().join("out");
    let said = bad(&["sweep", &file, "--out", s(&out), "--set", "clients.rate=7"]);
    assert!(
        said.contains("clients.rate") && said.contains("swept"),
        "{said}"
    );
    assert!(!out.exists());
    let said = bad(&["check", &file, "--set", "clients.rate=7"]);
    assert!(said.contains("clients.rate"), "{said}");
}

/// Blesses `file` under `base` and returns the baseline file to damage.
fn blessed(base: &Path, file: &str, baseline: &str) -> PathBuf {
    ok(&["check", file, "--baseline", s(base), "--bless"]);
    let path = base.join(baseline);
    assert!(path.exists(), "{}", path.display());
    path
}

#[test]
fn r10_damaged_sweep_baselines_are_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "sweep.toml", SWEEP);
    let base = tmp.path().join("base");
    let csv = blessed(&base, &file, "small-sweep/sweep.csv");
    let good = fs::read_to_string(&csv).unwrap();
    ok(&["check", &file, "--baseline", s(&base)]);
    let header = good.lines().next().unwrap().to_string();
    let second_metric_value = {
        // NaN in the first metric column of the first row.
        let mut lines: Vec<String> = good.lines().map(String::from).collect();
        let mut cells: Vec<String> = lines[1].split(',').map(String::from).collect();
        cells[4] = "NaN".into();
        lines[1] = cells.join(",");
        lines.join("\n") + "\n"
    };
    let damaged = [
        ("cut down to its header", format!("{header}\n"), "no run"),
        ("empty", String::new(), "first columns"),
        (
            "renamed metric columns",
            good.replacen("hit_ratio", "hit_rate", 1),
            "hit_rate",
        ),
        ("NaN", second_metric_value, "NaN"),
        (
            "a column removed",
            good.lines()
                .map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n")
                .collect(),
            "no column",
        ),
        (
            "a row of another grid",
            good.replacen(",5000,", ",6000,", 1),
            "clients.rate",
        ),
    ];
    for (what, text, word) in damaged {
        fs::write(&csv, text).unwrap();
        let said = bad(&["check", &file, "--baseline", s(&base)]);
        assert!(
            said.contains("sweep.csv") && said.contains(word),
            "{what}: {said}"
        );
        assert!(!said.contains("0 of 0"), "{what}: {said}");
    }
}

#[test]
fn r10_damaged_run_baselines_are_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "run.toml", &plain());
    let base = tmp.path().join("base");
    let json = blessed(&base, &file, "small/summary.json");
    let good = fs::read_to_string(&json).unwrap();
    ok(&["check", &file, "--baseline", s(&base)]);
    let edit = |f: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| {
        let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
        f(v.as_object_mut().unwrap());
        v.to_string()
    };
    let damaged = [
        (
            "a field missing",
            edit(&|m| {
                m.remove("hit_ratio");
            }),
            "hit_ratio",
        ),
        (
            "null",
            edit(&|m| {
                m.insert("db_queries".into(), serde_json::Value::Null);
            }),
            "db_queries",
        ),
        (
            "a string",
            edit(&|m| {
                m["latency_ms"]["p99"] = "NaN".into();
            }),
            "latency_ms.p99",
        ),
        ("cut short", good[..good.len() / 2].to_string(), "JSON"),
        (
            "renamed fields",
            good.replace("\"latency_ms\"", "\"lat\""),
            "latency_ms",
        ),
    ];
    for (what, text, word) in damaged {
        fs::write(&json, text).unwrap();
        let said = bad(&["check", &file, "--baseline", s(&base)]);
        assert!(
            said.contains("summary.json") && said.contains(word),
            "{what}: {said}"
        );
    }
}

#[test]
fn r10_unwritable_output_paths_fail_before_any_run() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = write(tmp.path(), "sweep.toml", SWEEP);
    let run = write(tmp.path(), "run.toml", &plain());
    let file = write(tmp.path(), "a-file", "mine");
    let under_file = tmp.path().join("a-file/out");
    let long = tmp.path().join("x".repeat(300));
    let shard = tmp.path().join("shard");
    ok(&["sweep", &sweep, "--out", s(&shard), "--shard", "1/1"]);
    for out in [file.as_str(), s(&under_file), s(&long)] {
        let plan = [
            "plan",
            &run,
            "--vary",
            "database.connections",
            "--range",
            "4..8",
            "--expect",
            "errors == 0",
            "--out",
            out,
        ];
        let commands: [&[&str]; 4] = [
            &["run", &run, "--out", out],
            &["sweep", &sweep, "--out", out],
            &["merge", s(&shard), "--out", out],
            &plan,
        ];
        for args in commands {
            let said = bad(args);
            assert!(said.contains("--out"), "{args:?}: {said}");
            // Nothing ran: no summary line, no progress.
            assert!(
                !said.contains("requests simulated") && !said.contains("runs done"),
                "{args:?}: {said}"
            );
        }
    }
    assert_eq!(fs::read_to_string(&file).unwrap(), "mine");
    let dir = tmp.path().join("a-dir");
    fs::create_dir(&dir).unwrap();
    for junit in [".", "/", s(&dir), s(&under_file), s(&long)] {
        let said = bad(&["check", &run, "--junit", junit]);
        assert!(said.contains("--junit"), "{junit}: {said}");
        assert!(!said.contains("passed"), "ran before failing: {said}");
    }
    // --bless over a file.
    let said = bad(&["check", &run, "--baseline", &file, "--bless"]);
    assert!(said.contains("--baseline"), "{said}");
}

#[test]
fn r10_directories_are_replaced_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let classes = plain().replace(
        "[cache]\n",
        "[[clients.classes]]\nname = \"a\"\nshare = 0.5\n[[clients.classes]]\nname = \"b\"\nshare = 0.5\n[cache]\n",
    );
    let with = write(tmp.path(), "classes.toml", &classes);
    let without = write(tmp.path(), "run.toml", &plain());
    let out = tmp.path().join("out");
    ok(&["run", &with, "--out", s(&out)]);
    assert!(out.join("classes.png").exists(), "{:?}", names(&out));
    ok(&["plot", s(&out), "--format", "svg"]);
    assert!(out.join("latency.svg").exists());
    ok(&["run", &without, "--out", s(&out)]);
    let files = names(&out);
    assert!(
        !files
            .iter()
            .any(|f| f == "classes.png" || f.ends_with(".svg")),
        "files of the earlier run survived: {files:?}"
    );
    // Leftovers of a process killed outright (a pid that cannot be alive)
    // are cleaned up by the next run; none of this run is left behind.
    for leftover in [
        ".out.stampede-tmp-999999999-0",
        ".out.stampede-old-999999999-1",
    ] {
        fs::create_dir(tmp.path().join(leftover)).unwrap();
        fs::write(tmp.path().join(leftover).join("summary.json"), "{}").unwrap();
    }
    ok(&["run", &without, "--out", s(&out)]);
    let siblings = names(tmp.path());
    assert!(
        !siblings.iter().any(|f| f.contains("stampede-")),
        "{siblings:?}"
    );
    // Sweeps too: an earlier sweep's heatmaps disappear with a 1-D grid.
    let two_d = SWEEP.replace(
        "\"clients.rate\" = [5000, 10000]",
        "\"clients.rate\" = [5000, 10000]\n\"clients.zipf\" = [0.8, 1.2]",
    );
    let sweep = write(tmp.path(), "sweep.toml", &two_d);
    let sweep_out = tmp.path().join("sweep-out");
    ok(&["sweep", &sweep, "--out", s(&sweep_out)]);
    assert!(names(&sweep_out).iter().any(|f| f.starts_with("heatmap-")));
    write(tmp.path(), "sweep.toml", SWEEP);
    ok(&["sweep", &sweep, "--out", s(&sweep_out)]);
    let files = names(&sweep_out);
    assert!(
        !files.iter().any(|f| f.starts_with("heatmap-")),
        "{files:?}"
    );
    assert_eq!(names(&sweep_out.join("runs")).len(), 4);
}

#[test]
fn r10_foreign_files_are_never_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = write(tmp.path(), "sweep.toml", SWEEP);
    let run = write(tmp.path(), "run.toml", &plain());
    let out = tmp.path().join("out");
    ok(&["sweep", &sweep, "--out", s(&out)]);
    fs::write(out.join("runs/mine.txt"), "mine").unwrap();
    let said = bad(&["sweep", &sweep, "--out", s(&out)]);
    assert!(said.contains("runs/mine.txt"), "{said}");
    assert_eq!(
        fs::read_to_string(out.join("runs/mine.txt")).unwrap(),
        "mine"
    );
    assert_eq!(names(&out.join("runs")).len(), 5, "nothing deleted");
    // A directory of the user's, with a file named like ours among others.
    let home = tmp.path().join("b/small");
    fs::create_dir_all(&home).unwrap();
    fs::write(home.join("notes.md"), "mine").unwrap();
    fs::write(home.join("summary.json"), "mine").unwrap();
    for args in [
        vec!["run", run.as_str(), "--out", s(&home)],
        vec!["sweep", sweep.as_str(), "--out", s(&home)],
        vec![
            "check",
            run.as_str(),
            "--baseline",
            s(&tmp.path().join("b")),
            "--bless",
        ],
    ] {
        let said = bad(&args);
        assert!(
            said.contains("notes.md") || said.contains("did not write"),
            "{args:?}: {said}"
        );
    }
    assert_eq!(names(&home), ["notes.md", "summary.json"]);
    assert_eq!(
        fs::read_to_string(home.join("summary.json")).unwrap(),
        "mine"
    );
    // An empty directory holds nothing of anyone's: it is used.
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    ok(&["run", &run, "--out", s(&empty)]);
    assert!(empty.join("summary.json").exists());
}

#[test]
fn r10_committed_results_are_recognised_as_stampedes() {
    // Every committed output directory can be replaced by a new run (and
    // re-blessed): it holds only files stampede writes.
    let results = crate::common::repo().join("results");
    for entry in fs::read_dir(&results).unwrap() {
        let dir = entry.unwrap().path();
        let foreign = stampede::outdir::foreign_entries(&dir).unwrap();
        assert!(foreign.is_empty(), "{}: {foreign:?}", dir.display());
    }
}

/// Runs the binary with `args` in `cwd` (for default output directories).
fn stampede_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stampede"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the stampede binary runs")
}

#[test]
fn r10_overridden_runs_do_not_replace_the_files_results() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write(cwd, "run.toml", &plain());
    let sweep = write(cwd, "sweep.toml", SWEEP);
    let go = |args: &[&str]| {
        let out = stampede_in(cwd, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        text(&out)
    };
    go(&["run", "run.toml"]);
    let summary = cwd.join("results/small/summary.json");
    let before = fs::read(&summary).unwrap();
    let said = go(&["run", "run.toml", "--set", "strategy.kind=lock"]);
    assert_eq!(
        fs::read(&summary).unwrap(),
        before,
        "results/small/ replaced"
    );
    assert!(said.contains("--out"), "{said}");
    let lock: Vec<String> = names(&cwd.join("results"))
        .into_iter()
        .filter(|n| n.starts_with("small--"))
        .collect();
    assert_eq!(lock.len(), 1, "{lock:?}");
    let resolved =
        fs::read_to_string(cwd.join("results").join(&lock[0]).join("scenario.toml")).unwrap();
    assert!(resolved.contains("kind = \"lock\""), "{resolved}");
    // Another seed goes elsewhere; the file's own seed is the file as written.
    go(&["run", "run.toml", "--seed", "9"]);
    go(&["run", "run.toml", "--seed", "1"]);
    assert_eq!(fs::read(&summary).unwrap(), before);
    assert_eq!(names(&cwd.join("results")).len(), 3);
    // Sweeps and plans follow the same rule.
    go(&["sweep", &sweep]);
    go(&["sweep", &sweep, "--set", "duration=5s"]);
    let sweeps: Vec<String> = names(&cwd.join("results"))
        .into_iter()
        .filter(|n| n.starts_with("small-sweep"))
        .collect();
    assert_eq!(sweeps.len(), 2, "{sweeps:?}");
    let plan = |extra: &[&str]| {
        let mut args = vec![
            "plan",
            "run.toml",
            "--vary",
            "database.connections",
            "--range",
            "4..8",
            "--expect",
            "errors == 0",
            "--replicates",
            "1",
            "--scan",
            "2",
        ];
        args.extend(extra);
        go(&args)
    };
    plan(&[]);
    plan(&["--set", "clients.rate=1000"]);
    let plans: Vec<String> = names(&cwd.join("results"))
        .into_iter()
        .filter(|n| n.starts_with("small-plan"))
        .collect();
    assert_eq!(plans.len(), 2, "{plans:?}");
}

#[test]
fn r10_ctrl_c_keeps_finished_runs_and_prints_the_resume_command() {
    let tmp = tempfile::tempdir().unwrap();
    // 40 runs of about 0.1 s each on one thread.
    let rates: Vec<String> = (0..20).map(|i| (20000 + 100 * i).to_string()).collect();
    let long = SWEEP
        .replace("duration = \"4s\"", "duration = \"120s\"")
        .replace("[5000, 10000]", &format!("[{}]", rates.join(", ")));
    let file = write(tmp.path(), "sweep.toml", &long);
    let out = tmp.path().join("out");
    let child = Command::new(env!("CARGO_BIN_EXE_stampede"))
        .args(["sweep", &file, "--out", s(&out), "--jobs", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let partial = tmp.path().join(".out.stampede-partial/runs");
    let started = std::time::Instant::now();
    while fs::read_dir(&partial).map_or(0, |d| d.count()) < 3 {
        assert!(started.elapsed().as_secs() < 60, "no run was kept");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let done = child.wait_with_output().unwrap();
    let said = text(&done);
    assert_eq!(done.status.code(), Some(130), "{said}");
    let line = said
        .lines()
        .find(|l| l.contains("continue with:"))
        .unwrap_or_else(|| panic!("no resume line: {said}"));
    assert!(
        line.contains("runs kept in") && line.contains("was not written"),
        "{line}"
    );
    assert!(
        !out.exists(),
        "the output directory appears only when complete"
    );
    let kept = fs::read_dir(&partial).unwrap().count();
    assert!((3..40).contains(&kept), "{kept}");
    assert!(line.contains(&format!("{kept} of 40 runs")), "{line}");
    // The printed command continues the sweep and reuses every kept run.
    let command = line.split("continue with: ").nth(1).unwrap();
    let args: Vec<&str> = command.split(' ').collect();
    assert_eq!(args[0], "stampede");
    let resumed = ok(&args[1..]);
    assert!(
        resumed.contains(&format!("reusing {kept} kept runs")),
        "{resumed}"
    );
    assert_eq!(names(&out.join("runs")).len(), 40);
    assert!(
        !partial.exists(),
        "the partial directory is removed when done"
    );
}

#[test]
fn r10_flags_out_of_range_are_bad_input_not_hangs() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = write(tmp.path(), "sweep.toml", SWEEP);
    let run = write(tmp.path(), "run.toml", &plain());
    let out = tmp.path().join("out");
    let plan = |flag: &str, value: &str| {
        bad(&[
            "plan",
            &run,
            "--vary",
            "clients.rate",
            "--range",
            "1000..2000",
            "--expect",
            "errors == 0",
            flag,
            value,
            "--out",
            s(&out),
        ])
    };
    for (said, word) in [
        (
            bad(&["sweep", &sweep, "--out", s(&out), "--jobs", "100000000"]),
            "--jobs",
        ),
        (
            bad(&["check", &run, "--jobs", "18446744073709551615"]),
            "--jobs",
        ),
        (plan("--scan", "1000000000"), "--scan"),
        (plan("--replicates", "4000000000"), "--replicates"),
        (
            bad(&[
                "run",
                &run,
                "--seed",
                "18446744073709551615",
                "--out",
                s(&out),
            ]),
            "--seed",
        ),
    ] {
        assert!(said.contains(word), "{said}");
    }
    assert!(!out.exists());
}

#[test]
fn r10_ctrl_c_during_a_run_leaves_the_old_directory_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let quick = write(tmp.path(), "quick.toml", &plain());
    let out = tmp.path().join("out");
    ok(&["run", &quick, "--out", s(&out)]);
    let before: Vec<(String, Vec<u8>)> = names(&out)
        .into_iter()
        .map(|n| (n.clone(), fs::read(out.join(&n)).unwrap()))
        .collect();
    // About ten million requests: seconds, time enough to interrupt.
    let long = plain()
        .replace("duration = \"4s\"", "duration = \"500s\"")
        .replace("rate = 2000", "rate = 20000");
    let slow = write(tmp.path(), "slow.toml", &long);
    let child = Command::new(env!("CARGO_BIN_EXE_stampede"))
        .args(["run", &slow, "--out", s(&out)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it has started writing (its temporary sibling exists).
    let started = std::time::Instant::now();
    while !names(tmp.path()).iter().any(|n| n.contains("stampede-tmp")) {
        assert!(started.elapsed().as_secs() < 30, "no temporary directory");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let done = child.wait_with_output().unwrap();
    let said = text(&done);
    assert_eq!(done.status.code(), Some(130), "{said}");
    assert!(said.contains("is unchanged"), "{said}");
    let after: Vec<(String, Vec<u8>)> = names(&out)
        .into_iter()
        .map(|n| (n.clone(), fs::read(out.join(&n)).unwrap()))
        .collect();
    assert!(after == before, "the old directory changed");
    let siblings = names(tmp.path());
    assert!(
        !siblings.iter().any(|n| n.contains("stampede-")),
        "{siblings:?}"
    );
}
