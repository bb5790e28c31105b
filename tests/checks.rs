//! `stampede check`: expectations, baselines with tolerances and a test,
//! `--bless`, JUnit; and the project's own regression test on every bundled
//! scenario against the outputs committed in results/.

use std::fs;
use std::path::Path;

use crate::common::{SMALL, stampede};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let file = dir.join(name);
    fs::write(&file, text).unwrap();
    file.to_str().unwrap().to_string()
}

fn check(args: &[&str]) -> (Option<i32>, String) {
    let mut full = vec!["check"];
    full.extend(args);
    let out = stampede(&full);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("panicked"), "{text}");
    (out.status.code(), text)
}

/// The line of the check table that tests `case`, with its detail lines
/// (indented below it, one per metric that moved).
fn line(output: &str, case: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(case))
        .unwrap_or_else(|| panic!("no line for {case:?} in:\n{output}"));
    let detail = lines[at + 1..]
        .iter()
        .take_while(|l| l.starts_with("      "));
    std::iter::once(lines[at])
        .chain(detail.copied())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn each_operator_passes_and_fails_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    // Facts of any run of SMALL: requests > 1000, no errors, hit ratio in (0, 1).
    let expect = r#"
[expect]
"requests" = ["> 1000", ">= 1000", "< 1000", "<= 1000"]
"errors" = ["== 0", "!= 0"]
"hit_ratio" = ["< 1", "> 1"]
"#;
    let file = write(tmp.path(), "small.toml", &format!("{SMALL}{expect}"));
    let (code, out) = check(&[&file]);
    assert_eq!(code, Some(1), "a failing expectation exits 1:\n{out}");
    for (case, passes) in [
        ("requests > 1000", true),
        ("requests >= 1000", true),
        ("requests < 1000", false),
        ("requests <= 1000", false),
        ("errors == 0", true),
        ("errors != 0", false),
        ("hit_ratio < 1", true),
        ("hit_ratio > 1", false),
    ] {
        let l = line(&out, case);
        assert_eq!(l.starts_with("pass"), passes, "{l}");
        assert_eq!(l.starts_with("FAIL"), !passes, "{l}");
    }
    assert!(out.contains("4 of 8 passed, 4 failed"), "{out}");

    // Only passing expectations: exit 0.
    let file = write(
        tmp.path(),
        "ok.toml",
        &format!("{SMALL}\n[expect]\n\"errors\" = \"== 0\"\n"),
    );
    assert_eq!(check(&[&file]).0, Some(0));
}

