//! Charts, with all styling in one place.
//!
//! A [`Figure`] is a title over stacked [`Panel`]s sharing the time axis; one
//! drawing routine renders every chart, so every chart has a title, axis
//! labels with units, a legend and the warmup band. The font is bundled
//! (DejaVu Sans, see `fonts/LICENSE-DejaVu.txt`): no system font lookup.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::error::{Error, Result};
use crate::metrics::TimeseriesRow;
use crate::metrics::classes::ClassRow;
use crate::scenario::Scenario;

/// Font family name the bundled font is registered under.
const FONT: &str = "sans-serif";
const FONT_BYTES: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");
/// Pixel size of every chart.
const SIZE: (u32, u32) = (1200, 760);
/// Colours of successive series (colour-blind friendly, after Okabe & Ito).
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
];
const WARMUP_FILL: RGBColor = RGBColor(225, 225, 225);
const REFERENCE_LINE: RGBColor = RGBColor(120, 120, 120);
const FAULT_FILL: RGBColor = RGBColor(250, 210, 210);
const FAULT_LINE: RGBColor = RGBColor(200, 40, 40);

/// One line of a panel.
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Points (x, y); x in the figure's time unit.
    pub points: Vec<(f64, f64)>,
    /// Error bars (x, low, high), drawn as vertical lines.
    pub error_bars: Vec<(f64, f64, f64)>,
}

/// One plot area: series against the shared time axis.
pub struct Panel {
    /// Y axis label, with its unit.
    pub y_label: String,
    /// Lines, coloured in [`PALETTE`] order.
    pub series: Vec<Series>,
    /// Logarithmic y axis (for latencies spanning decades).
    pub log_y: bool,
    /// A dashed horizontal reference line and its legend label (e.g. the pool size).
    pub reference: Option<(f64, String)>,
}

/// A chart: a title over panels that share the time axis.
pub struct Figure {
    /// Chart title.
    pub title: String,
    /// The panels, top to bottom.
    pub panels: Vec<Panel>,
    /// Warmup, shaded, in `time_unit`s.
    pub warmup: f64,
    /// End of the time axis, in `time_unit`s.
    pub end: f64,
    /// The x axis label, with its unit.
    pub x_label: String,
    /// Faults from the scenario's timeline: (start, end, name) in `time_unit`s.
    pub faults: Vec<(f64, f64, &'static str)>,
}

fn ensure_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        if register_font(FONT, FontStyle::Normal, FONT_BYTES).is_err() {
            unreachable!("the bundled font is a valid TrueType file");
        }
    });
}

