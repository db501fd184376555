//! Plots of a sweep folder, drawn from `sweep_summary.csv` (and the axis
//! kinds recorded in `manifest.json`).
//!
//! With several varied parameters, the plot against one parameter is a
//! slice through the point of least energy-delay product: the others stay
//! at that point's values, which the subtitle states.

use super::chart::{
    fmt_tick, padded, save_svg, titled, Area, DrawResult, Scale, Ticks, LEVEL_COLORS, LEVEL_NAMES,
};
use super::table::Table;
use super::{legend, ReportError};
use crate::sweep::manifest::{Manifest, SUMMARY};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// One evaluated point of the summary.
#[derive(Debug, Clone)]
struct Row {
    params: Vec<f64>,
    shown: Vec<String>,
    energy: [f64; 5],
    total: f64,
    latency_ms: f64,
    processing_ms: f64,
    edp: f64,
}

/// The evaluated points of a sweep.
struct SweepData {
    keys: Vec<String>,
    geometric: Vec<bool>,
    unit: String,
    rows: Vec<Row>,
    /// What was swept (from the manifest), e.g. `alexnet on eyeriss-v1 (...)`.
    description: String,
}

/// Draws every sweep plot into `dir`; returns the files written.
pub fn plot_sweep(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let data = load(dir)?;
    let best = (0..data.rows.len())
        .min_by(|&a, &b| data.rows[a].edp.total_cmp(&data.rows[b].edp))
        .ok_or_else(|| {
            ReportError::NoData(format!("{}: no point evaluated (status ok)", dir.display()))
        })?;
    let mut out = Vec::new();
    for axis in 0..data.keys.len() {
        let slice = slice(&data, axis, best);
        if slice.len() < 2 {
            continue;
        }
        let stem = data.keys[axis].replace('.', "_");
        let sub = subtitle(&data, axis, best);
        let p = dir.join(format!("energy_vs_{stem}.svg"));
        save_svg(&p, (1000, 600), |root| {
            energy_plot(root, &data, axis, &slice, sub.as_deref())
        })?;
        out.push(p);
        let p = dir.join(format!("latency_vs_{stem}.svg"));
        save_svg(&p, (1000, 600), |root| {
            latency_plot(root, &data, axis, &slice, sub.as_deref())
        })?;
        out.push(p);
    }
    let p = dir.join("pareto.svg");
    save_svg(&p, (1200, 650), |root| pareto_plot(root, &data))?;
    out.push(p);
    Ok(out)
}

fn load(dir: &Path) -> Result<SweepData, ReportError> {
    let t = Table::read(&dir.join(SUMMARY))?;
    let status = t.col("status")?;
    let keys: Vec<String> = t.header()[..status].to_vec();
    let cols = |names: &[&str]| -> Result<Vec<usize>, ReportError> {
        names.iter().map(|n| t.col(n)).collect()
    };
    let level_cols = cols(&[
        "energy_dram",
        "energy_glb",
        "energy_noc",
        "energy_rf",
        "energy_alu",
    ])?;
    let [energy, cycles, processing, latency, edp] =
        cols(&["energy", "cycles", "processing_cycles", "latency_ms", "edp"])?[..]
    else {
        unreachable!()
    };
    let mut rows = Vec::new();
    for i in (0..t.len()).filter(|&i| t.str(i, status) == "ok") {
        let mut e = [0.0; 5];
        for (slot, &c) in e.iter_mut().zip(&level_cols) {
            *slot = t.num(i, c)?;
        }
        let (lat, cyc) = (t.num(i, latency)?, t.num(i, cycles)?);
        rows.push(Row {
            params: (0..status).map(|c| t.num(i, c)).collect::<Result<_, _>>()?,
            shown: (0..status).map(|c| t.str(i, c).to_string()).collect(),
            energy: e,
            total: t.num(i, energy)?,
            latency_ms: lat,
            processing_ms: if cyc > 0.0 {
                lat * t.num(i, processing)? / cyc
            } else {
                0.0
            },
            edp: t.num(i, edp)?,
        });
    }
    let recorded = Manifest::read(dir).ok();
    let geometric = keys
        .iter()
        .enumerate()
        .map(|(k, key)| {
            match recorded
                .as_ref()
                .and_then(|m| m.axes.iter().find(|a| &a.key == key))
            {
                Some(a) => a.geometric,
                None => looks_geometric(rows.iter().map(|r| r.params[k])),
            }
        })
        .collect();
    Ok(SweepData {
        keys,
        geometric,
        unit: t.unique("energy_unit")?,
        rows,
        description: recorded.map(|m| m.description).unwrap_or_default(),
    })
}

