//! Charts, with all styling in one place.
//!
//! A [`Figure`] is a title over a grid of [`Panel`]s sharing an x axis (a
//! stack for a run's time series, small multiples for a sweep); one drawing
//! routine renders every line chart, so every chart has a title, axis labels
//! with units, a legend and, for runs, the warmup band. [`heatmap`] draws the
//! other kind. Every picture goes through [`draw`], as PNG or SVG by the file's
//! extension. The font is bundled (DejaVu Sans, see `fonts/LICENSE-DejaVu.txt`):
//! no system font lookup.

pub mod heatmap;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
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
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(150, 150, 60),
];
const WARMUP_FILL: RGBColor = RGBColor(225, 225, 225);
const REFERENCE_LINE: RGBColor = RGBColor(120, 120, 120);
const FAULT_FILL: RGBColor = RGBColor(250, 210, 210);
const FAULT_LINE: RGBColor = RGBColor(200, 40, 40);

/// Image format of the charts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Bitmap, for viewers and Markdown reports.
    #[default]
    Png,
    /// Vector, for documents that scale it.
    Svg,
}

impl Format {
    /// `name` with this format's extension: `latency` → `latency.png`.
    pub fn file(self, name: &str) -> String {
        match self {
            Format::Png => format!("{name}.png"),
            Format::Svg => format!("{name}.svg"),
        }
    }
}

/// One line of a panel.
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Points (x, y).
    pub points: Vec<(f64, f64)>,
    /// Error bars (x, low, high), drawn as vertical lines.
    pub error_bars: Vec<(f64, f64, f64)>,
}

/// One plot area: series against the figure's x axis.
pub struct Panel {
    /// A caption above the plot area (for small multiples); empty for none.
    pub caption: String,
    /// Whether this panel shows the legend (small multiples show it once).
    pub legend: bool,
    /// Y axis label, with its unit.
    pub y_label: String,
    /// Lines, coloured in [`PALETTE`] order.
    pub series: Vec<Series>,
    /// Logarithmic y axis (for latencies spanning decades).
    pub log_y: bool,
    /// A dashed horizontal reference line and its legend label (e.g. the pool size).
    pub reference: Option<(f64, String)>,
}

impl Panel {
    /// A panel with a legend and no caption, reference line or log axis.
    pub fn new(y_label: impl Into<String>, series: Vec<Series>) -> Panel {
        Panel {
            caption: String::new(),
            legend: true,
            y_label: y_label.into(),
            series,
            log_y: false,
            reference: None,
        }
    }
}

/// A chart: a title over a grid of panels that share the x axis.
pub struct Figure {
    /// Chart title.
    pub title: String,
    /// The panels, row by row.
    pub panels: Vec<Panel>,
    /// Panels per row (1: a stack).
    pub columns: usize,
    /// Warmup, shaded, in x units (0: none).
    pub warmup: f64,
    /// The x axis range.
    pub x_range: Range<f64>,
    /// Logarithmic x axis (for ranges spanning decades; the range must be positive).
    pub log_x: bool,
    /// The x axis label, with its unit.
    pub x_label: String,
    /// Names of categorical x positions 0, 1, 2...; empty for a numeric axis.
    pub x_names: Vec<String>,
    /// Faults from the scenario's timeline: (start, end, name) in x units.
    pub faults: Vec<(f64, f64, &'static str)>,
    /// One legend for all panels, in a row under the title (small multiples);
    /// panels then keep theirs off.
    pub shared_legend: Vec<String>,
}

/// Height of the shared legend row, pixels.
const LEGEND_ROW: u32 = 34;

fn ensure_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        if register_font(FONT, FontStyle::Normal, FONT_BYTES).is_err() {
            unreachable!("the bundled font is a valid TrueType file");
        }
    });
}

