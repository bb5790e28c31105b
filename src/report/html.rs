//! `report.html`: one self-contained page per output directory (SPEC §6).
//!
//! Every run, sweep, plan and compare directory holds a `report.html` that a
//! browser shows offline and a CI job can attach as one file: its charts are
//! inline SVG, its styles inline CSS, and the charts' font (the bundled DejaVu
//! Sans the PNGs are drawn with) is embedded as a base64 `@font-face`, so the
//! text renders as in the PNGs whatever fonts the reader has. It loads nothing:
//! no script, no link, no image file, no `http` address (the SVGs' `xmlns` is
//! dropped; HTML does not need it).
//!
//! A [`Page`] is built section by section; [`run_page`] and [`sweep_page`]
//! build the pages of runs and sweeps, and `plan` and `compare` build theirs
//! with the same pieces. Pages hold no time stamp, path of the machine or
//! thread count: the same scenario and seed give the same bytes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::plot::text;
use super::sweep::{SweepTable, metric_label, significant};
use crate::error::{Error, Result};
use crate::expect::Expectation;
use crate::metrics::{RunSummary, flatten};
use crate::scenario::Scenario;
use crate::sweep::Sweep;

/// The report's file name in every output directory.
pub const HTML_FILE: &str = "report.html";

/// The font the charts are drawn with (the file `plot` registers).
/// The family name the page gives the embedded font.
const FONT_FAMILY: &str = "stampede DejaVu Sans";

/// One chart of a page: its name (the image file it mirrors) and its SVG.
#[derive(Clone, Debug)]
pub struct Chart {
    /// The chart's name, e.g. `db_load` (the PNG is `db_load.png`).
    pub name: String,
    /// The chart as an SVG document.
    pub svg: String,
}

/// Expectation lists longer than this are folded (those not met stay in view).
const FOLD_ROWS: usize = 12;

/// A verdict cell: an expectation met or not.
fn verdict(met: bool) -> &'static str {
    if met {
        "<td class=\"pass\">met</td>"
    } else {
        "<td class=\"fail\">NOT met</td>"
    }
}

/// `text` with the HTML special characters escaped (for text and attributes).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A value for a table: counts whole with thousands separators, other
/// numbers with about four significant digits.
pub fn number(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 {
        let digits = format!("{}", x.abs() as u64);
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        if x < 0.0 {
            format!("-{grouped}")
        } else {
            grouped
        }
    } else {
        significant(x)
    }
}

/// The page's style sheet, with the embedded font (encoded once per process).
fn style() -> &'static str {
    static STYLE: OnceLock<String> = OnceLock::new();
    STYLE.get_or_init(|| {
        format!(
            "@font-face {{ font-family: \"{FONT_FAMILY}\"; \
             src: url({}) format(\"truetype\"); }}\n{}",
            text::font_data_url(),
            CSS
        )
    })
}

