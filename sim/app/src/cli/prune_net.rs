//! `eyesim prune --net model.onnx`: energy-aware pruning of a trained
//! network, the paper's method (see `crate::prune::method` and
//! docs/pruning.md), each criterion side by side; then the pruned model
//! as ONNX with its masks for external fine-tuning, the test split
//! reported once, and the final network checked on the cycle-level
//! simulator. With `--masks DIR`, checks a fine-tuned model against its
//! masks and measures it instead.

use super::model_data::{load_image_pair, Images};
use super::prune_masks::{check_masks, masks};
use super::run_model::{simulate_sample, ModelRun};
use crate::analytic::{estimate_network, EstimateOptions};
use crate::hw::HwConfig;
use crate::infer::{self, quant, QuantModel};
use crate::mapping::Objective;
use crate::onnx::Model;
use crate::prune::method_csv::{self, TestAccuracy};
use crate::prune::{self, Criterion, MethodOptions, MethodRun, Snapshot, Split};
use anyhow::{bail, ensure, Context};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Options of a trained-network prune (from `eyesim prune`'s flags).
pub struct NetPrune {
    pub model_path: PathBuf,
    pub hw: HwConfig,
    pub objective: Objective,
    pub images: Option<PathBuf>,
    pub labels: Option<PathBuf>,
    pub test_images: Option<PathBuf>,
    pub test_labels: Option<PathBuf>,
    pub calibration: u32,
    pub budget: f64,
    pub criteria: Vec<Criterion>,
    pub ridge: f64,
    pub masks: Option<PathBuf>,
    pub sample: u32,
    pub batch: u32,
    pub threads: usize,
    pub max_memory: Option<u64>,
    pub out: PathBuf,
}

/// The image splits: calibration (restoration and formats), validation
/// (every decision) and test (reported once).
struct Splits {
    calib: Images,
    val: Images,
    test: Images,
}

/// Runs the trained-network prune.
pub fn run(o: NetPrune) -> anyhow::Result<()> {
    let model = crate::onnx::import_model(&o.model_path)
        .with_context(|| format!("importing {}", o.model_path.display()))?;
    ensure!(
        model.weights.iter().any(Option::is_some),
        "{}: the model has no conv or FC layer with weights to prune",
        o.model_path.display()
    );
    if !(o.budget > 0.0 && o.budget < 100.0) {
        bail!(
            "--budget: {} is not a number of points in (0, 100)",
            o.budget
        );
    }
    let splits = load_splits(&o, &model)?;
    let (hw, enabled) = prune::with_weight_compression(&o.hw);
    let mopts = |criterion| MethodOptions {
        criterion,
        budget: o.budget,
        ridge: o.ridge,
        hw: hw.clone(),
        objective: o.objective,
        batch: o.batch,
        threads: o.threads,
        cancel: super::host::cancel(),
    };
    if let Some(dir) = &o.masks {
        return measure_tuned(
            &o,
            &model,
            &splits,
            mopts(Criterion::EnergyAware),
            dir,
            enabled,
        );
    }
    let mut runs = Vec::new();
    for &c in &o.criteria {
        let t = std::time::Instant::now();
        let run = prune::prune_model(&model, split(&splits.calib), split(&splits.val), &mopts(c))
            .with_context(|| format!("pruning by the {} criterion", c.name()))?;
        eprintln!("{}: {:.1} s", c.name(), t.elapsed().as_secs_f64());
        runs.push(run);
    }
    let base_q = QuantModel::new(&model, runs[0].quant.formats.clone());
    let base_test = test_accuracy(&base_q, &splits.test, &o);
    let tested: Vec<(MethodRun, TestAccuracy)> = runs
        .into_iter()
        .map(|r| {
            let t = test_accuracy(&r.quant, &splits.test, &o);
            (r, t)
        })
        .collect();
    let ceiling = energy_ceiling(&tested[0].0.baseline, &hw, &o)?;
    let check = simulate_check(&o, &hw, &tested[0].0.quant, &splits.val)?;
    write_outputs(&o, &model, &tested, base_test, ceiling, &check, enabled)
}

fn split(i: &Images) -> Split<'_> {
    Split {
        images: &i.values,
        labels: &i.labels,
        count: i.count,
    }
}

/// The first `n` images of `i`, and the rest.
fn take(i: Images, n: u32) -> (Images, Images) {
    let at = n as usize * i.per_image;
    let first = Images {
        values: i.values[..at].to_vec(),
        labels: i.labels[..n as usize].to_vec(),
        count: n,
        per_image: i.per_image,
    };
    let rest = Images {
        values: i.values[at..].to_vec(),
        labels: i.labels[n as usize..].to_vec(),
        count: i.count - n,
        per_image: i.per_image,
    };
    (first, rest)
}

