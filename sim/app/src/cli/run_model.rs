//! `eyesim run --net model.onnx`: a trained network on the chip. Chooses
//! fixed-point formats from the weights and calibration images, measures
//! accuracy in float and in the chip's arithmetic over the image set (the
//! fast functional path), runs a sample through the cycle-level simulator
//! layer after layer (checked bit for bit, and against the functional path),
//! and reports measured sparsity, energy and latency beside what the
//! analytic model predicts from the measured and the assumed densities.

use super::common::{write_files, write_result_csvs};
use super::model_data::{load_images, Images};
use crate::analytic::{estimate_network, EstimateOptions};
use crate::hw::HwConfig;
use crate::infer::{self, quant, Formats, QuantModel};
use crate::mapping::{self, MappingSet, Objective, RowStationaryMapping};
use crate::onnx::Model;
use crate::stats::{LayerResult, Level};
use crate::workload::{LayerWork, Network};
use anyhow::{ensure, Context};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Options of a model run (from `eyesim run`'s flags).
pub struct ModelRun<'a> {
    pub model_path: &'a Path,
    pub hw: HwConfig,
    pub objective: Objective,
    pub images: Option<PathBuf>,
    pub labels: Option<PathBuf>,
    pub formats: Option<PathBuf>,
    pub sample: u32,
    pub batch: u32,
    pub threads: usize,
    pub max_memory: Option<u64>,
    pub out: PathBuf,
    pub write_trace: Option<PathBuf>,
    pub plots: bool,
}

/// Images used for calibration when no formats file is pinned.
const CALIBRATION_IMAGES: u32 = 256;

/// Runs the model: accuracy, measured sparsity, energy, latency.
pub fn run(opts: ModelRun) -> anyhow::Result<()> {
    let model = crate::onnx::import_model(opts.model_path)
        .with_context(|| format!("importing {}", opts.model_path.display()))?;
    let images = load_images(
        opts.model_path,
        opts.images.as_deref(),
        opts.labels.as_deref(),
        &model.network,
    )?;
    let formats = match &opts.formats {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Formats::from_toml(&text, &p.display().to_string(), &model.network)?
        }
        None => {
            let n = images.count.min(CALIBRATION_IMAGES);
            infer::calibrate(&model, &images.values[..images.per_image * n as usize], n)
        }
    };
    let q = QuantModel::new(&model, formats);
    let (xq, input_saturated) = quantize_images(&images, q.formats.input_frac);
    let acc = accuracy(&model, &q, &images, &xq, opts.threads);
    let sim = simulate_sample(&q, &opts, &xq, images.per_image)?;
    ensure!(
        sim.outputs == acc.fixed_outputs[..sim.outputs.len()],
        "the cycle-level outputs of the sample differ from the functional path's"
    );
    let measured = measured_network(&q, &acc.measures, opts.batch);
    let mut ms = MappingSet::new();
    for (l, m) in q.net.layers.iter().zip(&sim.mappings) {
        if let Some(m) = m {
            ms.insert(&l.name, *m);
        }
    }
    let est = |net: &Network| -> anyhow::Result<Vec<LayerResult>> {
        let o = EstimateOptions {
            objective: opts.objective,
            pinned: ms.clone(),
            batch: Some(opts.batch),
            threads: opts.threads,
        };
        Ok(scale(estimate_network(net, &opts.hw, &o)?, sim.batches))
    };
    let predicted_measured = est(&measured)?;
    let mut assumed = q.net.clone();
    assumed.batch = opts.batch;
    let predicted_assumed = est(&assumed)?;
    let table = layer_table(
        &q,
        &acc,
        &sim,
        &predicted_measured,
        &predicted_assumed,
        &opts.hw,
    );
    write_outputs(
        &opts,
        &q,
        &sim,
        &measured,
        &predicted_measured,
        &predicted_assumed,
        &table,
    )?;
    let text = summary(&opts, &q, &acc, &sim, input_saturated, &table);
    write_files(&opts.out, vec![("summary.txt", text.clone().into_bytes())])?;
    say!("{text}");
    sayln!("wrote {}/", opts.out.display());
    Ok(())
}

