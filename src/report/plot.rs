//! Charts, with all styling in one place.
//!
//! A [`Figure`] is a title over a grid of [`Panel`]s sharing an x axis (a
//! stack for a run's time series, small multiples for a sweep); one drawing
//! routine renders every line chart, so every chart has a title, axis labels
//! with units, a legend in a strip of its own (never on the data) and, for
//! runs, the warmup band. Series are told apart by colour, dash pattern and
//! marker ([`SeriesStyle`]), the first drawn on top. [`heatmap`] draws the
//! other kind. Every picture goes through [`draw`], as PNG or SVG by the file's
//! extension, with its text set by [`text`] in the bundled font (DejaVu Sans,
//! see `fonts/LICENSE-DejaVu.txt`): no system font lookup, and SVGs embed it.

pub mod heatmap;
pub mod text;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use crate::cluster::ShardRow;
use crate::error::{Error, Result};
use crate::metrics::TimeseriesRow;
use crate::metrics::classes::ClassRow;
use crate::scenario::Scenario;

/// Font family name the bundled font is registered under (and that SVG text names).
pub const FONT: &str = "DejaVu Sans";
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
/// Dash patterns of successive series, (dash, gap) in pixels; (0, 0) is solid.
/// With the markers they tell series apart in greyscale.
const DASHES: [(i32, i32); 4] = [(0, 0), (12, 5), (3, 4), (20, 5)];
const WARMUP_FILL: RGBColor = RGBColor(228, 228, 228);
const REFERENCE_LINE: RGBColor = RGBColor(90, 90, 90);
/// Colour of a vertical reference line (a plan's answer).
const X_REFERENCE_LINE: RGBColor = RGBColor(190, 30, 45);
const FAULT_FILL: RGBColor = RGBColor(250, 210, 210);
const FAULT_LINE: RGBColor = RGBColor(200, 40, 40);
/// Font sizes, pixels: title, panel caption, axis title, tick label, legend.
const TITLE_SIZE: f64 = 24.0;
const CAPTION_SIZE: f64 = 18.0;
const AXIS_TITLE_SIZE: f64 = 17.0;
const TICK_SIZE: f64 = 15.0;
const LEGEND_SIZE: f64 = 15.0;
/// Height of one legend row, pixels.
const LEGEND_ROW: u32 = 26;
/// Width of a legend entry's sample (line and marker), pixels.
const LEGEND_SAMPLE: i32 = 34;
/// Left margin of panels' plot areas: the y tick labels and axis title.
const Y_LABEL_AREA: u32 = 96;
/// Margin around a panel's plot area, pixels.
const PANEL_MARGIN: u32 = 12;

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

/// One line of a panel. Its look (colour, dash pattern, marker shape) comes
/// from its position in the panel, see [`SeriesStyle::of`]: the first series
/// is drawn last, on top of the others.
pub struct Series {
    /// Legend label, in words.
    pub name: String,
    /// Points (x, y).
    pub points: Vec<(f64, f64)>,
    /// Error bars (x, low, high), drawn as vertical lines.
    pub error_bars: Vec<(f64, f64, f64)>,
}

impl Series {
    /// A line through `points`, without error bars.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
            error_bars: Vec::new(),
        }
    }

    /// The same line with error bars (x, low, high).
    pub fn with_error_bars(mut self, error_bars: Vec<(f64, f64, f64)>) -> Series {
        self.error_bars = error_bars;
        self
    }
}

/// How the series at a position in its panel (or shared legend) is drawn:
/// colour, dash pattern and marker, so that coinciding series and greyscale
/// prints stay readable.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeriesStyle {
    /// Line and marker colour.
    pub color: RGBColor,
    /// (dash, gap) in pixels; (0, 0) for a solid line.
    pub dash: (i32, i32),
    /// Marker shape: an index into the shapes of [`marker_outline`].
    pub marker: usize,
    /// Marker radius, pixels: series drawn under others get larger markers.
    pub marker_radius: f64,
    /// Filled marker, or an outline on white.
    pub filled: bool,
}

impl SeriesStyle {
    /// The style of series `index` (0 = first). Past the palette's eight
    /// colours, each round shifts the marker shape and the fill, so the
    /// first 16 series all differ (a sweep over every eviction policy has 15).
    pub fn of(index: usize) -> SeriesStyle {
        let round = index / PALETTE.len();
        SeriesStyle {
            color: PALETTE[index % PALETTE.len()],
            dash: DASHES[index % DASHES.len()],
            marker: (index + round) % MARKERS,
            marker_radius: 4.0 + 0.7 * (index % PALETTE.len()) as f64,
            filled: (index + round).is_multiple_of(2),
        }
    }
}