fn load_splits(o: &NetPrune, model: &Model) -> anyhow::Result<Splits> {
    let dir = o.model_path.parent().unwrap_or(Path::new("."));
    let pair = |i: &Option<PathBuf>, l: &Option<PathBuf>, stem: &str, flag: &str| match (i, l) {
        (Some(i), Some(l)) => Ok(Some((i.clone(), l.clone()))),
        (None, None) => {
            let (i, l) = (
                dir.join(format!("{stem}-images-idx3-ubyte.gz")),
                dir.join(format!("{stem}-labels-idx1-ubyte.gz")),
            );
            Ok((i.is_file() && l.is_file()).then_some((i, l)))
        }
        _ => Err(anyhow::anyhow!(
            "--{flag}images and --{flag}labels go together"
        )),
    };
    let given = pair(&o.images, &o.labels, "v5k", "")?;
    let test_given = pair(&o.test_images, &o.test_labels, "t1k", "test-")?;
    let net = &model.network;
    let (val_all, test) = match (given, test_given) {
        (Some((i, l)), Some((ti, tl))) if o.images.is_none() || o.test_images.is_some() => (
            load_image_pair(&i, &l, net)?,
            load_image_pair(&ti, &tl, net)?,
        ),
        (Some((i, l)), _) => {
            // One labelled set: its first half validates, its second half tests.
            let all = load_image_pair(&i, &l, net)?;
            ensure!(
                all.count >= 4,
                "{}: {} images are too few to split into validation and test halves",
                i.display(),
                all.count
            );
            let half = all.count / 2;
            take(all, half)
        }
        (None, _) => bail!(
            "no images given: pass --images and --labels (validation; IDX, .gz or .npy), and \
             optionally --test-images/--test-labels; {} has no v5k-images/v5k-labels IDX files",
            dir.display()
        ),
    };
    ensure!(
        o.calibration >= 1 && o.calibration < val_all.count,
        "--calibration {}: the validation set has {} images; calibration takes some off its \
         front and accuracy needs the rest",
        o.calibration,
        val_all.count
    );
    let (calib, val) = take(val_all, o.calibration);
    Ok(Splits { calib, val, test })
}

fn quantize(i: &Images, frac: i32) -> Vec<i16> {
    i.values
        .iter()
        .map(|&x| quant::quantize(x, frac).0)
        .collect()
}

/// Top-1 on the test split in the chip's arithmetic.
fn test_accuracy(q: &QuantModel, test: &Images, o: &NetPrune) -> TestAccuracy {
    let x = quantize(test, q.formats.input_frac);
    let run = infer::run_fixed(q, &x, test.count, o.threads);
    TestAccuracy {
        hits: infer::top_k(&run.outputs, &test.labels, 1),
        images: test.count as usize,
    }
}

/// Energy per image if every layer kept a single weight: what weight
/// pruning cannot remove (feature-map traffic, mostly).
fn energy_ceiling(base: &Snapshot, hw: &HwConfig, o: &NetPrune) -> anyhow::Result<f64> {
    let mut net = base.network.clone();
    for (l, r) in net.layers.iter_mut().zip(&base.layers) {
        if r.weights > 0 {
            l.sparsity.weight_density = 1.0 / r.weights as f64;
        }
    }
    let est = EstimateOptions {
        objective: o.objective,
        batch: Some(o.batch),
        threads: o.threads,
        ..EstimateOptions::default()
    };
    let rows = estimate_network(&net, hw, &est)?;
    Ok(rows.iter().map(|r| r.energy.total()).sum::<f64>() / f64::from(o.batch))
}

/// The cycle-level check of a final network over a sample.
pub struct SimCheck {
    pub images: u32,
    /// Simulated energy per image.
    pub simulated: f64,
    /// Analytic energy per image at the sparsity measured on the same images.
    pub analytic: f64,
}

