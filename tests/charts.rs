//! Issue 11, charts: every run charts errors, timeouts and hit ratio; a
//! variant's charts name its overrides; legends stay off the data; SVG text
//! names the bundled font; `plot` refuses a time series it cannot draw.

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::common::stampede;

/// A run that takes milliseconds.
const SMALL: &str = r#"name = "small"
duration = "4s"
warmup = "1s"
interval = "250ms"
[clients]
keys = 300
rate = 2000
[cache]
ttl = "2s"
[database]
connections = 8
query_time = { dist = "constant", value = "10ms" }
"#;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(args: &[&str]) {
    let out = stampede(args);
    assert!(out.status.success(), "{args:?}:\n{}", text(&out));
}

/// Runs SMALL with `sets` into `dir/name`, then redraws its charts as SVG.
fn run(dir: &Path, name: &str, sets: &[&str]) -> std::path::PathBuf {
    let file = dir.join("small.toml");
    fs::write(&file, SMALL).unwrap();
    let out = dir.join(name);
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    for s in sets {
        args.extend(["--set", s]);
    }
    ok(&args);
    ok(&["plot", out.to_str().unwrap(), "--format", "svg"]);
    out
}

/// The text elements of an SVG file: (x, y, text).
fn texts(svg: &str) -> Vec<(f64, f64, String)> {
    let doc = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            let num = |a: &str| n.attribute(a).and_then(|v| v.parse().ok()).unwrap_or(0.0);
            (
                num("x"),
                num("y"),
                n.text().unwrap_or_default().trim().to_string(),
            )
        })
        .collect()
}

#[test]
fn r11_every_run_charts_errors_timeouts_and_hit_ratio() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(tmp.path(), "run", &[]);
    let png = fs::read(out.join("errors.png")).expect("errors.png written by the run");
    assert!(png.starts_with(b"\x89PNG"), "a real PNG");
    let svg = fs::read_to_string(out.join("errors.svg")).unwrap();
    let words: Vec<String> = texts(&svg).into_iter().map(|t| t.2).collect();
    for needle in ["failed requests", "timed-out attempts", "hit ratio"] {
        assert!(
            words.iter().any(|w| w.contains(needle)),
            "{needle} in {words:?}"
        );
    }
}

#[test]
fn r11_a_variants_charts_are_titled_with_its_overrides() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = run(tmp.path(), "plain", &[]);
    let lock = run(tmp.path(), "lock", &["strategy.kind=lock"]);
    let title = |dir: &Path| -> String {
        let svg = fs::read_to_string(dir.join("latency.svg")).unwrap();
        texts(&svg)
            .into_iter()
            .map(|t| t.2)
            .find(|t| t.contains("request latency"))
            .expect("a title")
    };
    assert!(
        title(&lock).starts_with("small (strategy.kind = lock): "),
        "{}",
        title(&lock)
    );
    assert!(title(&plain).starts_with("small: "), "{}", title(&plain));
    // `plot` finds the overrides in the resolved scenario.
    let resolved = fs::read_to_string(lock.join("scenario.toml")).unwrap();
    assert!(
        resolved.contains("\n# --set strategy.kind=lock\n"),
        "{resolved}"
    );
}

#[test]
fn r11_svg_text_is_set_in_the_bundled_font() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(tmp.path(), "run", &[]);
    for chart in ["latency.svg", "db_load.svg", "memory.svg", "errors.svg"] {
        let svg = fs::read_to_string(out.join(chart)).unwrap();
        assert!(
            svg.contains("@font-face{font-family:\"DejaVu Sans\";src:url(data:font/ttf;base64,"),
            "{chart} embeds the font"
        );
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let families: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| n.attribute("font-family").unwrap_or(""))
            .collect();
        assert!(!families.is_empty());
        assert!(
            families.iter().all(|f| *f == "DejaVu Sans"),
            "{chart}: {families:?}"
        );
    }
}

#[test]
fn r11_the_legend_sits_above_the_plot_area_not_on_the_data() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(tmp.path(), "run", &[]);
    let svg = fs::read_to_string(out.join("latency.svg")).unwrap();
    let texts = texts(&svg);
    // Tick labels are numbers; the highest one marks the top of the plot area.
    let number = |t: &str| t.replace(',', "").parse::<f64>().is_ok();
    let top_tick = texts
        .iter()
        .filter(|t| number(&t.2))
        .map(|t| t.1)
        .fold(f64::INFINITY, f64::min);
    for entry in ["median (p50)", "99th percentile (p99)", "maximum"] {
        let (_, y, _) = texts
            .iter()
            .find(|t| t.2 == entry)
            .unwrap_or_else(|| panic!("legend entry {entry}"));
        assert!(
            *y + 8.0 < top_tick,
            "{entry} at y={y}, plot area from {top_tick}"
        );
    }
}