/// One plot area: series against the figure's x axis.
pub struct Panel {
    /// A caption above the plot area (for small multiples); empty for none.
    pub caption: String,
    /// Whether this panel shows the legend (small multiples show it once).
    pub legend: bool,
    /// Y axis title, in words with its unit.
    pub y_label: String,
    /// Lines, styled in order by [`SeriesStyle::of`]; the first drawn on top.
    pub series: Vec<Series>,
    /// Logarithmic y axis (for latencies spanning decades).
    pub log_y: bool,
    /// A dashed horizontal reference line and its legend label (e.g. the pool size).
    pub reference: Option<(f64, String)>,
    /// A dashed vertical reference line and its legend label (e.g. a plan's answer).
    pub x_reference: Option<(f64, String)>,
    /// A fixed y range (a ratio's 0 to 1, or a scale shared with other panels,
    /// see [`share_y`]); `None` fits the data.
    pub y_range: Option<Range<f64>>,
}

impl Panel {
    /// A panel with a legend and no caption, reference line, fixed range or log axis.
    pub fn new(y_label: impl Into<String>, series: Vec<Series>) -> Panel {
        Panel {
            caption: String::new(),
            legend: true,
            y_label: y_label.into(),
            series,
            log_y: false,
            reference: None,
            x_reference: None,
            y_range: None,
        }
    }
}

