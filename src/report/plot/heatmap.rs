//! Heatmaps: a metric over two swept parameters, one panel per value of the
//! others, on one shared colour scale with the value written in every cell.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::FontTransform;
use plotters::style::colors::colormaps::ViridisRGB;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::text::text_size;
use super::{DrawResult, FONT, Paint, draw_heading, log_ticks, tick_label};

/// One panel: a grid of cells, `cells[y][x]`, empty where no point was run.
pub struct HeatPanel {
    /// Caption above the panel (the other parameters' values); empty for none.
    pub caption: String,
    /// Values by row (y) then column (x).
    pub cells: Vec<Vec<Option<f64>>>,
}

/// A heatmap figure: panels sharing axes and one colour scale.
pub struct Heatmap {
    /// Chart title.
    pub title: String,
    /// X axis label (the parameter's dotted path).
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Names of the columns, left to right.
    pub x_names: Vec<String>,
    /// Names of the rows, bottom to top.
    pub y_names: Vec<String>,
    /// What the colour means, with its unit.
    pub value_label: String,
    /// The panels, row by row.
    pub panels: Vec<HeatPanel>,
}

/// Width of the colour bar area, pixels.
const BAR_WIDTH: u32 = 160;
/// Width of the colour bar's label area (tick labels and axis title), pixels.
const BAR_LABEL_AREA: u32 = 92;
/// Length of the colour bar's tick marks, pixels (what plotters picks for
/// the bar, 5 % of its width); plotters sets the tick labels twice this far
/// from the axis.
const BAR_TICK: i32 = 3;
/// Font sizes of the colour bar's tick labels and axis title, pixels.
const BAR_TICK_FONT: u32 = 14;
const BAR_TITLE_FONT: u32 = 15;
/// Gap between the colour bar's widest tick label and its axis title, pixels.
const BAR_TITLE_GAP: f64 = 12.0;

/// Where the colour bar's axis title is anchored, relative to `area` (its
/// right edge, the letters' tops, centred vertically on the bar): `BAR_TITLE_GAP`
/// right of the widest tick label, `widest` pixels wide, and never past the
/// area's right edge.
fn bar_title_position<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (xs, ys): (std::ops::Range<i32>, std::ops::Range<i32>),
    widest: f64,
) -> (i32, i32) {
    let (base_x, base_y) = area.get_base_pixel();
    let (width, _) = area.dim_in_pixel();
    let height = text_size("Ag", BAR_TITLE_FONT as f64).1;
    let labels_end = (xs.end - base_x) as f64 + 2.0 * BAR_TICK as f64 + widest;
    let x = (labels_end + BAR_TITLE_GAP + height)
        .round()
        .min(width as f64) as i32;
    (x, (ys.start + ys.end) / 2 - base_y)
}

impl Heatmap {
    fn columns(&self) -> usize {
        (self.panels.len() as f64).sqrt().ceil().max(1.0) as usize
    }

    /// The colour scale: (low, high, logarithmic). Logarithmic when the
    /// positive values span more than a factor of 20 (latencies under a stampede).
    fn scale(&self) -> (f64, f64, bool) {
        let values: Vec<f64> = self
            .panels
            .iter()
            .flat_map(|p| p.cells.iter().flatten().flatten().copied())
            .filter(|v| v.is_finite())
            .collect();
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() {
            return (0.0, 1.0, false);
        }
        let log = lo > 0.0 && hi / lo > 20.0;
        if hi > lo {
            (lo, hi, log)
        } else {
            (lo - 0.5, hi + 0.5, false)
        }
    }

    /// Position of `v` on the colour scale, 0 to 1.
    fn fraction(&self, v: f64) -> f64 {
        let (lo, hi, log) = self.scale();
        let f = if log {
            (v.ln() - lo.ln()) / (hi.ln() - lo.ln())
        } else {
            (v - lo) / (hi - lo)
        };
        f.clamp(0.0, 1.0)
    }
}

impl Paint for Heatmap {
    fn size(&self) -> (u32, u32) {
        let columns = self.columns() as u32;
        let rows = self.panels.len().div_ceil(columns as usize).max(1) as u32;
        (
            (430 * columns + BAR_WIDTH).max(900),
            (360 * rows + 70).max(560),
        )
    }

    fn paint<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let root = draw_heading(root, &self.title, 24.0)?;
        let (width, _) = root.dim_in_pixel();
        let (grid, bar) = root.split_horizontally(width.saturating_sub(BAR_WIDTH));
        let columns = self.columns();
        let rows = self.panels.len().div_ceil(columns).max(1);
        for (panel, area) in self.panels.iter().zip(grid.split_evenly((rows, columns))) {
            self.draw_panel(&area, panel)?;
        }
        self.draw_bar(&bar)
    }
}