/// The images in the input format, and how many pixels saturated.
fn quantize_images(images: &Images, frac: i32) -> (Vec<i16>, u64) {
    let mut sat = 0;
    let v = images
        .values
        .iter()
        .map(|&x| {
            let (q, s) = quant::quantize(x, frac);
            sat += u64::from(s);
            q
        })
        .collect();
    (v, sat)
}

/// Accuracy in float and on the chip over every image.
struct Accuracy {
    classes: usize,
    images: usize,
    float_top1: usize,
    fixed_top1: usize,
    float_top5: Option<usize>,
    fixed_top5: Option<usize>,
    agree: usize,
    fixed_outputs: Vec<i16>,
    measures: Vec<infer::LayerMeasure>,
}

fn accuracy(
    model: &Model,
    q: &QuantModel,
    images: &Images,
    xq: &[i16],
    threads: usize,
) -> Accuracy {
    const CHUNK: u32 = 500;
    let mut float_out = Vec::new();
    let mut fixed_out = Vec::new();
    let mut measures = vec![infer::LayerMeasure::default(); q.net.layers.len()];
    let mut start = 0u32;
    while start < images.count {
        let n = CHUNK.min(images.count - start);
        let range = start as usize * images.per_image..(start + n) as usize * images.per_image;
        float_out.extend(infer::run_float(
            model,
            &images.values[range.clone()],
            n,
            threads,
        ));
        let run = infer::run_fixed(q, &xq[range], n, threads);
        fixed_out.extend(run.outputs);
        for (m, r) in measures.iter_mut().zip(&run.layers) {
            m.ifmap_zeros += r.ifmap_zeros;
            m.ifmap_values += r.ifmap_values;
            m.ofmap_zeros += r.ofmap_zeros;
            m.ofmap_values += r.ofmap_values;
            m.wraps += r.wraps;
        }
        start += n;
    }
    let classes = float_out.len() / images.count.max(1) as usize;
    let pf = infer::predictions(&float_out, classes);
    let px = infer::predictions(&fixed_out, classes);
    let top5 = classes > 10;
    Accuracy {
        classes,
        images: images.count as usize,
        float_top1: infer::top_k(&float_out, &images.labels, 1),
        fixed_top1: infer::top_k(&fixed_out, &images.labels, 1),
        float_top5: top5.then(|| infer::top_k(&float_out, &images.labels, 5)),
        fixed_top5: top5.then(|| infer::top_k(&fixed_out, &images.labels, 5)),
        agree: pf.iter().zip(&px).filter(|(a, b)| a == b).count(),
        fixed_outputs: fixed_out,
        measures,
    }
}

/// The cycle-level sample: per layer summed over chip batches.
pub(crate) struct Sample {
    pub(crate) rows: Vec<LayerResult>,
    pub(crate) outputs: Vec<i16>,
    pub(crate) mappings: Vec<Option<RowStationaryMapping>>,
    pub(crate) batches: u32,
    pub(crate) images: u32,
}