/// Without a manifest: positive values spanning 8× or more with roughly
/// constant ratios are taken as geometric.
fn looks_geometric(values: impl Iterator<Item = f64>) -> bool {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    if v.len() < 3 || v[0] <= 0.0 || v[v.len() - 1] / v[0] < 8.0 {
        return false;
    }
    let ratios: Vec<f64> = v.windows(2).map(|w| w[1] / w[0]).collect();
    let (lo, hi) = ratios
        .iter()
        .fold((f64::MAX, 0.0f64), |(a, b), &r| (a.min(r), b.max(r)));
    hi / lo < 1.5
}

/// Rows equal to `best` in every parameter but `axis`, sorted along `axis`.
fn slice(data: &SweepData, axis: usize, best: usize) -> Vec<Row> {
    let b = &data.rows[best];
    let mut s: Vec<Row> = data
        .rows
        .iter()
        .filter(|r| (0..r.params.len()).all(|k| k == axis || r.params[k] == b.params[k]))
        .cloned()
        .collect();
    s.sort_by(|x, y| x.params[axis].total_cmp(&y.params[axis]));
    s
}

fn subtitle(data: &SweepData, axis: usize, best: usize) -> Option<String> {
    let others: Vec<String> = (0..data.keys.len())
        .filter(|&k| k != axis)
        .map(|k| format!("{}={}", data.keys[k], data.rows[best].shown[k]))
        .collect();
    (!others.is_empty()).then(|| {
        format!(
            "other parameters at the min-EDP point: {}",
            others.join(", ")
        )
    })
}

/// Maps parameter values to plot x (log10 for geometric axes) and back.
struct XAxis {
    log: bool,
}

impl XAxis {
    fn to_plot(&self, v: f64) -> f64 {
        if self.log {
            v.log10()
        } else {
            v
        }
    }
    fn label(&self, x: f64) -> String {
        fmt_tick(if self.log { 10f64.powf(x) } else { x })
    }
}

/// What a chart against one swept parameter shows.
struct ParamChart<'a> {
    title: String,
    sub: Option<&'a str>,
    y_desc: String,
    scale: Scale,
    /// (name, colour, one y per slice row).
    series: Vec<(String, RGBColor, Vec<f64>)>,
}