/// Gives `panels` one y scale, the union of what each would fit (panels
/// meant to be compared side by side); all must share `log_y`.
pub fn share_y(panels: &mut [Panel], warmup: f64) {
    let ranges: Vec<Range<f64>> = panels.iter().map(|p| y_fit(p, warmup)).collect();
    let Some(first) = ranges.first() else {
        return;
    };
    let union = ranges
        .iter()
        .fold(first.clone(), |u, r| u.start.min(r.start)..u.end.max(r.end));
    for p in panels {
        p.y_range = Some(union.clone());
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
    /// Warmup, shaded and left out of the y scales, in x units (0: none).
    pub warmup: f64,
    /// The x axis range.
    pub x_range: Range<f64>,
    /// Logarithmic x axis (for ranges spanning decades; the range must be positive).
    pub log_x: bool,
    /// The x axis title, in words with its unit.
    pub x_label: String,
    /// Names of categorical x positions 0, 1, 2...; empty for a numeric axis.
    pub x_names: Vec<String>,
    /// Faults from the scenario's timeline: (start, end, name) in x units.
    pub faults: Vec<(f64, f64, &'static str)>,
    /// One legend for all panels, in a row under the title (small multiples);
    /// panels then keep theirs off. Entry i is styled as series i.
    pub shared_legend: Vec<String>,
}

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

/// Draws `picture` into `path` atomically: SVG if the extension is `svg`, else
/// PNG. Text is set with the bundled font in both (see [`text`]).
pub fn draw(path: &Path, picture: &impl Paint) -> Result<()> {
    ensure_font();
    let svg = path.extension().is_some_and(|e| e == "svg");
    let tmp = path.with_file_name(format!(
        ".{}.tmp.{}",
        path.file_stem().unwrap_or_default().to_string_lossy(),
        if svg { "svg" } else { "png" }
    ));
    let failed = |message: String| Error::Chart {
        path: path.to_path_buf(),
        message,
    };
    if svg {
        let mut buffer = String::new();
        paint_on(
            text::Typeset::new(SVGBackend::with_string(&mut buffer, picture.size()), false),
            picture,
        )
        .map_err(|e| failed(e.to_string()))?;
        std::fs::write(&tmp, text::embed_font(&buffer)).map_err(|e| Error::output(&tmp, e))?;
    } else {
        paint_on(
            text::Typeset::new(BitMapBackend::new(&tmp, picture.size()), true),
            picture,
        )
        .map_err(|e| failed(e.to_string()))?;
    }
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

/// Draws `text` centred in a strip at the top of `area`, shrunk to fit its
/// width, with a margin above and below; returns the rest of the area.
pub(crate) fn draw_heading<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    heading: &str,
    size: f64,
) -> std::result::Result<DrawingArea<DB, Shift>, Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let (width, _) = area.dim_in_pixel();
    let (w, _) = text::text_size(heading, size);
    let fit = (width as f64 - 24.0) / w.max(1.0);
    let size = if fit < 1.0 {
        (size * fit).max(10.0)
    } else {
        size
    };
    let strip = (size * 1.2 + 16.0).round() as u32;
    let (top, rest) = area.split_vertically(strip);
    top.draw(&Text::new(
        heading.to_string(),
        (width as i32 / 2, strip as i32 / 2 + 2),
        TextStyle::from((FONT, size).into_font()).pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    Ok(rest)
}

impl Paint for Figure {
    fn size(&self) -> (u32, u32) {
        let columns = self.columns.max(1) as u32;
        let rows = self.panels.len().div_ceil(columns as usize).max(1) as u32;
        if columns == 1 {
            (SIZE.0, SIZE.1.max(260 * rows + 80))
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
        let mut root = draw_heading(root, &self.title, TITLE_SIZE)?;
        if !self.shared_legend.is_empty() {
            let entries: Vec<LegendEntry> = self
                .shared_legend
                .iter()
                .enumerate()
                .map(|(i, name)| LegendEntry {
                    name: name.clone(),
                    swatch: Swatch::Series(SeriesStyle::of(i), !self.x_names.is_empty()),
                })
                .collect();
            let (width, _) = root.dim_in_pixel();
            let layout = legend_layout(&entries, width as i32 - 2 * PANEL_MARGIN as i32);
            let (legend, rest) = root.split_vertically(legend_height(&layout));
            draw_legend(&legend, &entries, &layout, 0)?;
            root = rest;
        }
        let areas = root.split_evenly((rows, columns));
        for (i, (panel, area)) in self.panels.iter().zip(&areas).enumerate() {
            let bottom_row = i + columns >= self.panels.len();
            draw_panel(area, panel, self, bottom_row, i == 0)?;
        }
        Ok(())
    }
}

/// A legend entry's sample.
#[derive(Clone, Copy)]
enum Swatch {
    /// A series' line and marker (marker only on a categorical axis).
    Series(SeriesStyle, bool),
    /// A dashed reference line of this colour.
    Reference(RGBColor),
    /// A filled band.
    Fill(RGBColor),
}

struct LegendEntry {
    name: String,
    swatch: Swatch,
}

/// Where each legend entry goes: rows of (entry, x offset), each row centred
/// in `width` pixels. Entries wrap to a new row rather than overflow.
fn legend_layout(entries: &[LegendEntry], width: i32) -> Vec<Vec<(usize, i32)>> {
    let widths: Vec<i32> = entries
        .iter()
        .map(|e| LEGEND_SAMPLE + 8 + text::text_size(&e.name, LEGEND_SIZE).0.ceil() as i32 + 22)
        .collect();
    let mut rows: Vec<Vec<(usize, i32)>> = Vec::new();
    let mut used = 0;
    for (i, &w) in widths.iter().enumerate() {
        if rows.is_empty() || used + w - 22 > width {
            rows.push(Vec::new());
            used = 0;
        }
        rows.last_mut().expect("a row was pushed").push((i, used));
        used += w;
    }
    // Centre each row.
    for row in &mut rows {
        let total: i32 = row.iter().map(|&(i, _)| widths[i]).sum::<i32>() - 22;
        let shift = ((width - total) / 2).max(0);
        for entry in row.iter_mut() {
            entry.1 += shift;
        }
    }
    rows
}

/// Pixels a legend of `layout` takes above the plot area (0 for none).
fn legend_height(layout: &[Vec<(usize, i32)>]) -> u32 {
    if layout.is_empty() {
        0
    } else {
        LEGEND_ROW * layout.len() as u32 + 6
    }
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    layout: &[Vec<(usize, i32)>],
    left: i32,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let style = TextStyle::from((FONT, LEGEND_SIZE).into_font());
    for (r, row) in layout.iter().enumerate() {
        let y = r as i32 * LEGEND_ROW as i32 + LEGEND_ROW as i32 / 2 + 3;
        for &(i, offset) in row {
            let x = left + offset;
            let entry = &entries[i];
            match entry.swatch {
                Swatch::Series(style, markers_only) => {
                    if !markers_only {
                        draw_line(area, vec![(x, y), (x + LEGEND_SAMPLE, y)], &style)?;
                    }
                    draw_marker(area, (x + LEGEND_SAMPLE / 2, y), &style)?;
                }
                Swatch::Reference(color) => {
                    area.draw(&PathElement::new(
                        [(x, y), (x + 10, y)],
                        color.stroke_width(2),
                    ))?;
                    area.draw(&PathElement::new(
                        [(x + 16, y), (x + LEGEND_SAMPLE, y)],
                        color.stroke_width(2),
                    ))?;
                }
                Swatch::Fill(color) => {
                    area.draw(&Rectangle::new(
                        [(x + 4, y - 7), (x + LEGEND_SAMPLE - 4, y + 7)],
                        color.filled(),
                    ))?;
                    area.draw(&Rectangle::new(
                        [(x + 4, y - 7), (x + LEGEND_SAMPLE - 4, y + 7)],
                        BLACK.mix(0.25),
                    ))?;
                }
            }
            area.draw(&Text::new(
                entry.name.clone(),
                (x + LEGEND_SAMPLE + 8, y),
                style.pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
    }
    Ok(())
}

/// Number of marker shapes.
const MARKERS: usize = 8;

/// The outline of marker `shape` of radius `r` around (0, 0), in pixels:
/// circle, square, triangle, diamond, inverted triangle, hexagon, plus, star.
pub fn marker_outline(shape: usize, r: f64) -> Vec<(i32, i32)> {
    let polygon = |n: usize, radius: f64, phase: f64| -> Vec<(f64, f64)> {
        (0..n)
            .map(|k| {
                let a = phase + k as f64 * std::f64::consts::TAU / n as f64;
                (radius * a.cos(), radius * a.sin())
            })
            .collect()
    };
    let up = -std::f64::consts::FRAC_PI_2;
    let points: Vec<(f64, f64)> = match shape % MARKERS {
        0 => polygon(16, r, 0.0),
        1 => polygon(4, r * 1.2, std::f64::consts::FRAC_PI_4),
        2 => polygon(3, r * 1.3, up),
        3 => polygon(4, r * 1.3, 0.0),
        4 => polygon(3, r * 1.3, -up),
        5 => polygon(6, r * 1.1, 0.0),
        6 => {
            let (a, b) = (r * 1.2, r * 0.4);
            vec![
                (-b, -a),
                (b, -a),
                (b, -b),
                (a, -b),
                (a, b),
                (b, b),
                (b, a),
                (-b, a),
                (-b, b),
                (-a, b),
                (-a, -b),
                (-b, -b),
            ]
        }
        _ => (0..10)
            .map(|k| {
                let radius = if k % 2 == 0 { r * 1.4 } else { r * 0.6 };
                let a = up + k as f64 * std::f64::consts::PI / 5.0;
                (radius * a.cos(), radius * a.sin())
            })
            .collect(),
    };
    points
        .into_iter()
        .map(|(x, y)| (x.round() as i32, y.round() as i32))
        .collect()
}

/// Draws the marker of `style` at `at` (in the area's coordinates).
fn draw_marker<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    style: &SeriesStyle,
) -> DrawResult
where
    DB::ErrorType: 'static,
    CT::From: Clone + 'static,
{
    let outline = marker_outline(style.marker, style.marker_radius);
    let fill = if style.filled { style.color } else { WHITE };
    area.draw(&(EmptyElement::at(at.clone()) + Polygon::new(outline.clone(), fill.filled())))?;
    let mut closed = outline;
    closed.push(closed[0]);
    area.draw(&(EmptyElement::at(at) + PathElement::new(closed, style.color.stroke_width(2))))?;
    Ok(())
}

/// Draws a line through `points` in the dash pattern of `style`.
fn draw_line<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    points: Vec<CT::From>,
    style: &SeriesStyle,
) -> DrawResult
where
    DB::ErrorType: 'static,
    CT::From: Clone + 'static,
{
    let stroke = style.color.stroke_width(2);
    if style.dash == (0, 0) {
        area.draw(&PathElement::new(points, stroke))?;
    } else {
        area.draw(&DashedPathElement::new(
            points,
            style.dash.0,
            style.dash.1,
            stroke,
        ))?;
    }
    Ok(())
}

/// The y range that fits `panel`'s data after the warmup (all of it if
/// nothing comes after), its reference line and error bars, with a little
/// room above; logarithmic panels get room below too.
fn y_fit(panel: &Panel, warmup: f64) -> Range<f64> {
    let after = |x: f64| x >= warmup;
    let any_after = panel
        .series
        .iter()
        .any(|s| s.points.iter().any(|p| after(p.0)));
    let keep = |x: f64| !any_after || after(x);
    let ys: Vec<f64> = panel
        .series
        .iter()
        .flat_map(|s| {
            s.points.iter().filter(|p| keep(p.0)).map(|p| p.1).chain(
                s.error_bars
                    .iter()
                    .filter(|e| keep(e.0))
                    .flat_map(|e| [e.1, e.2]),
            )
        })
        .chain(panel.reference.iter().map(|r| r.0))
        .filter(|y| y.is_finite())
        .collect();
    if panel.log_y {
        let positive = ys.iter().copied().filter(|y| *y > 0.0);
        let lo = positive.clone().fold(f64::INFINITY, f64::min);
        let hi = positive.fold(0.0, f64::max);
        if lo.is_finite() {
            let (lo, hi) = if hi / lo < 3.0 {
                (lo / 1.7, hi * 1.7)
            } else {
                (lo / 1.35, hi * 1.35)
            };
            lo..hi
        } else {
            0.1..10.0
        }
    } else {
        let hi = ys.iter().copied().fold(0.0, f64::max);
        let lo = ys.iter().copied().fold(0.0, f64::min);
        if hi > lo { lo..hi * 1.06 } else { lo..lo + 1.0 }
    }
}

/// Tick values of a logarithmic axis from `lo` to `hi`: 1, 2 and 5 per
/// decade, or 1 to 9 when the range spans less than two of those, or only
/// the powers of ten when that would be more than a dozen labels.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    log_ticks_within(lo, hi, 12)
}

/// [`log_ticks`] with at most about `max` labels: 1, 2 and 5 per decade,
/// else 1 and 3, else powers of ten.
fn log_ticks_within(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let with = |steps: &[f64]| -> Vec<f64> {
        let mut out = Vec::new();
        let mut decade = 10f64.powf(lo.log10().floor());
        while decade <= hi {
            for s in steps {
                let v = decade * s;
                if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                    out.push(v);
                }
            }
            decade *= 10.0;
        }
        out
    };
    let ticks = with(&[1.0, 2.0, 5.0]);
    if ticks.len() < 3 {
        return with(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    }
    if ticks.len() <= max {
        return ticks;
    }
    let ticks = with(&[1.0, 3.0]);
    if ticks.len() <= max {
        ticks
    } else {
        with(&[1.0])
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    figure: &Figure,
    show_x_label: bool,
    first: bool,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let area = if panel.caption.is_empty() {
        area.clone()
    } else {
        draw_heading(area, &panel.caption, CAPTION_SIZE)?
    };
    let area = if panel.legend {
        let entries = legend_entries(panel, figure, first);
        let (width, _) = area.dim_in_pixel();
        let plot_width = width as i32 - Y_LABEL_AREA as i32 - 2 * PANEL_MARGIN as i32;
        let layout = legend_layout(&entries, plot_width);
        let (legend, rest) = area.split_vertically(legend_height(&layout));
        draw_legend(
            &legend,
            &entries,
            &layout,
            (Y_LABEL_AREA + PANEL_MARGIN) as i32,
        )?;
        rest
    } else {
        area
    };
    let range = panel
        .y_range
        .clone()
        .unwrap_or_else(|| y_fit(panel, figure.warmup));
    if panel.log_y {
        // About one label per 30 pixels of height.
        let (_, height) = area.dim_in_pixel();
        let ticks = log_ticks_within(range.start, range.end, (height as usize / 30).max(3));
        let light = log_ticks_light(range.start, range.end);
        with_x_axis(
            &area,
            panel,
            figure,
            show_x_label,
            range
                .log_scale()
                .with_key_points(ticks)
                .with_light_points(light),
        )
    } else {
        with_x_axis(&area, panel, figure, show_x_label, range)
    }
}

/// Light grid lines of a logarithmic axis: 1 to 9 per decade.
fn log_ticks_light(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut decade = 10f64.powf(lo.log10().floor());
    while decade <= hi {
        for s in 1..10 {
            let v = decade * s as f64;
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
        decade *= 10.0;
    }
    out
}

/// The legend of a panel: its series, then reference lines, then (on the
/// figure's first panel, as they shade every panel alike) warmup and faults.
fn legend_entries(panel: &Panel, figure: &Figure, first: bool) -> Vec<LegendEntry> {
    let mut entries: Vec<LegendEntry> = panel
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| LegendEntry {
            name: s.name.clone(),
            swatch: Swatch::Series(SeriesStyle::of(i), !figure.x_names.is_empty()),
        })
        .collect();
    for (reference, color) in [
        (&panel.reference, REFERENCE_LINE),
        (&panel.x_reference, X_REFERENCE_LINE),
    ] {
        if let Some((_, label)) = reference {
            entries.push(LegendEntry {
                name: label.clone(),
                swatch: Swatch::Reference(color),
            });
        }
    }
    if figure.warmup > 0.0 && first {
        entries.push(LegendEntry {
            name: "warmup (not in summary)".into(),
            swatch: Swatch::Fill(WARMUP_FILL),
        });
    }
    if !figure.faults.is_empty() && first {
        let names: std::collections::BTreeSet<&str> = figure.faults.iter().map(|f| f.2).collect();
        entries.push(LegendEntry {
            name: format!(
                "fault: {}",
                names.into_iter().collect::<Vec<_>>().join(", ")
            ),
            swatch: Swatch::Fill(FAULT_FILL),
        });
    }
    entries
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
        let ticks = log_ticks(x.start, x.end);
        let light = log_ticks_light(x.start, x.end);
        draw_series(
            area,
            panel,
            figure,
            show_x_label,
            x.log_scale()
                .with_key_points(ticks)
                .with_light_points(light),
            y_spec,
        )
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
        .margin(PANEL_MARGIN)
        .margin_top(6)
        .x_label_area_size(if show_x_label { 52 } else { 30 })
        .y_label_area_size(Y_LABEL_AREA)
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
        .label_style((FONT, TICK_SIZE))
        .axis_desc_style((FONT, AXIS_TITLE_SIZE))
        .light_line_style(RGBColor(242, 242, 242))
        .bold_line_style(RGBColor(215, 215, 215));
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
    let Range {
        start: x_lo,
        end: x_hi,
    } = figure.x_range;
    if figure.warmup > 0.0 {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x_lo, y_lo), (figure.warmup.min(x_hi), y_hi)],
            WARMUP_FILL.filled(),
        )))?;
    }
    if !figure.faults.is_empty() {
        let width = ((x_hi - x_lo) / 400.0).max(1e-9);
        let bands = figure.faults.iter().map(|&(start, end, _)| {
            Rectangle::new(
                [(start, y_lo), (end.max(start + width), y_hi)],
                FAULT_FILL.filled(),
            )
        });
        chart.draw_series(bands)?;
        let edges = figure.faults.iter().map(|&(start, _, _)| {
            PathElement::new(
                [(start, y_lo), (start, y_hi)],
                FAULT_LINE.mix(0.6).stroke_width(1),
            )
        });
        chart.draw_series(edges)?;
    }
    if let Some((value, _)) = &panel.reference {
        chart.draw_series(std::iter::once(DashedPathElement::new(
            vec![(x_lo, *value), (x_hi, *value)],
            10,
            6,
            REFERENCE_LINE.stroke_width(2),
        )))?;
    }
    if let Some((value, _)) = &panel.x_reference {
        chart.draw_series(std::iter::once(DashedPathElement::new(
            vec![(*value, y_lo), (*value, y_hi)],
            10,
            6,
            X_REFERENCE_LINE.stroke_width(2),
        )))?;
    }
    let plot = chart.plotting_area();
    let n = panel.series.len();
    // Drawing order: the first series last, on top (p50 over max). Lines
    // and error bars first, then every marker, so coinciding lines still
    // show each series' markers.
    for (i, series) in panel.series.iter().enumerate().rev() {
        let style = SeriesStyle::of(i);
        for &(x, lo, hi) in &series.error_bars {
            plot.draw(&PathElement::new(
                [(x, lo), (x, hi)],
                style.color.stroke_width(2),
            ))?;
        }
        // Categories have no order in between: points only, no joining lines.
        if figure.x_names.is_empty() && series.points.len() > 1 {
            draw_line(plot, series.points.clone(), &style)?;
        }
    }
    for (i, series) in panel.series.iter().enumerate().rev() {
        let style = SeriesStyle::of(i);
        for k in marker_indices(series.points.len(), i, n) {
            draw_marker(plot, series.points[k], &style)?;
        }
    }
    Ok(())
}

