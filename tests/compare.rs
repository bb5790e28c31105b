//! Issue 11, `stampede compare`: runs of one scenario on one time axis,
//! labelled by what differs between their resolved scenarios; unrelated
//! scenarios and directories that are not runs refused with exit 2.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{SMALL, stampede};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `stampede run` on scenario `text` with `sets` into `dir/name`; returns the directory.
fn run(dir: &Path, text: &str, name: &str, sets: &[&str]) -> PathBuf {
    let file = dir.join(format!("{name}.toml"));
    fs::write(&file, text).unwrap();
    let out_dir = dir.join(name);
    let mut args = vec!["run", s(&file), "--out", s(&out_dir)];
    for set in sets {
        args.extend(["--set", set]);
    }
    let out = stampede(&args);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    out_dir
}

fn output(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn r11_compare_aligns_runs_of_different_lengths_and_intervals_and_labels_them_by_what_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let none = run(tmp.path(), SMALL, "none", &[]);
    let lock = run(
        tmp.path(),
        SMALL,
        "lock",
        &[
            "strategy.kind=lock",
            "strategy.lease=2s",
            "interval=500ms",
            "duration=4s",
        ],
    );
    let out = tmp.path().join("compared");
    let result = stampede(&["compare", s(&none), s(&lock), "--out", s(&out)]);
    let text = output(&result);
    assert_eq!(result.status.code(), Some(0), "{text}");
    for file in [
        "latency.png",
        "db_load.png",
        "memory.png",
        "errors.png",
        "hit_ratio.png",
        "compare.csv",
        "report.html",
    ] {
        assert!(out.join(file).is_file(), "{file} missing:\n{text}");
    }

    // Labels name exactly the keys set apart: not the lock's own options
    // (they follow from strategy.kind), not the name or expectations.
    let c = stampede::compare::load(&[none.clone(), lock.clone()]).unwrap();
    assert_eq!(c.differing[..3], ["duration", "interval", "strategy.kind"]);
    assert!(c.differing.iter().any(|k| k == "strategy.lease"));
    assert_eq!(
        c.runs[0].label,
        "duration = 6s, interval = 1s, strategy.kind = none"
    );
    assert_eq!(
        c.runs[1].label,
        "duration = 4s, interval = 500ms, strategy.kind = lock"
    );
    let csv = fs::read_to_string(out.join("compare.csv")).unwrap();
    assert!(csv.starts_with("run,label,requests,"), "{csv}");
    assert!(csv.contains("\"duration = 4s, interval = 500ms, strategy.kind = lock\""));

    // One time axis in seconds, as long as the longer run; each row at the
    // middle of its own interval; counts as rates per second.
    assert_eq!(c.end_s(), 6.0);
    let figures = c.figures();
    let names: Vec<&str> = figures.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        ["latency", "db_load", "memory", "errors", "hit_ratio"]
    );
    let (_, db_load) = &figures[1];
    assert_eq!(db_load.x_range, 0.0..6.0);
    assert_eq!(
        db_load.shared_legend,
        [c.runs[0].label.as_str(), &c.runs[1].label]
    );
    let queries = &db_load.panels[0];
    let xs = |i: usize| -> Vec<f64> { queries.series[i].points.iter().map(|p| p.0).collect() };
    assert_eq!(xs(0), [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
    assert_eq!(xs(1), [0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75]);
    for (i, interval_s) in [(0, 1.0), (1, 0.5)] {
        let rows = &c.runs[i].rows;
        let duration_s = c.runs[i].scenario.duration.as_secs_f64();
        let counted: u64 = rows
            .iter()
            .filter(|r| r.t_s < duration_s)
            .map(|r| r.db_queries)
            .sum();
        let drawn: f64 = queries.series[i]
            .points
            .iter()
            .map(|p| p.1 * interval_s)
            .sum();
        assert!((drawn - counted as f64).abs() < 1e-6, "run {i}");
        assert!(counted > 0);
    }
    // The pool is the same in both: drawn as the reference line.
    assert_eq!(db_load.panels[2].reference.as_ref().unwrap().0, 8.0);
}

#[test]
fn r11_runs_that_differ_in_nothing_are_labelled_by_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let a = run(tmp.path(), SMALL, "a", &[]);
    let b = run(tmp.path(), SMALL, "b", &[]);
    let c = stampede::compare::load(&[a.clone(), b.clone()]).unwrap();
    assert!(c.differing.is_empty());
    assert_eq!(c.runs[0].label, a.display().to_string());
    assert_eq!(c.runs[1].label, b.display().to_string());
    // Seeds differ: the label says so.
    let seeded = tmp.path().join("seeded");
    let out = stampede(&[
        "run",
        s(&tmp.path().join("a.toml")),
        "--seed",
        "7",
        "--out",
        s(&seeded),
    ]);
    assert!(out.status.success());
    let c = stampede::compare::load(&[a, seeded]).unwrap();
    assert_eq!(c.runs[1].label, "seed = 7");
}

#[test]
fn r11_compare_refuses_unrelated_scenarios_and_directories_that_are_not_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let small = run(tmp.path(), SMALL, "small", &[]);
    let other = run(
        tmp.path(),
        &SMALL.replace("name = \"small\"", "name = \"other\""),
        "other",
        &[],
    );
    let out = tmp.path().join("out");
    let bad = |args: &[&str], says: &str| {
        let result = stampede(args);
        let text = output(&result);
        assert_eq!(result.status.code(), Some(2), "{args:?}:\n{text}");
        assert!(text.contains(says), "{args:?}: {text}");
        assert!(!text.contains("panicked"), "{text}");
        assert!(!out.exists(), "{args:?} wrote an output");
    };
    bad(
        &["compare", s(&small), s(&other), "--out", s(&out)],
        "cannot compare runs of different scenarios: ",
    );
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    bad(
        &["compare", s(&small), s(&empty), "--out", s(&out)],
        "not a run directory: it has no scenario.toml",
    );
    bad(
        &[
            "compare",
            s(&small),
            s(&tmp.path().join("missing")),
            "--out",
            s(&out),
        ],
        "no such directory",
    );
    bad(
        &[
            "compare",
            s(&small),
            s(&tmp.path().join("small.toml")),
            "--out",
            s(&out),
        ],
        "is a file, not a directory",
    );
    bad(
        &["compare", s(&small), "--out", s(&out)],
        "at least two run directories",
    );
    // A sweep directory is not a run.
    let sweep_file = tmp.path().join("sweep.toml");
    fs::write(
        &sweep_file,
        format!("{SMALL}[sweep]\nreplicates = 1\n[sweep.grid]\n\"clients.rate\" = [1000, 2000]\n"),
    )
    .unwrap();
    let sweep = tmp.path().join("sweep");
    assert!(
        stampede(&["sweep", s(&sweep_file), "--out", s(&sweep)])
            .status
            .success()
    );
    bad(
        &["compare", s(&small), s(&sweep), "--out", s(&out)],
        "is a sweep directory",
    );
    // The output may not replace one of the runs compared.
    let before = fs::read(small.join("summary.json")).unwrap();
    let second = run(tmp.path(), SMALL, "second", &["strategy.kind=lock"]);
    let result = stampede(&["compare", s(&small), s(&second), "--out", s(&small)]);
    assert_eq!(result.status.code(), Some(2), "{}", output(&result));
    assert!(output(&result).contains("is one of the runs compared"));
    assert_eq!(fs::read(small.join("summary.json")).unwrap(), before);
    assert!(small.join("timeseries.csv").is_file());
}