/// Draws `figure` into the PNG file `path`.
pub fn draw(path: &Path, figure: &Figure) -> Result<()> {
    ensure_font();
    let tmp = path.with_file_name(format!(
        ".{}.tmp.png",
        path.file_stem().unwrap_or_default().to_string_lossy()
    ));
    let chart_error = |e: &dyn std::fmt::Display| Error::Chart {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    {
        let root = BitMapBackend::new(&tmp, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| chart_error(&e))?;
        let root = root
            .titled(&figure.title, (FONT, 26))
            .map_err(|e| chart_error(&e))?;
        let areas = root.split_evenly((figure.panels.len(), 1));
        for (i, (panel, area)) in figure.panels.iter().zip(&areas).enumerate() {
            let last = i + 1 == figure.panels.len();
            draw_panel(area, panel, figure, last).map_err(|e| chart_error(&e))?;
        }
        root.present().map_err(|e| chart_error(&e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::output(path, e))
}

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn draw_panel(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    panel: &Panel,
    figure: &Figure,
    show_x_label: bool,
) -> DrawResult {
    let ys = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(panel.reference.iter().map(|r| r.0));
    let x_range = 0.0..figure.end.max(1e-9);
    if panel.log_y {
        let positive: Vec<f64> = ys.filter(|y| *y > 0.0).collect();
        let lo = positive.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = positive.iter().copied().fold(0.0, f64::max);
        let (lo, hi) = if lo.is_finite() {
            (lo / 1.5, hi * 2.0)
        } else {
            (0.1, 10.0)
        };
        draw_series(
            area,
            panel,
            figure,
            show_x_label,
            x_range,
            (lo..hi).log_scale(),
        )
    } else {
        let hi = ys.fold(0.0, f64::max);
        let hi = if hi > 0.0 { hi * 1.12 } else { 1.0 };
        draw_series(area, panel, figure, show_x_label, x_range, 0.0..hi)
    }
}

fn draw_series<Y>(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    panel: &Panel,
    figure: &Figure,
    show_x_label: bool,
    x_range: Range<f64>,
    y_spec: Y,
) -> DrawResult
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(if show_x_label { 48 } else { 30 })
        .y_label_area_size(90)
        .build_cartesian_2d(x_range, y_spec)?;
    let mut mesh = chart.configure_mesh();
    mesh.y_desc(panel.y_label.as_str())
        .x_label_formatter(&tick_label)
        .y_label_formatter(&tick_label)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .light_line_style(RGBColor(240, 240, 240));
    if show_x_label {
        mesh.x_desc(figure.x_label.as_str());
    }
    mesh.draw()?;

    let (y_lo, y_hi) = {
        let r = chart.y_range();
        (r.start, r.end)
    };
    if figure.warmup > 0.0 {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(0.0, y_lo), (figure.warmup, y_hi)],
                WARMUP_FILL.filled(),
            )))?
            .label("warmup (not in summary)")
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], WARMUP_FILL.filled()));
    }
    if !figure.faults.is_empty() {
        let names: Vec<&str> = figure
            .faults
            .iter()
            .map(|f| f.2)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let width = (figure.end / 400.0).max(1e-9);
        let bands = figure.faults.iter().map(|&(start, end, _)| {
            Rectangle::new(
                [(start, y_lo), (end.max(start + width), y_hi)],
                FAULT_FILL.filled(),
            )
        });
        chart
            .draw_series(bands)?
            .label(format!("fault: {}", names.join(", ")))
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 6), (x + 18, y + 6)], FAULT_LINE.mix(0.4).filled())
            });
        let edges = figure.faults.iter().map(|&(start, _, _)| {
            PathElement::new(
                [(start, y_lo), (start, y_hi)],
                FAULT_LINE.mix(0.6).stroke_width(1),
            )
        });
        chart.draw_series(edges)?;
    }
    for (i, series) in panel.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(
                series.points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(series.name.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(3)));
        if !series.error_bars.is_empty() {
            chart.draw_series(
                series
                    .points
                    .iter()
                    .map(|&p| Circle::new(p, 4, color.filled())),
            )?;
        }
        chart.draw_series(
            series
                .error_bars
                .iter()
                .map(|&(x, lo, hi)| PathElement::new([(x, lo), (x, hi)], color.stroke_width(2))),
        )?;
    }
    if let Some((value, label)) = &panel.reference {
        let end = figure.end;
        let steps = 60;
        let dashes = (0..steps).step_by(2).map(move |k| {
            let a = end * k as f64 / steps as f64;
            let b = end * (k + 1) as f64 / steps as f64;
            PathElement::new([(a, *value), (b, *value)], REFERENCE_LINE.stroke_width(2))
        });
        chart
            .draw_series(dashes)?
            .label(label.as_str())
            .legend(|(x, y)| {
                PathElement::new([(x, y), (x + 18, y)], REFERENCE_LINE.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font((FONT, 15))
        .draw()?;
    Ok(())
}

/// Draws the charts of a run directory from its time series; returns the files.
pub fn run_charts(
    dir: &Path,
    scenario: &Scenario,
    rows: &[TimeseriesRow],
    class_rows: &[ClassRow],
) -> Result<Vec<PathBuf>> {
    let interval_s = scenario.interval.as_secs_f64();
    let end_s = rows.last().map_or(1.0, |r| r.t_s + interval_s);
    let (time_unit, seconds_per_unit) = time_unit(end_s);
    // Points sit at the middle of their interval.
    let mid = |t_s: f64| (t_s + interval_s / 2.0) / seconds_per_unit;
    let line = |name: &str, value: &dyn Fn(&TimeseriesRow) -> Option<f64>| Series {
        name: name.to_string(),
        points: rows
            .iter()
            .filter_map(|r| value(r).map(|v| (mid(r.t_s), v)))
            .collect(),
        error_bars: Vec::new(),
    };
    let every = format_interval(interval_s);
    let name = &scenario.name;
    let figure = |title: String, panels: Vec<Panel>| Figure {
        title,
        panels,
        warmup: scenario.warmup.as_secs_f64() / seconds_per_unit,
        end: end_s / seconds_per_unit,
        x_label: format!("simulated time ({time_unit})"),
        faults: scenario
            .faults
            .iter()
            .map(|f| {
                let start = f.at.as_secs_f64() / seconds_per_unit;
                (
                    start,
                    start + f.kind.duration().as_secs_f64() / seconds_per_unit,
                    f.kind.name(),
                )
            })
            .collect(),
    };
    let per_s = |n: u64| n as f64 / interval_s;
    let mib = |b: u64| b as f64 / 1_048_576.0;
    let connections = scenario.database.connections;

    let latency = figure(
        format!("{name}: request latency (per {every})"),
        vec![Panel {
            y_label: "latency (ms, log scale)".into(),
            series: vec![
                line("p50", &|r| r.latency_p50_ms),
                line("p99", &|r| r.latency_p99_ms),
                line("max", &|r| r.latency_max_ms),
            ],
            log_y: true,
            reference: None,
        }],
    );
    let db_load = figure(
        format!("{name}: database load (per {every})"),
        vec![
            Panel {
                y_label: "queries per second".into(),
                series: vec![
                    line("queries/s", &|r| Some(per_s(r.db_queries))),
                    line("duplicate queries/s (same key already in flight)", &|r| {
                        Some(per_s(r.duplicate_queries))
                    }),
                ],
                log_y: false,
                reference: None,
            },
            Panel {
                y_label: "queries".into(),
                series: vec![
                    line("running (max)", &|r| Some(r.db_inflight_max as f64)),
                    line("waiting for a connection (max)", &|r| {
                        Some(r.db_queue_max as f64)
                    }),
                ],
                log_y: false,
                reference: Some((
                    connections as f64,
                    format!("pool size ({connections} connections)"),
                )),
            },
        ],
    );
    let maxmemory = scenario.cache.maxmemory_bytes;
    let memory = figure(
        format!("{name}: cache memory (per {every})"),
        vec![
            Panel {
                y_label: "used memory (MiB)".into(),
                series: vec![line("used_memory", &|r| Some(mib(r.used_memory)))],
                log_y: false,
                reference: (maxmemory > 0).then(|| {
                    (
                        mib(maxmemory),
                        format!("maxmemory ({:.1} MiB)", mib(maxmemory)),
                    )
                }),
            },
            Panel {
                y_label: "keys per second".into(),
                series: vec![
                    line("evicted keys/s", &|r| Some(per_s(r.evicted_keys))),
                    line("expired keys/s", &|r| Some(per_s(r.expired_keys))),
                    line("SETs rejected with OOM/s", &|r| {
                        Some(per_s(r.oom_rejections))
                    }),
                ],
                log_y: false,
                reference: None,
            },
        ],
    );
    let mut figures = vec![
        ("latency.png", latency),
        ("db_load.png", db_load),
        ("memory.png", memory),
    ];
    if scenario.clients.classes.len() > 1 {
        let by_class = |value: &dyn Fn(&ClassRow) -> Option<f64>| -> Vec<Series> {
            scenario
                .clients
                .classes
                .iter()
                .map(|c| Series {
                    name: c.name.clone(),
                    points: class_rows
                        .iter()
                        .filter(|r| r.class == c.name)
                        .filter_map(|r| value(r).map(|v| (mid(r.t_s), v)))
                        .collect(),
                    error_bars: Vec::new(),
                })
                .collect()
        };
        figures.push((
            "classes.png",
            figure(
                format!("{name}: per key class (per {every})"),
                vec![
                    Panel {
                        y_label: "hit ratio".into(),
                        series: by_class(&|r| r.hit_ratio),
                        log_y: false,
                        reference: None,
                    },
                    Panel {
                        y_label: "used memory (MiB)".into(),
                        series: by_class(&|r| Some(mib(r.used_memory))),
                        log_y: false,
                        reference: None,
                    },
                ],
            ),
        ));
    }
    let mut written = Vec::new();
    for (file, figure) in &figures {
        let path = dir.join(file);
        draw(&path, figure)?;
        written.push(path);
    }
    Ok(written)
}

/// Draws the comparison chart of a sweep: p99 latency and peak DB load against
/// `x_label`, one line per group, with 95% confidence intervals.
pub fn sweep_chart(path: &Path, title: String, x_label: String, panels: Vec<Panel>) -> Result<()> {
    let end = panels
        .iter()
        .flat_map(|p| p.series.iter().flat_map(|s| s.points.iter().map(|q| q.0)))
        .fold(0.0, f64::max);
    draw(
        path,
        &Figure {
            title,
            panels,
            warmup: 0.0,
            end: if end > 0.0 { end * 1.05 } else { 1.0 },
            x_label,
            faults: Vec::new(),
        },
    )
}

/// The time axis unit for a run of `end_s` seconds: seconds up to 20 minutes,
/// minutes up to 5 hours, hours beyond.
fn time_unit(end_s: f64) -> (&'static str, f64) {
    if end_s <= 1200.0 {
        ("s", 1.0)
    } else if end_s <= 5.0 * 3600.0 {
        ("min", 60.0)
    } else {
        ("h", 3600.0)
    }
}

/// A tick label with no needless digits: 1200, 45, 2.5, 0.25.
fn tick_label(v: &f64) -> String {
    let a = v.abs();
    let text = if a >= 10.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// "1 s", "100 ms", "5 min": the row width for chart titles.
fn format_interval(seconds: f64) -> String {
    if seconds >= 60.0 && seconds % 60.0 == 0.0 {
        format!("{} min", seconds / 60.0)
    } else if seconds >= 1.0 {
        format!("{seconds} s")
    } else {
        format!("{} ms", seconds * 1e3)
    }
}