/// Runs the first `--sample` validation images of `q` through the
/// cycle-level simulator (every layer bit-exact against the reference)
/// and checks its outputs against the functional path's.
fn simulate_check(
    o: &NetPrune,
    hw: &HwConfig,
    q: &QuantModel,
    val: &Images,
) -> anyhow::Result<SimCheck> {
    let x = quantize(val, q.formats.input_frac);
    let mr = ModelRun {
        model_path: &o.model_path,
        hw: hw.clone(),
        objective: o.objective,
        images: None,
        labels: None,
        formats: None,
        sample: o.sample,
        batch: o.batch,
        threads: o.threads,
        max_memory: o.max_memory,
        out: o.out.clone(),
        write_trace: None,
        plots: false,
    };
    let sample = simulate_sample(q, &mr, &x, val.per_image)?;
    let n = sample.images;
    let fast = infer::run_fixed(q, &x[..n as usize * val.per_image], n, o.threads);
    ensure!(
        sample.outputs == fast.outputs,
        "the cycle-level outputs of the pruned network differ from the functional path's"
    );
    let mut net = q.net.clone();
    net.batch = o.batch;
    for (i, l) in net.layers.iter_mut().enumerate() {
        l.sparsity.ifmap_zero_fraction = fast.layers[i].ifmap_zero_fraction();
        l.sparsity.ofmap_zero_fraction = fast.layers[i].ofmap_zero_fraction();
        let w = &q.weights[i].0;
        if !w.is_empty() {
            let nz = w.iter().filter(|&&v| v != 0).count().max(1);
            l.sparsity.weight_density = nz as f64 / w.len() as f64;
        }
    }
    let mut pinned = crate::mapping::MappingSet::new();
    for (l, m) in net.layers.iter().zip(&sample.mappings) {
        if let Some(m) = m {
            pinned.insert(&l.name, *m);
        }
    }
    let est = EstimateOptions {
        objective: o.objective,
        pinned,
        batch: Some(o.batch),
        threads: o.threads,
    };
    let rows = estimate_network(&net, hw, &est)?;
    let per_batch: f64 = rows.iter().map(|r| r.energy.total()).sum();
    let simulated: f64 = sample.rows.iter().map(|r| r.energy.total()).sum();
    Ok(SimCheck {
        images: n,
        simulated: simulated / f64::from(n),
        analytic: per_batch / f64::from(o.batch),
    })
}

fn write_outputs(
    o: &NetPrune,
    model: &Model,
    tested: &[(MethodRun, TestAccuracy)],
    base_test: TestAccuracy,
    ceiling: f64,
    check: &SimCheck,
    enabled: bool,
) -> anyhow::Result<()> {
    let unit = o.hw.energy.unit.label();
    let runs: Vec<MethodRun> = tested.iter().map(|(r, _)| r.clone()).collect();
    let base = &runs[0].baseline;
    let ranks = prune::ranking(&base.network, &base.layers);
    // Everything is computed before the first file is written.
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![
        (o.out.join("steps.csv"), method_csv::steps_csv(&runs, unit)),
        (
            o.out.join("plan.csv"),
            method_csv::plan_csv(&model.network, &runs),
        ),
        (
            o.out.join("criteria.csv"),
            method_csv::criteria_csv(tested, base_test, unit),
        ),
        (
            o.out.join("ranking.csv"),
            prune::output::ranking_csv(&ranks, unit),
        ),
    ];
    for r in &runs {
        let dir = o.out.join(r.criterion.name());
        let layers: Vec<(String, Option<crate::onnx::LayerWeights>)> = model
            .network
            .layers
            .iter()
            .zip(&r.model.weights)
            .map(|(l, w)| (l.name.clone(), w.clone()))
            .collect();
        let onnx = crate::onnx::write_weights(&o.model_path, &layers)?;
        files.push((dir.join("pruned.onnx"), onnx));
        files.push((
            dir.join("formats.toml"),
            r.quant.formats.to_toml().into_bytes(),
        ));
        for (name, dims, values) in masks(&r.model) {
            let path = dir.join("masks").join(name);
            files.push((path, npy_mask(&dims, &values)));
        }
    }
    let text = summary(o, tested, base_test, ceiling, check, &ranks, enabled);
    files.push((o.out.join("summary.txt"), text.clone().into_bytes()));
    for (path, bytes) in &files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        crate::stats::write_atomic(path, bytes)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let plots = crate::report::plot_prune(&o.out)?;
    say!("{text}");
    sayln!(
        "wrote {}/{{steps,plan,criteria,ranking}}.csv, summary.txt, {} plots, and per criterion \
         pruned.onnx, formats.toml, masks/*.npy",
        o.out.display(),
        plots.len()
    );
    Ok(())
}

/// A mask as a `uint8` `.npy` file (what training tools take as a mask).
fn npy_mask(dims: &[u64], values: &[f32]) -> Vec<u8> {
    let bits: Vec<u8> = values.iter().map(|&v| u8::from(v != 0.0)).collect();
    crate::data::npy_u8_bytes(dims, &bits)
}

