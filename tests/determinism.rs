//! Same scenario and seed give byte-identical outputs; another seed does not.

use std::fs;
use std::path::Path;

use crate::common::{SMALL, stampede};

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

#[test]
fn plan_and_check_write_the_same_bytes_for_any_thread_count() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // SMALL with exponential query times, so the tail varies with the rate.
    let small = format!(
        "{}[sweep]\nreplicates = 2\n[sweep.grid]\n\"strategy.kind\" = [\"none\", \"lock\"]\n\
         [expect]\n\"latency_ms.p99\" = \"< 60\"\n",
        SMALL.replace(
            r#"{ dist = "constant", value = "10ms" }"#,
            r#"{ dist = "exponential", mean = "10ms" }"#
        )
    );
    let file = tmp.path().join("small.toml");
    fs::write(&file, &small).unwrap();
    let f = file.to_str().unwrap();
    let mut plans = Vec::new();
    let mut blessed = Vec::new();
    for jobs in ["1", "2"] {
        let plan = tmp.path().join(format!("plan-{jobs}"));
        let out = stampede(&[
            "plan",
            f,
            "--vary",
            "clients.rate",
            "--range",
            "500..4000",
            "--largest",
            "--jobs",
            jobs,
            "--out",
            plan.to_str().unwrap(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        plans.push((
            fs::read(plan.join("plan.csv")).unwrap(),
            fs::read(plan.join("plan.png")).unwrap(),
        ));
        let base = tmp.path().join(format!("base-{jobs}"));
        let out = stampede(&[
            "check",
            f,
            "--baseline",
            base.to_str().unwrap(),
            "--bless",
            "--jobs",
            jobs,
        ]);
        assert!(out.status.code().is_some_and(|c| c <= 1));
        blessed.push(fs::read(base.join("small-sweep/sweep.csv")).unwrap());
    }
    assert!(
        plans[0] == plans[1],
        "plan differs between --jobs 1 and --jobs 2"
    );
    assert!(
        blessed[0] == blessed[1],
        "check --bless differs between --jobs 1 and --jobs 2"
    );
}

#[test]
fn r10_app_instances_do_not_change_a_run_without_skew_or_per_instance_state() {
    // Clock offsets and corrupt-read draws have their own streams: adding an
    // app server (no skew, no coalescing) must not shift the strategy's draws.
    let without_per_instance_state = stampede::strategy::KINDS
        .iter()
        .map(|kind| kind.name)
        .filter(|kind| *kind != "coalesce");
    for kind in without_per_instance_state {
        let kind = format!("strategy.kind={kind}");
        let one = crate::common::run(SMALL, &[&kind, "clients.app_instances=1"]).summary;
        let two = crate::common::run(SMALL, &[&kind, "clients.app_instances=2"]).summary;
        assert_eq!(one, two, "{kind}");
    }
    // Corrupt reads draw from their own stream too: the same reads are
    // corrupted whatever the strategy draws.
    let corrupt = ["cache.corrupt_rate=0.05", "strategy.kind=xfetch"];
    let one = crate::common::run(SMALL, &[corrupt[0], corrupt[1], "clients.app_instances=1"]);
    let two = crate::common::run(SMALL, &[corrupt[0], corrupt[1], "clients.app_instances=3"]);
    assert_eq!(one.summary, two.summary);
}