/// Multiplies `metric` in `dir/summary.json` by `factor`.
fn scale_summary(dir: &Path, metric: &str, factor: f64) {
    let path = dir.join("summary.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let v = json[metric].as_f64().unwrap();
    json[metric] = serde_json::json!(v * factor);
    fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
}

#[test]
fn bless_round_trip_and_drift_just_inside_and_outside_tolerance() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "small.toml", SMALL);
    let base = tmp.path().join("base");
    let b = base.to_str().unwrap();

    // No baseline yet: bad input, pointing at --bless.
    let (code, out) = check(&[&file, "--baseline", b]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("--bless"), "{out}");

    // --bless writes exactly the run directory `stampede run` writes.
    let (code, out) = check(&[&file, "--baseline", b, "--bless"]);
    assert_eq!(code, Some(0), "{out}");
    let run_dir = tmp.path().join("run");
    assert!(
        stampede(&["run", &file, "--out", run_dir.to_str().unwrap()])
            .status
            .success()
    );
    for name in [
        "summary.json",
        "timeseries.csv",
        "scenario.toml",
        "db_load.png",
    ] {
        assert!(
            fs::read(base.join("small").join(name)).unwrap()
                == fs::read(run_dir.join(name)).unwrap(),
            "blessed {name} differs from stampede run's"
        );
    }
    let (code, out) = check(&[&file, "--baseline", b]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        line(&out, "baseline").contains("0 of 42 metrics shifted"),
        "{out}"
    );

    // db_utilization 4.9 % off: inside the default 5 %. 5.1 % off: a regression.
    let dir = base.join("small");
    scale_summary(&dir, "db_utilization", 1.0 / 1.049);
    let (code, out) = check(&[&file, "--baseline", b]);
    assert_eq!(code, Some(0), "4.9 % is inside 5 %:\n{out}");
    assert!(check(&[&file, "--baseline", b, "--bless"]).0 == Some(0));
    scale_summary(&dir, "db_utilization", 1.0 / 1.051);
    let (code, out) = check(&[&file, "--baseline", b]);
    assert_eq!(code, Some(1), "5.1 % is outside 5 %:\n{out}");
    let l = line(&out, "baseline");
    assert!(
        l.starts_with("FAIL") && l.contains("1 of 42 metrics shifted"),
        "{l}"
    );
    assert!(
        l.contains("shifted: db_utilization") && l.contains("+5.1 %"),
        "{l}"
    );
    // A per-metric tolerance lets it through; the default stays for the rest.
    let (code, out) = check(&[&file, "--baseline", b, "--tolerance", "db_utilization=0.06"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = check(&[&file, "--baseline", b, "--tolerance", "0.06"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = check(&[&file, "--baseline", b, "--tolerance", "db_querys=0.5"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("not a summary metric"), "{out}");
}

#[test]
fn with_replicates_a_real_shift_fails_and_noise_passes() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = format!("{SMALL}\n[sweep]\nreplicates = 4\n");
    let file = write(tmp.path(), "small.toml", &sweep);
    let base = tmp.path().join("base");
    let b = base.to_str().unwrap();
    assert_eq!(check(&[&file, "--baseline", b, "--bless"]).0, Some(0));
    let csv_path = base.join("small-sweep/sweep.csv");
    let original = fs::read_to_string(&csv_path).unwrap();
    let header: Vec<&str> = original.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "db_queries").unwrap();
    // Rewrites the db_queries column replicate by replicate.
    let edit = |f: &dyn Fn(usize, f64) -> f64| {
        let mut lines: Vec<String> = vec![original.lines().next().unwrap().to_string()];
        for (r, l) in original.lines().skip(1).enumerate() {
            let mut cells: Vec<String> = l.split(',').map(String::from).collect();
            cells[col] = f(r, cells[col].parse().unwrap()).to_string();
            lines.push(cells.join(","));
        }
        fs::write(&csv_path, lines.join("\n") + "\n").unwrap();
    };
    // Every replicate 10 % higher: beyond 5 %, and the replicates agree.
    edit(&|_, v| v * 1.10);
    let (code, out) = check(&[&file, "--baseline", b]);
    assert_eq!(code, Some(1), "{out}");
    assert!(line(&out, "baseline").contains("Welch p ="), "{out}");
    // Same 10 % mean shift, but the baseline replicates scatter by ±60 %:
    // indistinguishable from noise, so it passes and says so.
    edit(&|r, v| v * 1.10 * [0.4, 1.6, 0.4, 1.6][r]);
    let (code, out) = check(&[&file, "--baseline", b]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        line(&out, "baseline").contains("within noise: db_queries"),
        "{out}"
    );
}

#[test]
fn junit_report_has_the_schema_structure() {
    let tmp = tempfile::tempdir().unwrap();
    // `<` and `>` in test names must be escaped.
    let expect = "\n[expect]\n\"hit_ratio\" = \"< 1\"\n\"errors\" = \"> 1\"\n";
    let a = write(tmp.path(), "a.toml", &format!("{SMALL}{expect}"));
    let b = write(
        tmp.path(),
        "b.toml",
        &format!("{}{expect}", SMALL.replace("\"small\"", "\"other\"")),
    );
    let junit = tmp.path().join("junit.xml");
    let (code, out) = check(&[&a, &b, "--junit", junit.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{out}");
    let text = fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let count =
        |n: roxmltree::Node, attr: &str| -> usize { n.attribute(attr).unwrap().parse().unwrap() };
    let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    assert_eq!(suites.len(), 2);
    let names: Vec<&str> = suites
        .iter()
        .map(|s| s.attribute("name").unwrap())
        .collect();
    assert_eq!(names, ["small", "other"]);
    let mut total = (0, 0);
    for suite in &suites {
        assert_eq!(suite.tag_name().name(), "testsuite");
        let cases: Vec<_> = suite.children().filter(|n| n.is_element()).collect();
        assert!(cases.iter().all(|c| c.tag_name().name() == "testcase"
            && c.attribute("name").is_some()
            && c.attribute("classname").is_some()));
        let failed: Vec<_> = cases
            .iter()
            .filter(|c| c.children().any(|f| f.tag_name().name() == "failure"))
            .collect();
        assert_eq!(count(*suite, "tests"), cases.len());
        assert_eq!(count(*suite, "failures"), failed.len());
        assert_eq!(failed.len(), 1);
        let failure = failed[0].children().find(|f| f.is_element()).unwrap();
        assert!(
            failure
                .attribute("message")
                .unwrap()
                .starts_with("measured ")
        );
        assert_eq!(failed[0].attribute("name").unwrap(), "errors > 1");
        assert!(
            cases
                .iter()
                .any(|c| c.attribute("name") == Some("hit_ratio < 1"))
        );
        total.0 += cases.len();
        total.1 += failed.len();
    }
    assert_eq!((count(root, "tests"), count(root, "failures")), total);
    assert!(root.attribute("time").unwrap().parse::<f64>().is_ok());
}

/// The project's regression test on scenario outputs: every bundled scenario
/// meets its `[expect]` and matches the outputs committed in results/. A model
/// change that moves a number must re-bless them
/// (`stampede check scenarios/*.toml --baseline results --bless`) and say why
/// in the commit message.
#[test]
fn bundled_scenarios_meet_their_expectations_and_match_committed_baselines() {
    let mut files: Vec<String> = fs::read_dir(crate::common::repo().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| format!("scenarios/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    files.sort();
    assert!(files.len() >= 12, "{files:?}");
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    args.extend(["--baseline", "results"]);
    let (code, out) = check(&args);
    assert_eq!(code, Some(0), "{out}");
    // Every file has expectations, and every baseline was compared.
    for f in &files {
        let text = fs::read_to_string(crate::common::repo().join(f)).unwrap();
        assert!(text.contains("\n[expect]\n"), "{f} has no [expect]");
    }
    assert!(
        out.contains(&format!("{} scenario files", files.len())),
        "{out}"
    );
    // Every summary has 42 metrics; a trace replay's writes and deletes and a
    // cache server model's two figures (issue 14) are compared too.
    let unshifted = out
        .lines()
        .filter(|l| {
            ["0 of 42 ", "0 of 43 ", "0 of 44 "]
                .iter()
                .any(|n| l.contains(&format!("{n}metrics shifted")))
        })
        .count();
    assert_eq!(
        unshifted,
        // One baseline per run file, and the points of the two sweeps:
        // mitigations (45) and eviction policies (16 × 3).
        files.len() - 2 + 45 + 48,
        "{out}"
    );
}

/// The README's fixes of the incidents (the `run` lines of `.ci/rebless`)
/// each state what they must achieve with `--expect`, and are checked like
/// the incidents: every expectation met, and the outputs those committed
/// under results/ (issue 11).
#[test]
fn r11_readme_fixes_meet_their_own_expectations_and_match_committed_results() {
    let script = fs::read_to_string(crate::common::repo().join(".ci/rebless")).unwrap();
    let fixes: Vec<&str> = script
        .lines()
        .filter_map(|l| l.strip_prefix("$s run "))
        .collect();
    assert!(fixes.len() >= 7, "{script}");
    let tmp = tempfile::tempdir().expect("temp dir");
    for fix in fixes {
        // Shell words: the lines quote only the --expect conditions.
        let mut args: Vec<String> = vec!["run".into()];
        for (i, part) in fix.split('"').enumerate() {
            if i % 2 == 1 {
                args.push(part.to_string());
            } else {
                args.extend(part.split_whitespace().map(String::from));
            }
        }
        assert!(args.iter().any(|a| a == "--expect"), "{fix}: no --expect");
        let at = args.iter().position(|a| a == "--out").expect("--out");
        let committed = crate::common::repo().join(&args[at + 1]);
        let dir = tmp.path().join(committed.file_name().unwrap());
        args[at + 1] = dir.to_str().unwrap().to_string();
        args.push("-q".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = stampede(&args);
        let said = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{fix}:\n{said}");
        assert!(!said.contains("NOT met"), "{fix}:\n{said}");
        // A trace is named relative to the directory written: the rerun's
        // directory is elsewhere, so its `path` line differs by design.
        let same_place = |bytes: Vec<u8>| -> Vec<u8> {
            let text = String::from_utf8(bytes).expect("UTF-8 outputs");
            text.lines()
                .filter(|l| !l.starts_with("path = "))
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes()
        };
        for file in ["summary.json", "timeseries.csv", "scenario.toml"] {
            assert!(
                same_place(fs::read(dir.join(file)).unwrap())
                    == same_place(fs::read(committed.join(file)).unwrap()),
                "{fix}: {file} differs from the committed one"
            );
        }
    }
}