/// The result of drawing steps, whatever the backend's error type.
pub type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// Something that paints itself on a drawing area of any backend (PNG or SVG).
pub trait Paint {
    /// The picture's size in pixels.
    fn size(&self) -> (u32, u32);
    /// Paints on `root`, already filled white.
    fn paint<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

/// Draws `picture` into `path` atomically: SVG if the extension is `svg`, else PNG.
pub fn draw(path: &Path, picture: &impl Paint) -> Result<()> {
    ensure_font();
    let svg = path.extension().is_some_and(|e| e == "svg");
    let tmp = path.with_file_name(format!(
        ".{}.tmp.{}",
        path.file_stem().unwrap_or_default().to_string_lossy(),
        if svg { "svg" } else { "png" }
    ));
    let drawn = if svg {
        paint_on(SVGBackend::new(&tmp, picture.size()), picture)
    } else {
        paint_on(BitMapBackend::new(&tmp, picture.size()), picture)
    };
    drawn.map_err(|e| Error::Chart {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    std::fs::rename(&tmp, path).map_err(|e| Error::output(path, e))
}

/// Renders `picture` as SVG text, for pages that inline their charts
/// (`report.html`); the same drawing as [`draw`] writes to a `.svg` file.
pub fn svg(picture: &impl Paint) -> Result<String> {
    ensure_font();
    let mut text = String::new();
    paint_on(SVGBackend::with_string(&mut text, picture.size()), picture).map_err(|e| {
        Error::Chart {
            path: PathBuf::from("report.html (inline SVG)"),
            message: e.to_string(),
        }
    })?;
    Ok(text)
}

fn paint_on<DB: DrawingBackend>(backend: DB, picture: &impl Paint) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let root = backend.into_drawing_area();
    root.fill(&WHITE)?;
    picture.paint(&root)?;
    root.present()?;
    Ok(())
}

impl Paint for Figure {
    fn size(&self) -> (u32, u32) {
        let columns = self.columns.max(1) as u32;
        let rows = self.panels.len().div_ceil(columns as usize).max(1) as u32;
        if columns == 1 {
            SIZE
        } else {
            (SIZE.0.max(480 * columns), SIZE.1.max(300 * rows + 60))
        }
    }

    fn paint<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let columns = self.columns.max(1);
        let rows = self.panels.len().div_ceil(columns).max(1);
        let mut root = root.titled(&self.title, (FONT, 26))?;
        if !self.shared_legend.is_empty() {
            let (legend, rest) = root.split_vertically(LEGEND_ROW);
            draw_legend_row(&legend, &self.shared_legend)?;
            root = rest;
        }
        let areas = root.split_evenly((rows, columns));
        for (i, (panel, area)) in self.panels.iter().zip(&areas).enumerate() {
            let bottom_row = i + columns >= self.panels.len();
            draw_panel(area, panel, self, bottom_row)?;
        }
        Ok(())
    }
}

/// Legend entries side by side, centred: a colour swatch then the name.
fn draw_legend_row<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    names: &[String],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let style = TextStyle::from((FONT, 16).into_font());
    let widths: Vec<i32> = names
        .iter()
        .map(|n| {
            area.estimate_text_size(n, &style)
                .map(|(w, _)| w as i32 + 50)
        })
        .collect::<std::result::Result<_, _>>()?;
    let (width, height) = area.dim_in_pixel();
    let mut x = (width as i32 - widths.iter().sum::<i32>()).max(0) / 2;
    let y = height as i32 / 2;
    for (i, (name, w)) in names.iter().zip(&widths).enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        area.draw(&PathElement::new(
            [(x, y), (x + 24, y)],
            color.stroke_width(4),
        ))?;
        area.draw(&Text::new(
            name.as_str(),
            (x + 30, y),
            style.pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        x += w;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    figure: &Figure,
    show_x_label: bool,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let area = if panel.caption.is_empty() {
        area.clone()
    } else {
        area.titled(&panel.caption, (FONT, 18))?
    };
    let ys = panel
        .series
        .iter()
        .flat_map(|s| {
            s.points
                .iter()
                .map(|p| p.1)
                .chain(s.error_bars.iter().map(|e| e.2))
        })
        .chain(panel.reference.iter().map(|r| r.0));
    if panel.log_y {
        let positive: Vec<f64> = ys.filter(|y| *y > 0.0).collect();
        let lo = positive.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = positive.iter().copied().fold(0.0, f64::max);
        let (lo, hi) = if lo.is_finite() {
            (lo / 1.5, hi * 2.0)
        } else {
            (0.1, 10.0)
        };
        with_x_axis(&area, panel, figure, show_x_label, (lo..hi).log_scale())
    } else {
        let hi = ys.fold(0.0, f64::max);
        let hi = if hi > 0.0 { hi * 1.12 } else { 1.0 };
        with_x_axis(&area, panel, figure, show_x_label, 0.0..hi)
    }
}

/// Draws the panel with the figure's x axis, linear or logarithmic.
fn with_x_axis<DB: DrawingBackend, Y>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    figure: &Figure,
    show_x_label: bool,
    y_spec: Y,
) -> DrawResult
where
    DB::ErrorType: 'static,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let x = figure.x_range.clone();
    if figure.log_x {
        draw_series(area, panel, figure, show_x_label, x.log_scale(), y_spec)
    } else {
        draw_series(area, panel, figure, show_x_label, x, y_spec)
    }
}

