//! Plots of an estimate/run folder: energy per layer stacked by level (from
//! `layers.csv`) and the energy share of each data type (from
//! `accesses.csv`). Layers are horizontal bars, first layer on top, so long
//! networks stay legible.

use super::chart::{
    fmt_tick, save_svg, titled, Area, DrawResult, Scale, Ticks, LEVEL_COLORS, LEVEL_NAMES,
    TENSOR_COLORS,
};
use super::table::Table;
use super::{legend, ReportError};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Titles, legend and x axis of a bar chart.
struct BarSpec<'a> {
    title: String,
    sub: Option<&'a str>,
    keys: &'a [(String, RGBColor)],
    x_desc: String,
    /// Fixed end of the x axis (100 for shares); else the longest bar + 5%.
    x_limit: Option<f64>,
}

/// One horizontal bar: a label and stacked segment values.
struct Bar {
    label: String,
    parts: Vec<f64>,
}

/// Draws the energy-per-layer plot; returns the file written.
pub fn plot_layer_energy(dir: &Path) -> Result<PathBuf, ReportError> {
    let t = Table::read(&dir.join("layers.csv"))?;
    let layer = t.col("layer")?;
    let cols: Vec<usize> = [
        "energy_dram",
        "energy_glb",
        "energy_noc",
        "energy_rf",
        "energy_alu",
    ]
    .iter()
    .map(|c| t.col(c))
    .collect::<Result<_, _>>()?;
    let mut bars = Vec::new();
    for i in 0..t.len() {
        let parts = cols
            .iter()
            .map(|&c| t.num(i, c))
            .collect::<Result<_, _>>()?;
        bars.push(Bar {
            label: t.str(i, layer).to_string(),
            parts,
        });
    }
    if bars.is_empty() {
        return Err(ReportError::NoData(format!("{}: no layers", dir.display())));
    }
    let unit = t.unique("energy_unit")?;
    let net = t.unique("network").unwrap_or_default();
    let max = bars
        .iter()
        .map(|b| b.parts.iter().sum::<f64>())
        .fold(0.0, f64::max);
    let scale = Scale::for_max(max);
    let keys: Vec<(String, RGBColor)> = LEVEL_NAMES
        .iter()
        .zip(LEVEL_COLORS)
        .map(|(n, c)| (n.to_string(), c))
        .collect();
    let p = dir.join("energy_by_layer.svg");
    let title = format!("Energy per layer by level — {net}");
    let spec = BarSpec {
        title,
        sub: None,
        keys: &keys,
        x_desc: format!("Energy{}", scale.label(&unit)),
        x_limit: None,
    };
    save_svg(&p, bar_size(&bars), |root| {
        bar_chart(root, &spec, &bars, |v| scale.apply(v))
    })?;
    Ok(p)
}

/// Draws the energy-share-by-data-type plot; returns the file written.
pub fn plot_tensor_share(dir: &Path) -> Result<PathBuf, ReportError> {
    const TENSORS: [&str; 3] = ["ifmap", "filter", "psum"];
    let t = Table::read(&dir.join("accesses.csv"))?;
    let (layer, tensor, energy) = (t.col("layer")?, t.col("tensor")?, t.col("energy")?);
    let mut bars: Vec<Bar> = Vec::new();
    for i in 0..t.len() {
        let Some(k) = TENSORS.iter().position(|&x| x == t.str(i, tensor)) else {
            continue;
        };
        let name = t.str(i, layer);
        if bars.last().is_none_or(|b| b.label != name) {
            bars.push(Bar {
                label: name.to_string(),
                parts: vec![0.0; 3],
            });
        }
        let last = bars.len() - 1;
        bars[last].parts[k] += t.num(i, energy)?;
    }
    if bars.is_empty() {
        return Err(ReportError::NoData(format!(
            "{}: no accesses",
            dir.display()
        )));
    }
    let mut total = vec![0.0; 3];
    for b in &bars {
        for (s, v) in total.iter_mut().zip(&b.parts) {
            *s += v;
        }
    }
    bars.insert(
        0,
        Bar {
            label: "whole network".into(),
            parts: total,
        },
    );
    for b in &mut bars {
        let sum: f64 = b.parts.iter().sum();
        for v in &mut b.parts {
            *v = if sum > 0.0 { 100.0 * *v / sum } else { 0.0 };
        }
    }
    let keys: Vec<(String, RGBColor)> = TENSORS
        .iter()
        .zip(TENSOR_COLORS)
        .map(|(n, c)| (n.to_string(), c))
        .collect();
    let p = dir.join("energy_by_data_type.svg");
    let net = t.unique("network").unwrap_or_default();
    let spec = BarSpec {
        title: format!("Energy share by data type — {net}"),
        sub: Some("data movement at all levels (DRAM, GLB, NoC, RF); MAC energy excluded"),
        keys: &keys,
        x_desc: "Share of data-movement energy (%)".into(),
        x_limit: Some(100.0),
    };
    save_svg(&p, bar_size(&bars), |root| {
        bar_chart(root, &spec, &bars, |v| v)
    })?;
    Ok(p)
}