fn summary(
    o: &NetPrune,
    tested: &[(MethodRun, TestAccuracy)],
    base_test: TestAccuracy,
    ceiling: f64,
    check: &SimCheck,
    ranks: &[prune::LayerRank],
    enabled: bool,
) -> String {
    let mut s = String::new();
    let unit = o.hw.energy.unit.label();
    let base = &tested[0].0.baseline;
    let _ = writeln!(
        s,
        "{} on {}: validation {} images (+{} for calibration), test {} images, budget {} point(s) of \
         validation top-1 in the chip's 16-bit arithmetic{}",
        o.model_path.display(),
        o.hw.name,
        base.val_images,
        o.calibration,
        base_test.images,
        o.budget,
        if enabled { " (weight compression switched on)" } else { "" }
    );
    let _ = writeln!(
        s,
        "unpruned: val {:.2} %, test {:.2} %, {:.4e} {unit}/image",
        base.val_top1(),
        base_test.percent(),
        base.energy
    );
    let _ = writeln!(
        s,
        "\n{:<13} {:>8} {:>8} {:>8} {:>12} {:>9}",
        "criterion", "density", "val %", "test %", "energy", "reduction"
    );
    for (r, t) in tested {
        let (kept, total) = method_csv::kept(r);
        let _ = writeln!(
            s,
            "{:<13} {:>8.4} {:>8.2} {:>8.2} {:>12.4e} {:>8.3}x",
            r.criterion.name(),
            kept as f64 / total as f64,
            r.last().val_top1(),
            t.percent(),
            r.last().energy,
            r.reduction()
        );
    }
    let _ = writeln!(
        s,
        "\nenergy ceiling: with one weight left per layer the network would still take {:.4e} \
         {unit}/image, at most {:.3}x less than unpruned: the rest is feature-map traffic and \
         fixed work that weight pruning cannot remove",
        ceiling,
        base.energy / ceiling
    );
    let _ = writeln!(
        s,
        "\nranking (1 = largest):\n{:<10} {:>7} {:>8} {:>6}",
        "layer", "energy", "weights", "MACs"
    );
    for r in ranks {
        let _ = writeln!(
            s,
            "{:<10} {:>7} {:>8} {:>6}",
            r.layer, r.energy_rank, r.weight_rank, r.mac_rank
        );
    }
    let first = &tested[0].0;
    let _ = writeln!(
        s,
        "\n{} steps (layer: density, ofmap error before -> after restoration, val %, energy):",
        first.criterion.name()
    );
    for st in &first.steps {
        let _ = writeln!(
            s,
            "  {:<8} {:.3} -> {:.3}, error {:.4} -> {:.4}, val {:.2} %, {:.4e}",
            st.name,
            st.density_before,
            st.density_after,
            st.error_before,
            st.error_after,
            st.after.val_top1(),
            st.after.energy
        );
    }
    let _ = writeln!(
        s,
        "\ncycle-level check of the {} network: {} images, every layer bit-exact and the outputs \
         equal to the functional path's; energy simulated {:.4e}, analytic {:.4e} {unit}/image ({:+.1} %)",
        first.criterion.name(),
        check.images,
        check.simulated,
        check.analytic,
        100.0 * (check.analytic / check.simulated - 1.0)
    );
    s
}

/// `--masks DIR`: a fine-tuned model checked against its masks, then
/// measured as the pruned networks are.
fn measure_tuned(
    o: &NetPrune,
    model: &Model,
    splits: &Splits,
    mopts: MethodOptions,
    dir: &Path,
    enabled: bool,
) -> anyhow::Result<()> {
    let checks = check_masks(model, dir)?;
    let snap = prune::measure_model(model, split(&splits.calib), split(&splits.val), &mopts)?;
    let test = test_accuracy(&snap.1, &splits.test, o);
    let check = simulate_check(o, &mopts.hw, &snap.1, &splits.val)?;
    let unit = o.hw.energy.unit.label();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: every mask in {} held{}",
        o.model_path.display(),
        dir.display(),
        if enabled {
            " (weight compression switched on for the energy)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "{:<10} {:>8} {:>8} {:>8}",
        "layer", "weights", "masked", "density"
    );
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["layer", "weights", "masked", "nonzero", "density"])?;
    for c in &checks {
        let d = c.nonzero as f64 / c.weights as f64;
        let _ = writeln!(
            s,
            "{:<10} {:>8} {:>8} {:>8.4}",
            c.layer, c.weights, c.masked, d
        );
        w.write_record([
            c.layer.clone(),
            c.weights.to_string(),
            c.masked.to_string(),
            c.nonzero.to_string(),
            format!("{d:.4}"),
        ])?;
    }
    let _ = writeln!(
        s,
        "val {:.2} %, test {:.2} %, {:.4e} {unit}/image (analytic, measured sparsity)\n\
         cycle-level check: {} images bit-exact; energy simulated {:.4e}, analytic {:.4e} {unit}/image",
        snap.0.val_top1(),
        test.percent(),
        snap.0.energy,
        check.images,
        check.simulated,
        check.analytic
    );
    let csv = w.into_inner().context("CSV")?;
    super::common::write_files(
        &o.out,
        vec![("masks.csv", csv), ("summary.txt", s.clone().into_bytes())],
    )?;
    say!("{s}");
    sayln!("wrote {}/{{masks.csv,summary.txt}}", o.out.display());
    Ok(())
}