impl Heatmap {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: &HeatPanel,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (nx, ny) = (self.x_names.len() as i32, self.y_names.len() as i32);
        // Room for the widest level name (an eviction policy's, say) and the axis title.
        let widest = self
            .y_names
            .iter()
            .map(|n| super::text::text_size(n, 15.0).0)
            .fold(0.0, f64::max);
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.caption, (FONT, 18))
            .margin(10)
            .margin_top(14)
            .x_label_area_size(50)
            .y_label_area_size(((widest + 48.0).ceil() as u32).max(80))
            // A segmented range a..b has a segment for each of a..=b.
            .build_cartesian_2d((0..nx - 1).into_segmented(), (0..ny - 1).into_segmented())?;
        // Numeric levels with thousands separators: 10,000.
        let name = |names: &[String], v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) => names
                .get(*i as usize)
                .map(|n| match n.parse::<f64>() {
                    Ok(x) if x.abs() >= 10_000.0 => tick_label(&x),
                    _ => n.clone(),
                })
                .unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            // Every level labelled (the default thins long axes).
            .x_labels(nx as usize + 1)
            .y_labels(ny as usize + 1)
            .x_label_formatter(&|v| name(&self.x_names, v))
            .y_label_formatter(&|v| name(&self.y_names, v))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 16))
            .draw()?;
        let cells = panel.cells.iter().enumerate().flat_map(|(y, row)| {
            row.iter()
                .enumerate()
                .filter_map(move |(x, v)| v.map(|v| (x as i32, y as i32, v)))
        });
        for (x, y, v) in cells {
            let f = self.fraction(v);
            let colour = ViridisRGB.get_color(f as f32);
            chart.draw_series(std::iter::once(Rectangle::new(
                [
                    (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                    (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
                ],
                colour.filled(),
            )))?;
            // Dark cells get white text, light cells black.
            let ink = if f < 0.6 { WHITE } else { BLACK };
            let style = TextStyle::from((FONT, 16).into_font())
                .color(&ink)
                .pos(Pos::new(HPos::Center, VPos::Center));
            chart.draw_series(std::iter::once(Text::new(
                tick_label(&v),
                (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                style,
            )))?;
        }
        Ok(())
    }

    fn draw_bar<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (lo, hi, log) = self.scale();
        if log {
            self.draw_bar_on(
                area,
                (lo..hi).log_scale().with_key_points(log_ticks(lo, hi)),
            )
        } else {
            self.draw_bar_on(area, lo..hi)
        }
    }

    /// The colour bar on a value axis `y_spec` (linear or logarithmic, as the scale).
    fn draw_bar_on<DB: DrawingBackend, Y>(
        &self,
        area: &DrawingArea<DB, Shift>,
        y_spec: Y,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let (lo, hi, log) = self.scale();
        let mut chart = ChartBuilder::on(area)
            .margin_top(40)
            .margin_bottom(60)
            .margin_left(6)
            .right_y_label_area_size(BAR_LABEL_AREA)
            .build_cartesian_2d(0.0..1.0, y_spec)?;
        // The tick labels drawn, to set the axis title just right of the widest.
        let drawn = std::cell::RefCell::new(Vec::new());
        let label = |v: &f64| {
            let text = tick_label(v);
            drawn.borrow_mut().push(text.clone());
            text
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .set_tick_mark_size(LabelAreaPosition::Right, BAR_TICK)
            .y_label_formatter(&label)
            .label_style((FONT, BAR_TICK_FONT))
            .draw()?;
        let widest = drawn
            .borrow()
            .iter()
            .map(|t| text_size(t, BAR_TICK_FONT as f64).0.ceil())
            .fold(0.0, f64::max);
        let scale = if log { ", log scale" } else { "" };
        let title = format!("{}{scale}", self.value_label);
        let (x, y) = bar_title_position(area, chart.plotting_area().get_pixel_range(), widest);
        // Turned a quarter clockwise, as plotters sets a right axis title: the
        // top of the letters faces right, so the anchor is the title's right edge.
        let style = TextStyle::from((FONT, BAR_TITLE_FONT).into_font())
            .transform(FontTransform::Rotate90)
            .pos(Pos::new(HPos::Center, VPos::Top));
        area.draw_text(&title, &style, (x, y))?;
        let steps = 100;
        let edge = |k: usize| {
            let t = k as f64 / steps as f64;
            if log {
                (lo.ln() + t * (hi.ln() - lo.ln())).exp()
            } else {
                lo + t * (hi - lo)
            }
        };
        chart.draw_series((0..steps).map(|k| {
            Rectangle::new(
                [(0.0, edge(k)), (1.0, edge(k + 1))],
                ViridisRGB.get_color(k as f32 / steps as f32).filled(),
            )
        }))?;
        Ok(())
    }
}