pub(crate) fn simulate_sample(
    q: &QuantModel,
    opts: &ModelRun,
    xq: &[i16],
    per_image: usize,
) -> anyhow::Result<Sample> {
    let images = opts.sample.min((xq.len() / per_image.max(1)) as u32);
    ensure!(
        images >= opts.batch,
        "--sample {images} is smaller than the chip batch {}",
        opts.batch
    );
    let batches = images / opts.batch;
    let mut net = q.net.clone();
    net.batch = opts.batch;
    let mut mappings = vec![None; net.layers.len()];
    for (i, l) in net.layers.iter().enumerate() {
        if let LayerWork::Array(p) = LayerWork::of(l, net.batch) {
            let m = mapping::search(&p, &opts.hw, opts.objective)
                .with_context(|| format!("mapping layer `{}`", l.name))?;
            // Batches run in parallel, one layer at a time each.
            let need = crate::engine::memory_need(&p, &m, &opts.hw, false);
            let at_once = opts.threads.clamp(1, batches.max(1) as usize) as u64;
            if let Some(limit) = opts.max_memory {
                ensure!(
                    need.total().saturating_mul(at_once) <= limit,
                    "layer {}: simulating {at_once} batches of {} at once needs about {}, over the \
                     {} limit (--max-memory, or the memory this machine has free); use a smaller \
                     --batch or --threads",
                    l.name,
                    opts.batch,
                    crate::engine::human_bytes(need.total().saturating_mul(at_once)),
                    crate::engine::human_bytes(limit)
                );
            }
            mappings[i] = Some(m);
        }
    }
    let mut qb = q.clone();
    qb.net = net;
    let per_batch = per_image * opts.batch as usize;
    let cancel = super::host::cancel();
    let runs: Vec<anyhow::Result<Vec<crate::engine::LayerSim>>> = {
        let next = std::sync::atomic::AtomicU32::new(0);
        let slots = std::sync::Mutex::new((0..batches).map(|_| None).collect::<Vec<_>>());
        std::thread::scope(|s| {
            for _ in 0..opts.threads.clamp(1, batches.max(1) as usize) {
                s.spawn(|| loop {
                    let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if b >= batches {
                        break;
                    }
                    let x = &xq[b as usize * per_batch..(b as usize + 1) * per_batch];
                    let r = if cancel.is_cancelled() {
                        Err(crate::cancel::Cancelled.into())
                    } else {
                        infer::simulate_chain(&qb, &opts.hw, &mappings, x, opts.batch)
                            .map_err(anyhow::Error::from)
                    };
                    slots.lock().expect("no worker panicked")[b as usize] = Some(r);
                });
            }
        });
        slots
            .into_inner()
            .expect("no worker panicked")
            .into_iter()
            .map(|r| r.expect("every batch ran"))
            .collect()
    };
    let mut rows: Vec<LayerResult> = Vec::new();
    let mut outputs = Vec::new();
    for run in runs {
        let run = run.context("simulating the sample cycle by cycle")?;
        outputs.extend_from_slice(&run.last().map(|l| l.sim.ofmap.clone()).unwrap_or_default());
        if rows.is_empty() {
            rows = run.into_iter().map(|l| l.row).collect();
        } else {
            for (acc, l) in rows.iter_mut().zip(run) {
                add_row(acc, &l.row);
            }
        }
    }
    Ok(Sample {
        rows,
        outputs,
        mappings,
        batches,
        images: batches * opts.batch,
    })
}

fn add_row(acc: &mut LayerResult, r: &LayerResult) {
    acc.counts += r.counts;
    acc.energy += r.energy;
    acc.cycles += r.cycles;
    acc.processing_cycles += r.processing_cycles;
    acc.active_pes = acc.active_pes.max(r.active_pes);
}

/// Analytic rows of one chip batch, repeated for `batches` batches.
fn scale(rows: Vec<LayerResult>, batches: u32) -> Vec<LayerResult> {
    rows.into_iter()
        .map(|r| {
            let mut acc = r.clone();
            for _ in 1..batches {
                add_row(&mut acc, &r);
            }
            acc
        })
        .collect()
}

/// The network with every layer's measured densities (for the analytic
/// model and for `--write-trace`).
fn measured_network(q: &QuantModel, m: &[infer::LayerMeasure], batch: u32) -> Network {
    let mut net = q.net.clone();
    net.batch = batch;
    for (i, l) in net.layers.iter_mut().enumerate() {
        l.sparsity.ifmap_zero_fraction = m[i].ifmap_zero_fraction();
        l.sparsity.ofmap_zero_fraction = m[i].ofmap_zero_fraction();
        let w = &q.weights[i].0;
        if !w.is_empty() {
            l.sparsity.weight_density =
                w.iter().filter(|&&v| v != 0).count() as f64 / w.len() as f64;
        }
    }
    net
}

