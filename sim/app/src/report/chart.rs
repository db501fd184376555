//! Shared chart pieces: SVG output, titles, colours and number formatting.

use super::ReportError;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The drawing area every plot draws on.
pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Result of drawing code (plotters errors are boxed, then reported by file).
pub type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Draws a `w`×`h` SVG with `draw` and writes it atomically to `path`.
pub fn save_svg(
    path: &Path,
    (w, h): (u32, u32),
    draw: impl FnOnce(&Area) -> DrawResult,
) -> Result<(), ReportError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(|e| e.into())
            .and_then(|_| draw(&root))
            .and_then(|_| root.present().map_err(|e| e.into()));
        drawn.map_err(|e| ReportError::Plot {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    }
    crate::stats::write_atomic(path, svg.as_bytes()).map_err(|e| ReportError::Io {
        path: path.display().to_string(),
        source: e,
    })
}

/// Draws a title (and an optional smaller subtitle) on top of `root` and
/// returns the area below it.
pub fn titled<'a>(
    root: &Area<'a>,
    title: &str,
    subtitle: Option<&str>,
) -> Result<Area<'a>, Box<dyn std::error::Error>> {
    let height = if subtitle.is_some() { 62 } else { 40 };
    let (top, rest) = root.split_vertically(height);
    let (w, _) = top.dim_in_pixel();
    let center = |size: u32| {
        ("sans-serif", size).into_font().into_text_style(&top).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Top,
            ),
        )
    };
    top.draw_text(title, &center(22), (w as i32 / 2, 10))?;
    if let Some(s) = subtitle {
        top.draw_text(
            s,
            &center(14).color(&RGBColor(80, 80, 80)),
            (w as i32 / 2, 38),
        )?;
    }
    Ok(rest)
}

/// Colour of each storage level and the MAC, in `dram glb noc rf alu` order.
pub const LEVEL_COLORS: [RGBColor; 5] = [
    RGBColor(214, 39, 40),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(31, 119, 180),
    RGBColor(148, 103, 189),
];

/// Colour of each data type, in `ifmap filter psum` order.
pub const TENSOR_COLORS: [RGBColor; 3] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
];

/// Display names of the levels, in `dram glb noc rf alu` order.
pub const LEVEL_NAMES: [&str; 5] = ["DRAM", "GLB", "NoC (array)", "RF (spads)", "ALU (MACs)"];

/// A power-of-1000 scale for an axis whose values reach `max`, so ticks
/// read `2.5` with the axis saying `×10⁹` rather than `2500000000`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// Power of ten divided out (a multiple of 3, or 0).
    pub exp: i32,
}

impl Scale {
    /// The scale for values up to `max`.
    pub fn for_max(max: f64) -> Scale {
        if !max.is_finite() || max.abs() < 1e4 {
            return Scale { exp: 0 };
        }
        Scale {
            exp: (max.abs().log10().floor() as i32).div_euclid(3) * 3,
        }
    }
    /// `v` in scaled units.
    pub fn apply(&self, v: f64) -> f64 {
        v / 10f64.powi(self.exp)
    }
    /// `" (×10⁹ unit)"`-style axis suffix.
    pub fn label(&self, unit: &str) -> String {
        if self.exp == 0 {
            format!(" ({unit})")
        } else {
            format!(" (×10{} {unit})", superscript(self.exp))
        }
    }
}

fn superscript(n: i32) -> String {
    n.to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            d => ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'][d as usize - '0' as usize],
        })
        .collect()
}

/// A tick label: at most 3 decimals, trailing zeros dropped.
pub fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if v.abs() >= 1e6 || v.abs() < 1e-3 {
        return format!("{v:.2e}");
    }
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// A linear f64 axis whose ticks sit exactly at given values (e.g. the
/// swept values, or one per bar).
pub struct Ticks {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ticks {
    /// Axis over `lo..hi` with ticks at `ticks`.
    pub fn new(lo: f64, hi: f64, ticks: Vec<f64>) -> Ticks {
        Ticks {
            inner: (lo..hi).into(),
            ticks,
        }
    }
}

impl Ranged for Ticks {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;
    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }
    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }
}

/// `[lo, hi]` padded by 5% on both sides (and never empty).
pub fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
    (lo - 0.05 * span, hi + 0.05 * span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_and_ticks() {
        let s = Scale::for_max(2.5e9);
        assert_eq!(s.exp, 9);
        assert_eq!(s.apply(2.5e9), 2.5);
        assert_eq!(s.label("pJ"), " (×10⁹ pJ)");
        assert_eq!(Scale::for_max(999.0).exp, 0);
        assert_eq!(fmt_tick(2.50), "2.5");
        assert_eq!(fmt_tick(128.0), "128");
        assert_eq!(fmt_tick(-0.0001), "-1.00e-4");
    }
}