/// Draws lines with markers of `c.series` against parameter `axis`.
fn param_chart(
    root: &Area,
    data: &SweepData,
    axis: usize,
    slice: &[Row],
    c: &ParamChart,
) -> DrawResult {
    let (title, sub, y_desc, scale, series) = (&c.title, c.sub, &c.y_desc, c.scale, &c.series);
    let area = titled(root, title, sub)?;
    let (plot, side) = area.split_horizontally(area.dim_in_pixel().0 - 230);
    let xa = XAxis {
        log: data.geometric[axis] && slice[0].params[axis] > 0.0,
    };
    let xs: Vec<f64> = slice.iter().map(|r| xa.to_plot(r.params[axis])).collect();
    let (x0, x1) = padded(xs[0], xs[xs.len() - 1]);
    let step = xs.len().div_ceil(12);
    let keys: Vec<f64> = xs.iter().copied().step_by(step).collect();
    let ymax = series
        .iter()
        .flat_map(|s| s.2.iter())
        .fold(0.0f64, |m, &v| m.max(scale.apply(v)));
    let mut chart = ChartBuilder::on(&plot)
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(75)
        .build_cartesian_2d(Ticks::new(x0, x1, keys), 0.0..(ymax * 1.08).max(1e-12))?;
    let key_label = if xa.log {
        format!("{} (log scale)", data.keys[axis])
    } else {
        data.keys[axis].clone()
    };
    chart
        .configure_mesh()
        .x_desc(key_label)
        .y_desc(y_desc.as_str())
        .x_label_formatter(&|x| xa.label(*x))
        .y_label_formatter(&|y| fmt_tick(*y))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(RGBColor(246, 246, 246))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()?;
    for (_, color, ys) in series {
        let pts: Vec<(f64, f64)> = xs
            .iter()
            .zip(ys)
            .map(|(&x, &y)| (x, scale.apply(y)))
            .collect();
        chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?;
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    let entries: Vec<(String, RGBColor)> = series.iter().map(|s| (s.0.clone(), s.1)).collect();
    legend(&side, &entries, 40)
}

fn energy_plot(
    root: &Area,
    data: &SweepData,
    axis: usize,
    slice: &[Row],
    sub: Option<&str>,
) -> DrawResult {
    let ymax = slice.iter().fold(0.0f64, |m, r| m.max(r.total));
    let scale = Scale::for_max(ymax);
    let mut series = vec![(
        "Total".to_string(),
        BLACK,
        slice.iter().map(|r| r.total).collect(),
    )];
    for (l, name) in LEVEL_NAMES.iter().enumerate() {
        series.push((
            name.to_string(),
            LEVEL_COLORS[l],
            slice.iter().map(|r| r.energy[l]).collect(),
        ));
    }
    let chart = ParamChart {
        title: format!("Energy per level vs {}", data.keys[axis]),
        sub,
        y_desc: format!("Energy{}", scale.label(&data.unit)),
        scale,
        series,
    };
    param_chart(root, data, axis, slice, &chart)
}

fn latency_plot(
    root: &Area,
    data: &SweepData,
    axis: usize,
    slice: &[Row],
    sub: Option<&str>,
) -> DrawResult {
    let series = vec![
        (
            "total (DRAM serialized)".to_string(),
            RGBColor(31, 119, 180),
            slice.iter().map(|r| r.latency_ms).collect(),
        ),
        (
            "processing (DRAM hidden)".to_string(),
            RGBColor(255, 127, 14),
            slice.iter().map(|r| r.processing_ms).collect(),
        ),
    ];
    let chart = ParamChart {
        title: format!("Latency vs {}", data.keys[axis]),
        sub,
        y_desc: "Latency (ms)".into(),
        scale: Scale { exp: 0 },
        series,
    };
    param_chart(root, data, axis, slice, &chart)
}

/// Indices of the energy/latency Pareto front, by increasing latency.
fn pareto_front(rows: &[Row]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| {
        rows[a]
            .latency_ms
            .total_cmp(&rows[b].latency_ms)
            .then(rows[a].total.total_cmp(&rows[b].total))
    });
    let mut front = Vec::new();
    let mut best = f64::INFINITY;
    for i in order {
        if rows[i].total < best {
            best = rows[i].total;
            front.push(i);
        }
    }
    front
}

/// Most Pareto points labelled; the rest are drawn but not numbered.
const MAX_LABELS: usize = 20;