/// One row of the per-layer table.
struct Row {
    layer: String,
    assumed_zeros: f64,
    ifmap_zeros: f64,
    ofmap_zeros: f64,
    rlc_ratio: Option<f64>,
    gated_macs: u64,
    energy: f64,
    energy_measured: f64,
    energy_assumed: f64,
    latency_ms: f64,
    wraps: u64,
    shift: u32,
}

fn layer_table(
    q: &QuantModel,
    acc: &Accuracy,
    sim: &Sample,
    measured: &[LayerResult],
    assumed: &[LayerResult],
    hw: &HwConfig,
) -> Vec<Row> {
    q.net
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let r = &sim.rows[i];
            let out_values = (l.output.elements() * u64::from(sim.images)) as f64;
            let dram_out = r.counts.get(Level::Dram, crate::stats::Tensor::Psum).writes as f64;
            Row {
                layer: l.name.clone(),
                assumed_zeros: l.sparsity.ifmap_zero_fraction,
                ifmap_zeros: acc.measures[i].ifmap_zero_fraction(),
                ofmap_zeros: acc.measures[i].ofmap_zero_fraction(),
                rlc_ratio: (dram_out > 0.0).then(|| dram_out / out_values),
                gated_macs: r.counts.macs.gated,
                energy: r.energy.total() / f64::from(sim.images),
                energy_measured: measured[i].energy.total() / f64::from(sim.images),
                energy_assumed: assumed[i].energy.total() / f64::from(sim.images),
                latency_ms: r.cycles as f64
                    / hw.clock.core_mhz
                    / 1000.0
                    / f64::from(sim.batches.max(1)),
                wraps: acc.measures[i].wraps,
                shift: q.formats.layer(i).product_shift(),
            }
        })
        .collect()
}

fn layers_csv(rows: &[Row]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "layer",
        "assumed_ifmap_zero_fraction",
        "measured_ifmap_zero_fraction",
        "measured_ofmap_zero_fraction",
        "dram_words_per_ofmap_value",
        "gated_macs",
        "simulated_energy_per_image",
        "analytic_energy_per_image_measured",
        "analytic_energy_per_image_assumed",
        "simulated_latency_ms_per_batch",
        "accumulator_wraps",
        "product_shift",
    ])
    .expect("in-memory CSV");
    for r in rows {
        w.write_record([
            r.layer.clone(),
            format!("{:.4}", r.assumed_zeros),
            format!("{:.4}", r.ifmap_zeros),
            format!("{:.4}", r.ofmap_zeros),
            r.rlc_ratio.map_or(String::new(), |x| format!("{x:.4}")),
            r.gated_macs.to_string(),
            format!("{:.1}", r.energy),
            format!("{:.1}", r.energy_measured),
            format!("{:.1}", r.energy_assumed),
            format!("{:.4}", r.latency_ms),
            r.wraps.to_string(),
            r.shift.to_string(),
        ])
        .expect("in-memory CSV");
    }
    w.into_inner().expect("in-memory CSV")
}