fn bar_size(bars: &[Bar]) -> (u32, u32) {
    (1000, (140 + 28 * bars.len() as u32).max(420))
}

/// Horizontal stacked bars, first bar on top, legend on the right.
fn bar_chart(root: &Area, spec: &BarSpec, bars: &[Bar], scale: impl Fn(f64) -> f64) -> DrawResult {
    let (keys, x_desc, x_limit) = (spec.keys, spec.x_desc.as_str(), spec.x_limit);
    let area = titled(root, &spec.title, spec.sub)?;
    let (plot, side) = area.split_horizontally(area.dim_in_pixel().0 - 170);
    let n = bars.len();
    let xmax = bars
        .iter()
        .map(|b| scale(b.parts.iter().sum::<f64>()))
        .fold(0.0, f64::max)
        .max(1e-12);
    let longest = bars
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(4) as u32;
    let ys: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let mut chart = ChartBuilder::on(&plot)
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(20 + 8 * longest)
        .build_cartesian_2d(
            0.0..x_limit.unwrap_or(xmax * 1.05),
            Ticks::new(-0.6, n as f64 - 0.4, ys),
        )?;
    let label_of = |y: f64| {
        let i = y.round();
        if (y - i).abs() > 1e-6 || i < 0.0 || i as usize >= n {
            return String::new();
        }
        bars[n - 1 - i as usize].label.clone()
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(x_desc)
        .x_label_formatter(&|x| fmt_tick(*x))
        .y_label_formatter(&|y| label_of(*y))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()?;
    for (i, b) in bars.iter().enumerate() {
        let y = (n - 1 - i) as f64;
        let mut x = 0.0;
        for (k, &v) in b.parts.iter().enumerate() {
            let w = scale(v);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x, y - 0.35), (x + w, y + 0.35)],
                keys[k].1.filled(),
            )))?;
            x += w;
        }
    }
    legend(&side, keys, 40)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYERS: &str = "network,layer,kind,energy,energy_unit,energy_dram,energy_glb,energy_noc,energy_rf,energy_alu\n\
        toy,conv1,conv,3000000,pJ,1000000,500000,500000,500000,500000\n\
        toy,pool1,maxpool,10,pJ,2,2,2,2,2\n";
    const ACCESSES: &str = "network,layer,level,tensor,reads,writes,energy,energy_unit\n\
        toy,conv1,dram,ifmap,1,0,30,pJ\ntoy,conv1,dram,filter,1,0,10,pJ\ntoy,conv1,rf,psum,1,1,60,pJ\n\
        toy,conv1,alu,-,5,0,999,pJ\ntoy,pool1,glb,ifmap,1,0,5,pJ\n";

    #[test]
    fn layer_plots_read_units_and_names_from_the_csvs() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("layers.csv"), LAYERS).unwrap();
        std::fs::write(t.path().join("accesses.csv"), ACCESSES).unwrap();
        assert_eq!(
            super::super::detect(t.path()),
            Some(super::super::FolderKind::Layers)
        );
        let files = super::super::plot_dir(t.path()).unwrap();
        assert_eq!(files.len(), 2);
        let by_layer = std::fs::read_to_string(&files[0]).unwrap();
        assert!(by_layer.contains("Energy (×10⁶ pJ)"), "{by_layer}");
        assert!(by_layer.contains("\nconv1\n") && by_layer.contains("\npool1\n"));
        let share = std::fs::read_to_string(&files[1]).unwrap();
        assert!(share.contains("whole network") && share.contains("(%)"));
    }

    #[test]
    fn mixed_units_are_an_error() {
        let t = tempfile::tempdir().unwrap();
        let mixed = LAYERS.replacen(",pJ,2", ",MAC-normalized,2", 1);
        std::fs::write(t.path().join("layers.csv"), mixed).unwrap();
        let e = plot_layer_energy(t.path()).unwrap_err().to_string();
        assert!(e.contains("mixes"), "{e}");
    }
}