/// Which points of series `i` of `n` carry a marker: every point of a short
/// series; about a dozen of a long one, staggered between series so that
/// coinciding lines show every series' markers side by side.
fn marker_indices(points: usize, i: usize, n: usize) -> Vec<usize> {
    if points <= 30 {
        return (0..points).collect();
    }
    let step = points / 12;
    let offset = step * i / n.max(1) + step / 2 / n.max(1);
    (0..points)
        .filter(|k| *k >= offset && (k - offset).is_multiple_of(step))
        .collect()
}

/// The run's name with its variant, the `--set` overrides that made it
/// (`hot-key-expiry (strategy.kind = lock)`), for chart titles.
pub fn run_title(scenario: &Scenario) -> String {
    let overrides: Vec<String> = scenario
        .overrides
        .iter()
        .filter(|o| !o.starts_with("seed="))
        .map(|o| match o.split_once('=') {
            Some((path, value)) => format!("{} = {}", path.trim(), value.trim()),
            None => o.clone(),
        })
        .collect();
    if overrides.is_empty() {
        scenario.name.clone()
    } else {
        format!("{} ({})", scenario.name, overrides.join(", "))
    }
}

/// Draws the charts of a run directory from its time series (run-wide, per
/// class, per shard); returns the files. A time series with no row to draw
/// (none before the last arrival) is bad input: no chart is drawn.
pub fn run_charts(
    dir: &Path,
    scenario: &Scenario,
    rows: &[TimeseriesRow],
    class_rows: &[ClassRow],
    shard_rows: &[ShardRow],
    format: Format,
) -> Result<Vec<PathBuf>> {
    // Rows after the last arrival hold only stragglers, not load: not drawn.
    let arrivals_end_s = scenario.duration.as_secs_f64();
    let rows: Vec<&TimeseriesRow> = rows
        .iter()
        .filter(|r| !r.drain && r.t_s < arrivals_end_s)
        .collect();
    if rows.is_empty() {
        return Err(Error::BadInput(format!(
            "{}: the time series has no row to draw (no interval before the last arrival); \
             give a directory written by `stampede run` whose {} has rows",
            dir.display(),
            crate::report::TIMESERIES_FILE
        )));
    }
    let class_rows: Vec<&ClassRow> = class_rows
        .iter()
        .filter(|r| r.t_s < arrivals_end_s)
        .collect();
    let interval_s = scenario.interval.as_secs_f64();
    let end_s = rows.last().map_or(1.0, |r| r.t_s + interval_s);
    let (time_unit, seconds_per_unit) = time_unit(end_s);
    // Points sit at the middle of their interval.
    let mid = |t_s: f64| (t_s + interval_s / 2.0) / seconds_per_unit;
    let line = |name: &str, value: &dyn Fn(&TimeseriesRow) -> Option<f64>| {
        Series::new(
            name,
            rows.iter()
                .filter_map(|r| value(r).map(|v| (mid(r.t_s), v)))
                .collect(),
        )
    };
    let every = format_interval(interval_s);
    let name = run_title(scenario);
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

    // A series that stays at zero says so in its legend.
    let none_if_zero = |mut s: Series| {
        if s.points.iter().all(|p| p.1 == 0.0) {
            s.name.push_str(": none");
        }
        s
    };
    let latency = figure(
        format!("{name}: request latency (per {every})"),
        vec![Panel {
            log_y: true,
            ..Panel::new(
                "latency (ms, log scale)",
                vec![
                    line("median (p50)", &|r| r.latency_p50_ms),
                    line("99th percentile (p99)", &|r| r.latency_p99_ms),
                    line("maximum", &|r| r.latency_max_ms),
                ],
            )
        }],
    );
    let mut db_panels = vec![
        Panel::new(
            "queries per second (q/s)",
            vec![
                line("queries started", &|r| Some(per_s(r.db_queries))),
                none_if_zero(line(
                    "duplicate queries (same key already in flight)",
                    &|r| Some(per_s(r.duplicate_queries)),
                )),
            ],
        ),
        Panel {
            reference: Some((
                connections as f64,
                format!("pool size ({} connections)", thousands(connections as f64)),
            )),
            ..Panel::new(
                "connections in use",
                vec![line("queries running (most at once)", &|r| {
                    Some(r.db_inflight_max as f64)
                })],
            )
        },
        Panel::new(
            "queries waiting",
            vec![line(
                "queries waiting for a connection (longest queue)",
                &|r| Some(r.db_queue_max as f64),
            )],
        ),
    ];
    // A cache modelled as a server: its load beside the database's.
    let server = rows.iter().any(|r| r.cache_utilization.is_some());
    if server {
        db_panels.push(Panel {
            y_range: Some(0.0..104.0),
            ..Panel::new(
                "cache node busy (%)",
                vec![line("busiest cache node's thread busy", &|r| {
                    r.cache_utilization.map(|u| u * 100.0)
                })],
            )
        });
        db_panels.push(Panel::new(
            "cache commands waiting",
            vec![line(
                "commands waiting for a cache node's thread (longest queue)",
                &|r| r.cache_queue_max.map(|q| q as f64),
            )],
        ));
    }
    let db_load = figure(
        if server {
            format!("{name}: database and cache load (per {every})")
        } else {
            format!("{name}: database load (per {every})")
        },
        db_panels,
    );
    let maxmemory = scenario.cache.maxmemory_bytes;
    let memory = figure(
        format!("{name}: cache memory (per {every})"),
        vec![
            Panel {
                reference: (maxmemory > 0).then(|| {
                    (
                        mib(maxmemory),
                        format!("maxmemory ({} MiB)", tick_label(&mib(maxmemory))),
                    )
                }),
                ..Panel::new(
                    "used memory (MiB)",
                    vec![line("used memory", &|r| Some(mib(r.used_memory)))],
                )
            },
            Panel::new(
                "keys per second",
                vec![
                    none_if_zero(line("keys evicted", &|r| Some(per_s(r.evicted_keys)))),
                    none_if_zero(line("keys expired", &|r| Some(per_s(r.expired_keys)))),
                    none_if_zero(line("writes refused for lack of memory (OOM)", &|r| {
                        Some(per_s(r.oom_rejections))
                    })),
                ],
            ),
        ],
    );
    let mut error_panels = vec![
        Panel::new(
            "requests per second (req/s)",
            vec![
                none_if_zero(line("failed requests (errors)", &|r| Some(per_s(r.errors)))),
                none_if_zero(line("timed-out attempts", &|r| Some(per_s(r.timeouts)))),
            ],
        ),
        Panel {
            y_range: Some(0.0..1.04),
            ..Panel::new(
                "hit ratio (first cache read)",
                vec![line("hit ratio", &|r| {
                    let reads = r.hits + r.misses;
                    (reads > 0).then(|| r.hits as f64 / reads as f64)
                })],
            )
        },
    ];
    if rows.iter().any(|r| r.cache_errors > 0) {
        error_panels.push(Panel::new(
            "cache commands per second",
            vec![line("cache commands failed (cache down)", &|r| {
                Some(per_s(r.cache_errors))
            })],
        ));
    }
    let errors = figure(
        format!("{name}: errors, timeouts and hit ratio (per {every})"),
        error_panels,
    );
    let mut figures = vec![
        ("latency", latency),
        ("db_load", db_load),
        ("memory", memory),
        (ERRORS_CHART, errors),
    ];
    if scenario.clients.classes.len() > 1 {
        let by_class = |value: &dyn Fn(&ClassRow) -> Option<f64>| -> Vec<Series> {
            scenario
                .clients
                .classes
                .iter()
                .map(|c| {
                    Series::new(
                        c.name.clone(),
                        class_rows
                            .iter()
                            .filter(|r| r.class == c.name)
                            .filter_map(|r| value(r).map(|v| (mid(r.t_s), v)))
                            .collect(),
                    )
                })
                .collect()
        };
        figures.push((
            "classes",
            figure(
                format!("{name}: per key class (per {every})"),
                vec![
                    Panel {
                        y_range: Some(0.0..1.04),
                        ..Panel::new("hit ratio", by_class(&|r| r.hit_ratio))
                    },
                    Panel::new("used memory (MiB)", by_class(&|r| Some(mib(r.used_memory)))),
                ],
            ),
        ));
    }
    if server && !shard_rows.is_empty() {
        let shards = shard_rows.iter().map(|r| r.shard).max().unwrap_or(0) + 1;
        let by_shard = |value: &dyn Fn(&ShardRow) -> f64| -> Vec<Series> {
            (0..shards)
                .map(|shard| {
                    Series::new(
                        format!("shard {shard}"),
                        shard_rows
                            .iter()
                            .filter(|r| r.shard == shard && !r.drain && r.t_s < arrivals_end_s)
                            .map(|r| (mid(r.t_s), value(r)))
                            .collect(),
                    )
                })
                .collect()
        };
        let mut panels = vec![
            Panel::new(
                "commands received per second",
                by_shard(&|r| per_s(r.commands)),
            ),
            Panel::new("used memory (MiB)", by_shard(&|r| mib(r.used_memory))),
            Panel {
                y_range: Some(0.0..104.0),
                ..Panel::new("thread busy (%)", by_shard(&|r| r.utilization * 100.0))
            },
            Panel::new(
                "commands waiting (longest queue)",
                by_shard(&|r| r.queue_max as f64),
            ),
        ];
        for p in &mut panels[1..] {
            p.legend = false;
        }
        figures.push((
            SHARDS_CHART,
            Figure {
                columns: 2,
                ..figure(
                    format!("{name}: load and memory per cache shard (per {every})"),
                    panels,
                )
            },
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

/// The chart of errors, timeouts and hit ratio over time (extension from the format).
pub const ERRORS_CHART: &str = "errors";
/// The chart of each cache shard's load and memory over time.
pub const SHARDS_CHART: &str = "shards";

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

/// A tick label with no needless digits and thousands separators: 12,000,
/// 45, 2.5, 0.25; millions and more with an SI prefix: 2.5M, 1G.
pub fn tick_label(v: &f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        let (scaled, prefix) = if a >= 1e9 {
            (v / 1e9, "G")
        } else {
            (v / 1e6, "M")
        };
        return format!("{}{prefix}", trim_zeros(format!("{scaled:.2}")));
    }
    if a >= 10.0 || a == 0.0 {
        thousands(*v)
    } else if a >= 1.0 {
        trim_zeros(format!("{v:.2}"))
    } else if a >= 0.01 {
        trim_zeros(format!("{v:.3}"))
    } else {
        trim_zeros(format!("{v:.5}"))
    }
}

fn trim_zeros(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// `v` rounded to a whole number with thousands separators: 12,345.
pub fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 && digits != "0" {
        out.insert(0, '-');
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_human() {
        assert_eq!(tick_label(&12000.0), "12,000");
        assert_eq!(tick_label(&1234567.0), "1.23M");
        assert_eq!(tick_label(&2.5), "2.5");
        assert_eq!(tick_label(&0.25), "0.25");
        assert_eq!(tick_label(&0.0), "0");
        assert_eq!(tick_label(&-4500.0), "-4,500");
    }

    #[test]
    fn log_axes_label_several_values_per_decade() {
        assert_eq!(
            log_ticks(0.4, 400.0),
            [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0]
        );
        // Less than a decade: every integer multiple.
        assert!(log_ticks(120.0, 480.0).len() >= 3);
        // Many decades: powers of ten only.
        assert_eq!(log_ticks(0.1, 1e6).len(), 8);
    }

    #[test]
    fn r11_legends_sit_in_their_own_strip_and_wrap_rather_than_overflow() {
        let entries: Vec<LegendEntry> = (0..6)
            .map(|i| LegendEntry {
                name: format!("a fairly long legend entry number {i}"),
                swatch: Swatch::Series(SeriesStyle::of(i), false),
            })
            .collect();
        let width = 900;
        let layout = legend_layout(&entries, width);
        assert!(layout.len() > 1, "six long entries wrap");
        assert_eq!(layout.iter().map(Vec::len).sum::<usize>(), 6);
        for row in &layout {
            let (last, x) = *row.last().unwrap();
            let w = LEGEND_SAMPLE + 8 + text::text_size(&entries[last].name, LEGEND_SIZE).0 as i32;
            assert!(row[0].1 >= 0 && x + w <= width, "row fits: {row:?}");
        }
        // The strip above the plot area is as tall as its rows: the plot
        // area starts below every entry.
        assert_eq!(legend_height(&layout), LEGEND_ROW * layout.len() as u32 + 6);
        assert_eq!(legend_height(&[]), 0);
    }

    #[test]
    fn r11_series_differ_by_more_than_colour() {
        for i in 0..8 {
            for j in 0..i {
                let (a, b) = (SeriesStyle::of(i), SeriesStyle::of(j));
                assert!(a.marker != b.marker || a.marker_radius != b.marker_radius);
                assert_ne!(a.color, b.color);
            }
        }
        assert_ne!(SeriesStyle::of(0).dash, SeriesStyle::of(1).dash);
        // Long series carry staggered markers: two coinciding lines show both.
        let (a, b) = (marker_indices(300, 0, 2), marker_indices(300, 1, 2));
        assert!(a.len() >= 10 && b.len() >= 10);
        assert!(a.iter().all(|k| !b.contains(k)));
    }

    #[test]
    fn r11_warmup_is_left_out_of_the_y_scale() {
        let panel = Panel::new(
            "q",
            vec![Series::new(
                "a",
                vec![(1.0, 5000.0), (20.0, 100.0), (30.0, 120.0)],
            )],
        );
        let r = y_fit(&panel, 10.0);
        assert!(r.end < 200.0, "{r:?}");
    }
}