#[allow(clippy::too_many_arguments)]
fn write_outputs(
    opts: &ModelRun,
    q: &QuantModel,
    sim: &Sample,
    measured: &Network,
    pm: &[LayerResult],
    pa: &[LayerResult],
    table: &[Row],
) -> anyhow::Result<()> {
    write_result_csvs(&opts.out.join("simulated"), &sim.rows, &opts.hw)?;
    write_result_csvs(&opts.out.join("analytic-measured"), pm, &opts.hw)?;
    write_result_csvs(&opts.out.join("analytic-assumed"), pa, &opts.hw)?;
    let trace = crate::workload::to_trace_toml(measured);
    write_files(
        &opts.out,
        vec![
            ("formats.toml", q.formats.to_toml().into_bytes()),
            ("layers.csv", layers_csv(table)),
            ("measured.toml", trace.clone().into_bytes()),
        ],
    )?;
    if let Some(p) = &opts.write_trace {
        crate::stats::write_atomic(p, trace.as_bytes())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if opts.plots {
        crate::report::plot_layers(&opts.out.join("simulated"))
            .with_context(|| format!("plotting {}", opts.out.display()))?;
    }
    Ok(())
}

fn summary(
    opts: &ModelRun,
    q: &QuantModel,
    a: &Accuracy,
    sim: &Sample,
    sat: u64,
    table: &[Row],
) -> String {
    let mut s = String::new();
    let pct = |k: usize| 100.0 * k as f64 / a.images.max(1) as f64;
    let _ = writeln!(
        s,
        "{} on {}: {} images, {} classes",
        q.net.name, opts.hw.name, a.images, a.classes
    );
    let _ = writeln!(
        s,
        "top-1: float {:.2}%, chip arithmetic {:.2}% ({:+.2} points); the two agree on {:.2}% of images",
        pct(a.float_top1),
        pct(a.fixed_top1),
        pct(a.fixed_top1) - pct(a.float_top1),
        pct(a.agree)
    );
    if let (Some(f), Some(x)) = (a.float_top5, a.fixed_top5) {
        let _ = writeln!(
            s,
            "top-5: float {:.2}%, chip arithmetic {:.2}%",
            pct(f),
            pct(x)
        );
    }
    let _ = writeln!(
        s,
        "cycle-level sample: {} images in {} batches of {}, every ofmap bit-exact, outputs equal to the functional path's",
        sim.images, sim.batches, opts.batch
    );
    let unit = opts.hw.energy.unit.label();
    let _ = writeln!(
        s,
        "{:<8} {:>7} {:>7} {:>7} {:>8} {:>11} {:>11} {:>11} {:>11} {:>9} {:>6} {:>5}",
        "layer",
        "zeros:",
        "in",
        "out",
        "rlc w/v",
        "gated MACs",
        "E sim/img",
        "E an.meas",
        "E an.assum",
        "lat ms",
        "wraps",
        "shift"
    );
    let _ = writeln!(s, "{:<8} {:>7}", "", "assumed");
    for r in table {
        let _ = writeln!(
            s,
            "{:<8} {:>7.3} {:>7.3} {:>7.3} {:>8} {:>11} {:>11.0} {:>11.0} {:>11.0} {:>9.4} {:>6} {:>5}",
            r.layer,
            r.assumed_zeros,
            r.ifmap_zeros,
            r.ofmap_zeros,
            r.rlc_ratio.map_or("-".into(), |x| format!("{x:.3}")),
            r.gated_macs,
            r.energy,
            r.energy_measured,
            r.energy_assumed,
            r.latency_ms,
            r.wraps,
            r.shift
        );
    }
    let total = |f: fn(&Row) -> f64| table.iter().map(f).sum::<f64>();
    let _ = writeln!(
        s,
        "energy per image ({unit}): simulated {:.0}; analytic at the measured densities {:.0} ({:+.2}%), at the assumed densities {:.0} ({:+.2}%)",
        total(|r| r.energy),
        total(|r| r.energy_measured),
        100.0 * (total(|r| r.energy_measured) / total(|r| r.energy) - 1.0),
        total(|r| r.energy_assumed),
        100.0 * (total(|r| r.energy_assumed) / total(|r| r.energy) - 1.0),
    );
    let _ = writeln!(
        s,
        "latency per batch of {}: {:.3} ms",
        opts.batch,
        total(|r| r.latency_ms)
    );
    let wraps: u64 = table.iter().map(|r| r.wraps).sum();
    let wsat: u64 = q.saturated.iter().sum();
    let _ = writeln!(
        s,
        "fixed point: {wraps} accumulator wrap-arounds, {wsat} weights or biases and {sat} input values saturated (formats.toml)"
    );
    s
}
