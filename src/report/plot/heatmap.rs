//! Heatmaps: a metric over two swept parameters, one panel per value of the
//! others, on one shared colour scale with the value written in every cell.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use plotters::style::text_anchor::{HPos, Pos, VPos};

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
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.caption, (FONT, 18))
            .margin(10)
            .margin_top(14)
            .x_label_area_size(50)
            .y_label_area_size(80)
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
            .right_y_label_area_size(92)
            .build_cartesian_2d(0.0..1.0, y_spec)?;
        let scale = if log { ", log scale" } else { "" };
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc(format!("{}{scale}", self.value_label))
            .y_label_formatter(&tick_label)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()?;
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