fn pareto_plot(root: &Area, data: &SweepData) -> DrawResult {
    let front = pareto_front(&data.rows);
    let area = titled(
        root,
        &if data.description.is_empty() {
            "Energy vs latency of every point".to_string()
        } else {
            format!("Energy vs latency — {}", data.description)
        },
        Some(&match front.len() {
            1 => format!(
                "{} points; the Pareto-optimal point is numbered",
                data.rows.len()
            ),
            n => format!(
                "{} points; the {n} Pareto-optimal points are numbered",
                data.rows.len()
            ),
        }),
    )?;
    let (plot, side) = area.split_horizontally(area.dim_in_pixel().0 - 380);
    let emax = data.rows.iter().fold(0.0f64, |m, r| m.max(r.total));
    let scale = Scale::for_max(emax);
    let lats: Vec<f64> = data.rows.iter().map(|r| r.latency_ms).collect();
    let ens: Vec<f64> = data.rows.iter().map(|r| scale.apply(r.total)).collect();
    let (x0, x1) = padded(
        lats.iter().copied().fold(f64::MAX, f64::min),
        lats.iter().copied().fold(0.0, f64::max),
    );
    let (y0, y1) = padded(
        ens.iter().copied().fold(f64::MAX, f64::min),
        ens.iter().copied().fold(0.0, f64::max),
    );
    let mut chart = ChartBuilder::on(&plot)
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(75)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc("Latency (ms)")
        .y_desc(format!("Energy{}", scale.label(&data.unit)))
        .x_label_formatter(&|x| fmt_tick(*x))
        .y_label_formatter(&|y| fmt_tick(*y))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(RGBColor(246, 246, 246))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()?;
    let grey = RGBColor(150, 150, 150);
    chart.draw_series(
        lats.iter()
            .zip(&ens)
            .map(|(&x, &y)| Circle::new((x, y), 3, grey.filled())),
    )?;
    let red = RGBColor(214, 39, 40);
    let fp: Vec<(f64, f64)> = front.iter().map(|&i| (lats[i], ens[i])).collect();
    let mut stairs = Vec::new();
    for (k, &p) in fp.iter().enumerate() {
        if k > 0 {
            stairs.push((p.0, fp[k - 1].1));
        }
        stairs.push(p);
    }
    chart.draw_series(LineSeries::new(stairs, red.stroke_width(2)))?;
    chart.draw_series(fp.iter().map(|&p| Circle::new(p, 5, red.filled())))?;
    let labelled = labelled_subset(front.len());
    chart.draw_series(labelled.iter().map(|&k| {
        let label = format!("P{}", k + 1);
        let width = 9 * label.len() as i32 + 4;
        EmptyElement::at(fp[k])
            + Rectangle::new([(6, -20), (6 + width, -4)], WHITE.mix(0.85).filled())
            + Text::new(label, (8, -19), ("sans-serif", 14).into_font().color(&red))
    }))?;
    let mut lines = vec![
        "Pareto points (lowest latency first):".to_string(),
        format!("  {}", data.keys.join(" / ")),
    ];
    for &k in &labelled {
        let r = &data.rows[front[k]];
        lines.push(format!("P{}: {}", k + 1, r.shown.join(" / ")));
    }
    if labelled.len() < front.len() {
        lines.push(format!(
            "({} more unlabelled)",
            front.len() - labelled.len()
        ));
    }
    let style = ("sans-serif", 13).into_font();
    for (i, l) in lines.iter().enumerate() {
        side.draw_text(
            l,
            &style.clone().into_text_style(&side),
            (10, 30 + 19 * i as i32),
        )?;
    }
    Ok(())
}

/// Which of `n` front points get a label: all, or `MAX_LABELS` spread evenly.
fn labelled_subset(n: usize) -> Vec<usize> {
    if n <= MAX_LABELS {
        return (0..n).collect();
    }
    let mut v: Vec<usize> = (0..MAX_LABELS)
        .map(|k| k * (n - 1) / (MAX_LABELS - 1))
        .collect();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(lat: f64, e: f64) -> Row {
        Row {
            params: vec![],
            shown: vec![],
            energy: [0.0; 5],
            total: e,
            latency_ms: lat,
            processing_ms: 0.0,
            edp: e * lat,
        }
    }

    #[test]
    fn pareto_front_keeps_undominated_points() {
        let rows = vec![
            row(1.0, 10.0),
            row(2.0, 5.0),
            row(2.0, 6.0),
            row(3.0, 7.0),
            row(4.0, 1.0),
        ];
        assert_eq!(pareto_front(&rows), vec![0, 1, 4]);
    }

    #[test]
    fn geometric_detection() {
        assert!(looks_geometric([16.0, 32.0, 64.0, 128.0].into_iter()));
        assert!(!looks_geometric(
            [16.0, 32.0, 48.0, 64.0, 128.0].into_iter()
        ));
        assert!(!looks_geometric([1.0, 2.0, 4.0].into_iter()));
    }

    #[test]
    fn label_subset_spreads_evenly() {
        let v = labelled_subset(100);
        assert_eq!(v.len(), MAX_LABELS);
        assert_eq!((v[0], v[MAX_LABELS - 1]), (0, 99));
    }
}