#[test]
fn r11_plot_of_a_time_series_with_nothing_to_draw_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(tmp.path(), "run", &[]);
    let csv = out.join("timeseries.csv");
    let header = fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    fs::write(&csv, format!("{header}\n")).unwrap();
    fs::remove_file(out.join("latency.png")).unwrap();
    let said = stampede(&["plot", out.to_str().unwrap()]);
    let all = text(&said);
    assert_eq!(said.status.code(), Some(2), "{all}");
    assert!(all.contains("no row to draw"), "{all}");
    assert!(!all.contains("panicked"), "{all}");
    assert!(!out.join("latency.png").exists(), "no blank chart drawn");
}

/// The text elements of an SVG file with their attributes:
/// (x, text-anchor, font-size, transform, text).
fn texts_styled(svg: &str) -> Vec<(f64, String, f64, String, String)> {
    let doc = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            let attr = |a: &str| n.attribute(a).unwrap_or_default().to_string();
            let num = |a: &str| attr(a).parse().unwrap_or(0.0);
            (
                num("x"),
                attr("text-anchor"),
                num("font-size"),
                attr("transform"),
                n.text().unwrap_or_default().trim().to_string(),
            )
        })
        .collect()
}

#[test]
fn r11_the_colour_bar_title_sits_just_right_of_its_tick_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("small.toml");
    fs::write(
        &file,
        format!(
            "{SMALL}[sweep]\nreplicates = 1\n[sweep.grid]\n\"clients.rate\" = [1000, 2000]\n\
             \"clients.zipf\" = [0.8, 1.2]\n"
        ),
    )
    .unwrap();
    let out = tmp.path().join("sweep");
    ok(&[
        "sweep",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    ok(&[
        "plot",
        out.to_str().unwrap(),
        "--format",
        "svg",
        "--metric",
        "latency_ms.p99",
    ]);
    let svg = fs::read_to_string(out.join("heatmap-latency_ms.p99.svg")).unwrap();
    let width: f64 = roxmltree::Document::parse(&svg)
        .unwrap()
        .root_element()
        .attribute("width")
        .unwrap()
        .parse()
        .unwrap();
    let texts = texts_styled(&svg);
    // The colour bar's tick labels: the rightmost numbers (cell values sit
    // left of the bar), upright.
    let number = |t: &str| t.replace(',', "").parse::<f64>().is_ok();
    let ticks: Vec<_> = texts
        .iter()
        .filter(|t| number(&t.4) && t.3.is_empty())
        .collect();
    let rightmost = ticks.iter().map(|t| t.0).fold(0.0, f64::max);
    // Their right ends, digits being 0.64 em wide in DejaVu Sans (an upper bound).
    let labels_end = ticks
        .iter()
        .filter(|t| t.0 > rightmost - 60.0)
        .map(|t| match t.1.as_str() {
            "end" => t.0,
            _ => t.0 + t.4.chars().count() as f64 * 0.64 * t.2,
        })
        .fold(0.0, f64::max);
    let title = texts
        .iter()
        .find(|t| t.4.contains("latency (ms)") && t.3.starts_with("rotate(90"))
        .unwrap_or_else(|| panic!("a rotated colour bar title in {texts:?}"));
    // Turned a quarter clockwise: x is its right edge (the letters' tops), one
    // line (1.16 em) right of its left edge.
    let gap = title.0 - 1.16 * title.2 - labels_end;
    assert!(
        (4.0..=25.0).contains(&gap),
        "title at x={} ({gap:.1} px right of the tick labels ending at {labels_end:.1})",
        title.0
    );
    assert!(title.0 <= width, "title at x={} inside {width}", title.0);
}

#[test]
fn r11_plan_charts_put_overrides_and_thresholds_in_words() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("small.toml");
    fs::write(&file, SMALL).unwrap();
    let out = tmp.path().join("plan");
    ok(&[
        "plan",
        file.to_str().unwrap(),
        "--vary",
        "database.connections",
        "--range",
        "1..32",
        "--set",
        "clients.rate=20000",
        "--set",
        "strategy.kind=lock",
        "--expect",
        "latency_ms.p999 < 500",
        "--expect",
        "db_utilization < 0.8",
        "--replicates",
        "2",
        "--scan",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    let svg = &html[html.find("<svg").unwrap()..html.find("</svg>").unwrap() + 6];
    let words: Vec<String> = texts(svg).into_iter().map(|t| t.2).collect();
    let title = words
        .iter()
        .find(|w| w.contains("meeting every expectation"))
        .unwrap_or_else(|| panic!("a title in {words:?}"));
    assert!(
        title.starts_with("small (request rate = 20,000 req/s, mitigation = lock): "),
        "{title}"
    );
    for legend in [
        "threshold: p99.9 latency < 500 ms",
        "threshold: DB utilisation < 0.8",
    ] {
        assert!(words.iter().any(|w| w == legend), "{legend} in {words:?}");
    }
    // No dotted scenario key or metric name is left in the chart's text.
    for w in &words {
        for raw in ["clients.", "strategy.", "latency_ms", "db_utilization"] {
            assert!(!w.contains(raw), "{raw} in {w:?}");
        }
    }
}
