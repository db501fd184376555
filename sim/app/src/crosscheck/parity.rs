//! The parity plot: every counter, analytic (x) against simulated (y), log-log.

use super::{Comparison, Quantity};
use plotters::prelude::*;

const LEVEL_COLORS: [(&str, RGBColor); 5] = [
    ("dram", RGBColor(0xd6, 0x27, 0x28)),
    ("glb", RGBColor(0xff, 0x7f, 0x0e)),
    ("noc", RGBColor(0x2c, 0xa0, 0x2c)),
    ("rf", RGBColor(0x1f, 0x77, 0xb4)),
    ("alu", RGBColor(0x94, 0x67, 0xbd)),
];

/// Renders the parity plot of the access and MAC counts in `rows` as SVG.
/// Zero-valued pairs cannot sit on log axes and are left out (the CSV has them).
pub fn parity_svg(title: &str, rows: &[Comparison]) -> String {
    let points: Vec<(&str, f64, f64)> = rows
        .iter()
        .filter(|r| {
            matches!(
                r.quantity,
                Quantity::Reads | Quantity::Writes | Quantity::Macs
            )
        })
        .filter(|r| r.analytic > 0.0 && r.simulated > 0.0)
        .map(|r| (r.level, r.analytic, r.simulated))
        .collect();
    let (lo, hi) = points.iter().fold((f64::MAX, 1.0f64), |(lo, hi), p| {
        (lo.min(p.1).min(p.2), hi.max(p.1).max(p.2))
    });
    let lo = if lo == f64::MAX { 1.0 } else { lo };
    let (lo, hi) = (
        10f64.powf(lo.log10().floor()),
        10f64.powf(hi.log10().ceil()),
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 640)).into_drawing_area();
        draw(&root, title, &points, lo, hi).expect("drawing into a string cannot fail");
        root.present().expect("drawing into a string cannot fail");
    }
    svg
}

fn draw(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    points: &[(&str, f64, f64)],
    lo: f64,
    hi: f64,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d((lo..hi).log_scale(), (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("analytic count (accesses or MACs)")
        .y_desc("simulated count (accesses or MACs)")
        .x_label_formatter(&|v| format!("{v:.0e}"))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()?;
    chart
        .draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.mix(0.5)))?
        .label("simulated = analytic")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK.mix(0.5)));
    for (name, color) in LEVEL_COLORS {
        let series = points.iter().filter(|p| p.0 == name);
        chart
            .draw_series(series.map(|p| Circle::new((p.1, p.2), 4, color.filled())))?
            .label(name)
            .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}