fn draw_series<DB: DrawingBackend, X, Y>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    figure: &Figure,
    show_x_label: bool,
    x_spec: X,
    y_spec: Y,
) -> DrawResult
where
    DB::ErrorType: 'static,
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(if show_x_label { 48 } else { 30 })
        .y_label_area_size(90)
        .build_cartesian_2d(x_spec, y_spec)?;
    let names = &figure.x_names;
    let x_tick = |v: &f64| {
        if names.is_empty() {
            return tick_label(v);
        }
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < names.len() {
            names[i as usize].clone()
        } else {
            String::new()
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.y_desc(panel.y_label.as_str())
        .x_label_formatter(&x_tick)
        .y_label_formatter(&tick_label)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .light_line_style(RGBColor(240, 240, 240));
    if !names.is_empty() {
        mesh.x_labels(names.len() * 2 + 1);
    } else if figure.columns > 1 {
        mesh.x_labels(5);
    }
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
                [(figure.x_range.start, y_lo), (figure.warmup, y_hi)],
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
        let width = ((figure.x_range.end - figure.x_range.start) / 400.0).max(1e-9);
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
        // Categories have no order in between: points only, no joining lines.
        let joined = if figure.x_names.is_empty() {
            series.points.as_slice()
        } else {
            &[]
        };
        chart
            .draw_series(LineSeries::new(
                joined.iter().copied(),
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
        let Range { start, end } = figure.x_range;
        let steps = 60;
        // Even dashes on screen: interpolate in the axis's own scale.
        let at = move |k: usize| {
            let t = k as f64 / steps as f64;
            if figure.log_x {
                start * (end / start).powf(t)
            } else {
                start + (end - start) * t
            }
        };
        let dashes = (0..steps).step_by(2).map(move |k| {
            PathElement::new(
                [(at(k), *value), (at(k + 1), *value)],
                REFERENCE_LINE.stroke_width(2),
            )
        });
        chart
            .draw_series(dashes)?
            .label(label.as_str())
            .legend(|(x, y)| {
                PathElement::new([(x, y), (x + 18, y)], REFERENCE_LINE.stroke_width(2))
            });
    }
    if panel.legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font((FONT, 15))
            .draw()?;
    }
    Ok(())
}

/// Draws the charts of a run directory from its time series; returns the files.
pub fn run_charts(
    dir: &Path,
    scenario: &Scenario,
    rows: &[TimeseriesRow],
    class_rows: &[ClassRow],
    format: Format,
) -> Result<Vec<PathBuf>> {
    // Rows after the last arrival hold only stragglers, not load: not drawn.
    let arrivals_end_s = scenario.duration.as_secs_f64();
    let rows: Vec<&TimeseriesRow> = rows.iter().filter(|r| r.t_s < arrivals_end_s).collect();
    let class_rows: Vec<&ClassRow> = class_rows
        .iter()
        .filter(|r| r.t_s < arrivals_end_s)
        .collect();
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
        columns: 1,
        warmup: scenario.warmup.as_secs_f64() / seconds_per_unit,
        x_range: 0.0..end_s / seconds_per_unit,
        x_label: format!("simulated time ({time_unit})"),
        x_names: Vec::new(),
        log_x: false,
        shared_legend: Vec::new(),
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
            log_y: true,
            ..Panel::new(
                "latency (ms, log scale)",
                vec![
                    line("p50", &|r| r.latency_p50_ms),
                    line("p99", &|r| r.latency_p99_ms),
                    line("max", &|r| r.latency_max_ms),
                ],
            )
        }],
    );
    let db_load = figure(
        format!("{name}: database load (per {every})"),
        vec![
            Panel::new(
                "queries per second",
                vec![
                    line("queries/s", &|r| Some(per_s(r.db_queries))),
                    line("duplicate queries/s (same key already in flight)", &|r| {
                        Some(per_s(r.duplicate_queries))
                    }),
                ],
            ),
            Panel {
                reference: Some((
                    connections as f64,
                    format!("pool size ({connections} connections)"),
                )),
                ..Panel::new(
                    "queries",
                    vec![
                        line("running (max)", &|r| Some(r.db_inflight_max as f64)),
                        line("waiting for a connection (max)", &|r| {
                            Some(r.db_queue_max as f64)
                        }),
                    ],
                )
            },
        ],
    );
    let maxmemory = scenario.cache.maxmemory_bytes;
    let memory = figure(
        format!("{name}: cache memory (per {every})"),
        vec![
            Panel {
                reference: (maxmemory > 0).then(|| {
                    (
                        mib(maxmemory),
                        format!("maxmemory ({:.1} MiB)", mib(maxmemory)),
                    )
                }),
                ..Panel::new(
                    "used memory (MiB)",
                    vec![line("used_memory", &|r| Some(mib(r.used_memory)))],
                )
            },
            Panel::new(
                "keys per second",
                vec![
                    line("evicted keys/s", &|r| Some(per_s(r.evicted_keys))),
                    line("expired keys/s", &|r| Some(per_s(r.expired_keys))),
                    line("SETs rejected with OOM/s", &|r| {
                        Some(per_s(r.oom_rejections))
                    }),
                ],
            ),
        ],
    );
    let mut figures = vec![
        ("latency", latency),
        ("db_load", db_load),
        ("memory", memory),
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
            "classes",
            figure(
                format!("{name}: per key class (per {every})"),
                vec![
                    Panel::new("hit ratio", by_class(&|r| r.hit_ratio)),
                    Panel::new("used memory (MiB)", by_class(&|r| Some(mib(r.used_memory)))),
                ],
            ),
        ));
    }
    let mut written = Vec::new();
    for (file, figure) in &figures {
        let path = dir.join(format.file(file));
        draw(&path, figure)?;
        written.push(path);
    }
    Ok(written)
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
