//! Plots of a `prune --net model.onnx` folder: validation accuracy against
//! network energy after each layer's turn, one curve per criterion (from
//! `steps.csv`), and the final density of every layer per criterion (from
//! `plan.csv`).

use super::chart::{padded, save_svg, titled, Area, DrawResult, TENSOR_COLORS};
use super::table::Table;
use super::ReportError;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Draws both plots into `dir`; returns the files written.
pub fn plot_prune(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let curves = load_curves(dir)?;
    let p = dir.join("accuracy_vs_energy.svg");
    save_svg(&p, (1000, 620), |root| accuracy_plot(root, &curves))?;
    let plan = Table::read(&dir.join("plan.csv"))?;
    let q = dir.join("densities.svg");
    save_svg(&q, (1000, 620), |root| density_plot(root, &plan))?;
    Ok(vec![p, q])
}

/// Per criterion: (energy, val top-1) after step 0, 1, ...
struct Curves {
    unit: String,
    lines: Vec<(String, Vec<(f64, f64)>)>,
}

fn load_curves(dir: &Path) -> Result<Curves, ReportError> {
    let t = Table::read(&dir.join("steps.csv"))?;
    let crit = t.col("criterion")?;
    let acc = t.col("val_top1_percent")?;
    let (energy, unit) = t
        .header()
        .iter()
        .enumerate()
        .find_map(|(i, h)| {
            h.strip_prefix("network_energy_per_image_")
                .map(|u| (i, u.to_string()))
        })
        .ok_or_else(|| {
            ReportError::NoData(format!("{}: steps.csv has no energy column", dir.display()))
        })?;
    let mut lines: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for i in 0..t.len() {
        let name = t.str(i, crit).to_string();
        let point = (t.num(i, energy)?, t.num(i, acc)?);
        match lines.iter_mut().find(|(n, _)| *n == name) {
            Some((_, pts)) => pts.push(point),
            None => lines.push((name, vec![point])),
        }
    }
    if lines.is_empty() {
        return Err(ReportError::NoData(format!(
            "{}: steps.csv has no rows",
            dir.display()
        )));
    }
    Ok(Curves { unit, lines })
}

const COLORS: [RGBColor; 3] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(127, 127, 127),
];

fn accuracy_plot(root: &Area, c: &Curves) -> DrawResult {
    let area = titled(root, "Validation top-1 vs network energy, per pruning step", Some("each point: after one more layer's turn; chip's 16-bit arithmetic; energy analytic at measured sparsity"))?;
    let pts = c.lines.iter().flat_map(|(_, p)| p.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    let (x0, x1) = padded(0.0_f64.min(x0), x1);
    let (y0, y1) = padded(y0, y1);
    let mut chart = ChartBuilder::on(&area)
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc(format!("network energy per image ({})", c.unit))
        .y_desc("validation top-1 (%)")
        .x_label_formatter(&|v| format!("{v:.2e}"))
        .draw()?;
    for (k, (name, p)) in c.lines.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        chart
            .draw_series(LineSeries::new(p.iter().copied(), color.stroke_width(2)))?
            .label(name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart.draw_series(
            p.iter()
                .map(|&(x, y)| Circle::new((x, y), 4, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()?;
    Ok(())
}

fn density_plot(root: &Area, t: &Table) -> DrawResult {
    let area = titled(root, "Final weight density per layer and criterion", None)?;
    let layer = t.col("layer")?;
    let cols: Vec<(usize, String)> = t
        .header()
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.strip_prefix("density_").map(|n| (i, n.to_string())))
        .collect();
    let n = t.len();
    let groups = cols.len().max(1) as f64;
    let mut chart = ChartBuilder::on(&area)
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..n as f64, 0.0..1.3)?;
    let labels: Vec<String> = (0..n).map(|i| t.str(i, layer).to_string()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        // Half-unit ticks put one at each group's centre (i + 0.5), where
        // the layer's name goes; plotters thins coarser requests.
        .x_labels(2 * n + 1)
        .x_label_formatter(&|v| {
            let i = v.floor() as usize;
            if (v - v.floor() - 0.5).abs() < 1e-6 {
                labels.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        // Headroom above 1.0 holds the legend; densities stop at 1.
        .y_label_formatter(&|v| {
            if *v <= 1.0 + 1e-9 {
                format!("{v:.1}")
            } else {
                String::new()
            }
        })
        .y_desc("non-zero weights / weights")
        .draw()?;
    for (k, (c, name)) in cols.iter().enumerate() {
        let color = COLORS.get(k).copied().unwrap_or(TENSOR_COLORS[k % 3]);
        let w = 0.8 / groups;
        let mut bars = Vec::new();
        for i in 0..n {
            let v = t.num(i, *c).map_err(|e| e.to_string())?;
            let x = i as f64 + 0.1 + w * k as f64;
            bars.push(Rectangle::new(
                [(x, 0.0), (x + w * 0.95, v)],
                color.filled(),
            ));
        }
        chart
            .draw_series(bars)?
            .label(name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    Ok(())
}