/// Layout and colours; the font family is the embedded one.
const CSS: &str = r#"body { font-family: "stampede DejaVu Sans", sans-serif; margin: 2em auto; max-width: 1240px; padding: 0 1em; color: #222; line-height: 1.4; }
/* Chart text: the font the PNGs are drawn with (CSS wins over SVG attributes). */
svg text { font-family: "stampede DejaVu Sans", sans-serif; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
td.pass { background: #e3f4e3; color: #145214; font-weight: bold; }
td.fail { background: #fbe3e3; color: #8a1010; font-weight: bold; }
.warning { background: #fff3cd; border: 1px solid #e0b000; padding: 0.6em 1em; }
.swatch { display: inline-block; width: 1.6em; height: 0.7em; margin-right: 0.4em; vertical-align: middle; }
figure { margin: 1.2em 0; }
figure svg { width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #666; font-size: 0.85em; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
code { font-size: 0.95em; }
footer { margin-top: 3em; color: #888; font-size: 0.8em; }
"#;

/// An HTML page being built, section by section.
#[derive(Debug, Default)]
pub struct Page {
    title: String,
    body: String,
}

impl Page {
    /// A page titled `title` (shown as its heading).
    pub fn new(title: &str) -> Page {
        let mut page = Page {
            title: title.to_string(),
            body: String::new(),
        };
        let _ = writeln!(page.body, "<h1>{}</h1>", escape(title));
        page
    }

    /// A section heading.
    pub fn heading(&mut self, text: &str) {
        let _ = writeln!(self.body, "<h2>{}</h2>", escape(text));
    }

    /// A paragraph of plain text.
    pub fn paragraph(&mut self, text: &str) {
        let _ = writeln!(self.body, "<p>{}</p>", escape(text));
    }

    /// A highlighted warning.
    pub fn warning(&mut self, text: &str) {
        let _ = writeln!(self.body, "<p class=\"warning\">{}</p>", escape(text));
    }

    /// Raw HTML, already escaped by the caller.
    pub fn raw(&mut self, html: &str) {
        self.body.push_str(html);
    }

    /// A table of plain-text cells; cells that read as numbers are right-aligned.
    pub fn table(&mut self, header: &[String], rows: &[Vec<String>]) {
        self.body.push_str("<table>\n<tr>");
        for h in header {
            let _ = write!(self.body, "<th>{}</th>", escape(h));
        }
        self.body.push_str("</tr>\n");
        for row in rows {
            self.body.push_str("<tr>");
            for cell in row {
                let numeric = !cell.is_empty()
                    && cell
                        .chars()
                        .all(|c| c.is_ascii_digit() || ",.-+± e".contains(c));
                let class = if numeric { " class=\"num\"" } else { "" };
                let _ = write!(self.body, "<td{class}>{}</td>", escape(cell));
            }
            self.body.push_str("</tr>\n");
        }
        self.body.push_str("</table>\n");
    }

    /// Expectations with the value measured and whether each is met; `who`
    /// names what was measured (a point, a run) when there are several.
    pub fn expectations(&mut self, rows: &[(String, String, f64, bool)]) {
        if rows.is_empty() {
            self.paragraph("No expectations: the scenario has no [expect] table.");
            return;
        }
        let met = rows.iter().filter(|r| r.3).count();
        self.paragraph(&format!("{met} of {} expectations met.", rows.len()));
        // A long list (a sweep's points) is folded; the ones not met stay in view.
        let folded = rows.len() > FOLD_ROWS;
        if folded {
            let failed: Vec<_> = rows.iter().filter(|r| !r.3).cloned().collect();
            if !failed.is_empty() {
                self.expectation_table(&failed);
            }
            self.raw("<details><summary>Every expectation</summary>\n");
        }
        self.expectation_table(rows);
        if folded {
            self.raw("</details>\n");
        }
    }

    /// One table row per expectation, with a "who" column when any row names one.
    fn expectation_table(&mut self, rows: &[(String, String, f64, bool)]) {
        let with_who = rows.iter().any(|r| !r.0.is_empty());
        self.body.push_str("<table>\n<tr>");
        if with_who {
            self.body.push_str("<th>of</th>");
        }
        self.body
            .push_str("<th>expectation</th><th>measured</th><th>verdict</th></tr>\n");
        for (who, expectation, value, holds) in rows {
            self.body.push_str("<tr>");
            if with_who {
                let _ = write!(self.body, "<td>{}</td>", escape(who));
            }
            let _ = writeln!(
                self.body,
                "<td><code>{}</code></td><td class=\"num\">{}</td>{}</tr>",
                escape(expectation),
                escape(&significant(*value)),
                verdict(*holds)
            );
        }
        self.body.push_str("</table>\n");
    }

    /// Charts, inline, each with its name under it.
    pub fn charts(&mut self, charts: &[Chart]) {
        for chart in charts {
            let svg = chart
                .svg
                .replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
                .replacen(
                    "<svg ",
                    &format!("<svg role=\"img\" aria-label=\"{}\" ", escape(&chart.name)),
                    1,
                );
            let _ = writeln!(
                self.body,
                "<figure id=\"chart-{}\">\n{}<figcaption>{}</figcaption>\n</figure>",
                escape(&chart.name),
                svg.trim_end(),
                escape(&chart.name)
            );
        }
    }

    /// Preformatted text (a scenario file), folded under `summary` unless `open`.
    pub fn code(&mut self, summary: &str, text: &str, open: bool) {
        let _ = writeln!(
            self.body,
            "<details{}><summary>{}</summary>\n<pre>{}</pre>\n</details>",
            if open { " open" } else { "" },
            escape(summary),
            escape(text.trim_end())
        );
    }

    /// The whole document.
    pub fn finish(self) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"generator\" content=\"stampede {version}\">\n\
             <title>{title}</title>\n<style>\n{style}</style>\n</head>\n<body>\n{body}\
             <footer>Written by stampede {version}. Self-contained: charts are inline SVG, \
             nothing is loaded from elsewhere.</footer>\n</body>\n</html>\n",
            version = env!("CARGO_PKG_VERSION"),
            title = escape(&self.title),
            style = style(),
            body = self.body,
        )
    }
}

/// Draws charts in SVG with `draw`, a function that writes `.svg` files into
/// the directory it is given (such as [`super::plot::run_charts`] with
/// [`super::plot::Format::Svg`]), in a scratch directory that is removed
/// afterwards; returns the charts in the order drawn.
pub fn svg_charts(draw: impl FnOnce(&Path) -> Result<Vec<PathBuf>>) -> Result<Vec<Chart>> {
    /// Removes the scratch directory however drawing ends.
    struct Scratch(PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
            crate::interrupt::unregister_temp(&self.0);
        }
    }
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "stampede-svg-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir); // a leftover of a dead process with our pid
    std::fs::create_dir_all(&dir).map_err(|e| Error::output(&dir, e))?;
    crate::interrupt::register_temp(dir.clone());
    let scratch = Scratch(dir);
    let files = draw(&scratch.0)?;
    files
        .iter()
        .map(|file| {
            let svg = std::fs::read_to_string(file).map_err(|e| Error::output(file, e))?;
            // The page declares the font once for every chart.
            let svg = text::strip_font(&svg);
            let name = file
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            Ok(Chart { name, svg })
        })
        .collect()
}

/// Each expectation of `expect`, measured on `metrics`: (who, text, value, met).
pub fn measured(
    who: &str,
    expect: &[Expectation],
    metrics: &[(String, f64)],
) -> Vec<(String, String, f64, bool)> {
    expect
        .iter()
        .map(|e| {
            let v = e.measure(metrics);
            (who.to_string(), e.to_string(), v, e.holds(v))
        })
        .collect()
}

/// The summary metrics a page shows first, in this order (all are in the
/// table folded under them).
pub const HEADLINE_METRICS: [&str; 18] = [
    "requests",
    "errors",
    "timeouts",
    "hit_ratio",
    "latency_ms.p50",
    "latency_ms.p99",
    "latency_ms.p999",
    "latency_ms.max",
    "db_queries",
    "duplicate_queries",
    "db_queries_per_s_peak",
    "db_inflight_peak",
    "db_queue_peak",
    "pool_timeouts",
    "used_memory_peak",
    "evicted_keys",
    "expired_keys",
    "oom_rejections",
];

/// A metric's name for a table: its label and, in brackets, its key.
pub fn metric_name(metric: &str) -> String {
    let label = metric_label(metric);
    if label.replace(' ', "_") == metric {
        metric.to_string()
    } else {
        format!("{label} [{metric}]")
    }
}

/// The page of a run directory.
pub fn run_page(
    scenario: &Scenario,
    resolved_toml: &str,
    summary: &RunSummary,
    charts: &[Chart],
) -> String {
    let mut page = Page::new(&format!("stampede run: {}", scenario.name));
    if !scenario.description.is_empty() {
        page.paragraph(&scenario.description);
    }
    page.paragraph(&format!(
        "Seed {}, {} simulated ({} warmup, left out of the summary), rows of {}. \
         The files beside this page hold the same numbers: summary.json, timeseries.csv, \
         scenario.toml.",
        summary.seed, scenario.duration, scenario.warmup, scenario.interval
    ));
    if let Some(stopped) = &summary.stopped {
        page.warning(&format!(
            "NOT A NORMAL RESULT: the run was stopped ({stopped}); its numbers cover it only up to then."
        ));
    }
    let metrics = flatten(summary);
    page.heading("Expectations");
    page.expectations(&measured("", &scenario.expect, &metrics));
    page.heading("Summary");
    let value = |m: &str| metrics.iter().find(|(k, _)| k == m).map(|(_, v)| *v);
    let headline: Vec<Vec<String>> = HEADLINE_METRICS
        .iter()
        .filter_map(|m| value(m).map(|v| vec![metric_name(m), number(v)]))
        .collect();
    page.table(&["metric".into(), "value".into()], &headline);
    page.raw("<details><summary>Every metric of summary.json</summary>\n");
    let all: Vec<Vec<String>> = metrics
        .iter()
        .map(|(k, v)| vec![k.clone(), number(*v)])
        .collect();
    page.table(&["metric".into(), "value".into()], &all);
    page.raw("</details>\n");
    if let Some(shards) = &summary.shards {
        page.heading("Cache shards");
        let header: Vec<String> = [
            "shard",
            "slots",
            "keys",
            "commands",
            "utilization",
            "queue peak",
            "used memory peak (bytes)",
            "evicted keys",
            "expired keys",
            "hit ratio",
        ]
        .map(String::from)
        .to_vec();
        let body: Vec<Vec<String>> = shards
            .iter()
            .enumerate()
            .map(|(i, s)| {
                vec![
                    i.to_string(),
                    s.slots.clone(),
                    number(s.keys as f64),
                    number(s.commands as f64),
                    number(s.utilization),
                    number(s.queue_peak as f64),
                    number(s.used_memory_peak as f64),
                    number(s.evicted_keys as f64),
                    number(s.expired_keys as f64),
                    number(s.hit_ratio),
                ]
            })
            .collect();
        page.table(&header, &body);
    }
    page.heading("Charts");
    page.charts(charts);
    page.heading("Resolved scenario");
    page.code("scenario.toml", resolved_toml, true);
    page.finish()
}

/// The page of a sweep directory: grid, expectations per point, means ± 95%
/// CI, charts, scenario.
pub fn sweep_page(
    sweep: &Sweep,
    resolved_toml: &str,
    description: &str,
    table: &SweepTable,
    shown: &[(&str, &str)],
    charts: &[Chart],
) -> String {
    let mut page = Page::new(&format!("stampede sweep: {}", sweep.name));
    if !description.is_empty() {
        page.paragraph(description);
    }
    page.paragraph(&format!(
        "{} points × {} replicates, base seed {} ({}). Every run is in sweep.csv; means and \
         95% confidence intervals (Student's t) are in aggregate.csv.",
        sweep.points.len(),
        sweep.replicates,
        sweep.seed,
        if sweep.independent {
            "independent seeds per point"
        } else {
            "common random numbers: replicate r of every point uses seed + r"
        }
    ));
    page.heading("Grid");
    let grid: Vec<Vec<String>> = table
        .params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut values: Vec<&str> = Vec::new();
            for point in &table.points {
                if !values.contains(&point[i].as_str()) {
                    values.push(&point[i]);
                }
            }
            vec![p.clone(), values.join(", ")]
        })
        .collect();
    page.table(&["parameter".into(), "values".into()], &grid);
    page.heading("Expectations (on each point's mean)");
    let mut rows = Vec::new();
    for (p, (_, scenario)) in sweep.points.iter().enumerate() {
        let means: Vec<(String, f64)> = table
            .metrics
            .iter()
            .zip(&table.stats[p])
            .map(|(m, s)| (m.clone(), s.mean))
            .collect();
        rows.extend(measured(&point_label(table, p), &scenario.expect, &means));
    }
    page.expectations(&rows);
    page.heading("Results (mean ± 95% CI)");
    let columns = table.columns(shown);
    let mut header = table.params.clone();
    header.extend(columns.iter().map(|(_, t)| t.to_string()));
    let body: Vec<Vec<String>> = table
        .points
        .iter()
        .enumerate()
        .map(|(p, values)| {
            let mut cells = values.clone();
            cells.extend(columns.iter().map(|&(m, _)| {
                let s = table.stats[p][m];
                let half = (s.high - s.low) / 2.0;
                if half > 1e-9 * s.mean.abs().max(1.0) {
                    format!("{} ± {}", significant(s.mean), significant(half))
                } else {
                    significant(s.mean)
                }
            }));
            cells
        })
        .collect();
    page.table(&header, &body);
    if !charts.is_empty() {
        page.heading("Charts");
        page.charts(charts);
    }
    page.heading("Resolved scenario");
    page.code("scenario.toml", resolved_toml, false);
    page.finish()
}

/// A point's parameters as `path=value, ...` (or `the scenario` without any).
fn point_label(table: &SweepTable, point: usize) -> String {
    if table.params.is_empty() {
        return "the scenario".into();
    }
    table
        .params
        .iter()
        .zip(&table.points[point])
        .map(|(p, v)| format!("{p}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_numbers_grouped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(number(1234567.0), "1,234,567");
        assert_eq!(number(-1000.0), "-1,000");
        assert_eq!(number(999.0), "999");
        assert_eq!(number(0.97084), "0.9708");
    }

    #[test]
    fn long_expectation_lists_are_folded_with_the_unmet_ones_in_view() {
        let rows: Vec<(String, String, f64, bool)> = (0..=FOLD_ROWS)
            .map(|i| (format!("point {i}"), "errors == 0".into(), 0.0, i != 3))
            .collect();
        let mut page = Page::new("t");
        page.expectations(&rows);
        let html = page.finish();
        let fold = html.find("<details>").expect("folded");
        let unmet = html.find("point 3").expect("listed");
        assert!(
            unmet < fold,
            "the unmet expectation is shown before the fold"
        );
        assert_eq!(html.matches("point 3<").count(), 2);
        let mut short = Page::new("t");
        short.expectations(&rows[..FOLD_ROWS]);
        assert!(!short.finish().contains("<details>"));
    }

    #[test]
    fn charts_are_inlined_without_their_namespace_address() {
        let mut page = Page::new("t");
        page.charts(&[Chart {
            name: "latency".into(),
            svg: "<svg width=\"2\" height=\"2\" viewBox=\"0 0 2 2\" xmlns=\"http://www.w3.org/2000/svg\">\n</svg>\n".into(),
        }]);
        let html = page.finish();
        assert!(!html.contains("http"), "{html}");
        assert!(html.contains("<svg role=\"img\" aria-label=\"latency\" width=\"2\""));
    }
}
