//! `eyesim prune`: plan energy-aware pruning, prune the weights to the plan,
//! write plan.csv, ranking.csv, weights.csv, pruned.toml, mappings.toml and
//! weights/*.npy, and print a summary.

use super::common::{HwArg, NetArg};
use crate::mapping::Objective;
use crate::prune::{self, output, Floors, PruneOptions, WeightSource};
use crate::stats::write_atomic;
use crate::workload::{self, ConvProblem, LayerWork, Network, Op};
use anyhow::Context;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Arguments of `eyesim prune`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    net: NetArg,
    #[command(flatten)]
    hw: HwArg,
    /// Multiplicative density step per pruning step, in (0, 1).
    #[arg(long, default_value_t = 0.8, value_name = "FACTOR")]
    step: f64,
    /// Stop once the network energy is baseline / FACTOR.
    #[arg(long, default_value_t = 3.7, value_name = "FACTOR")]
    target_reduction: f64,
    /// Density floor of every layer not in --floors (default 0.1). Given
    /// alone, it replaces the built-in floors of the network.
    #[arg(long, value_name = "DENSITY")]
    floor: Option<f64>,
    /// Per-layer floors, `layer = density` (default for alexnet:
    /// traces/alexnet-floors.toml, Deep Compression's densities).
    #[arg(long, value_name = "FILE")]
    floors: Option<PathBuf>,
    /// What the mapper minimizes when a layer is re-mapped.
    #[arg(long, default_value = "energy", value_parser = |s: &str| s.parse::<Objective>())]
    objective: Objective,
    /// Real layer data: DIR/<layer>.{ifmap,weights,bias}.npy (int16). Without
    /// it, seeded synthetic data (--seed) is pruned.
    #[arg(long, value_name = "DIR")]
    weights: Option<PathBuf>,
    /// Seed of the synthetic data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Simulate every pruned layer with the cycle-level simulator and
    /// compare its energy with the analytic estimate.
    #[arg(long)]
    verify: bool,
    /// Largest accepted relative difference of simulated and analytic layer energy.
    #[arg(long, default_value_t = 0.05, value_name = "FRACTION", value_parser = super::args::parse_tolerance)]
    tolerance: f64,
    /// Output directory (default: results/prune-<net>-<hw>/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
}

/// The flags of `prune --net model.onnx` (a trained network).
#[derive(clap::Args)]
struct ModelArgs {
    /// With an ONNX model: validation images (IDX, gzip or not, or .npy;
    /// default: v5k-images-idx3-ubyte.gz beside the model). Every decision
    /// is made on them.
    #[arg(long, value_name = "FILE")]
    images: Option<PathBuf>,
    /// With an ONNX model: validation labels (default: v5k-labels-idx1-ubyte.gz).
    #[arg(long, value_name = "FILE")]
    labels: Option<PathBuf>,
    /// With an ONNX model: test images, reported once (default:
    /// t1k-images-idx3-ubyte.gz beside the model; with --images alone, the
    /// second half of those images).
    #[arg(long, value_name = "FILE")]
    test_images: Option<PathBuf>,
    /// With an ONNX model: test labels.
    #[arg(long, value_name = "FILE")]
    test_labels: Option<PathBuf>,
    /// With an ONNX model: validation images taken off the front for
    /// calibration (fixed-point formats, least-squares restoration); the
    /// rest measure accuracy.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    calibration: u32,
    /// With an ONNX model: the largest loss of validation top-1 accuracy, in points.
    #[arg(long, default_value_t = 1.0, value_name = "POINTS")]
    budget: f64,
    /// With an ONNX model: the criteria to run, side by side (energy-aware,
    /// output-error, magnitude); the first one's network is the one checked
    /// cycle by cycle.
    #[arg(long, value_delimiter = ',', default_value = "energy-aware,output-error,magnitude", value_parser = |s: &str| s.parse::<prune::Criterion>())]
    criteria: Vec<prune::Criterion>,
    /// With an ONNX model: ridge of the least-squares restoration, relative
    /// to the mean diagonal of the input Gram matrix.
    #[arg(long, default_value_t = 1e-3, value_name = "FACTOR")]
    ridge: f64,
    /// With an ONNX model: check a fine-tuned model against the masks in DIR
    /// (written by an earlier prune) and measure it, instead of pruning.
    #[arg(long, value_name = "DIR")]
    masks: Option<PathBuf>,
    /// With an ONNX model: images simulated cycle by cycle to check the final network.
    #[arg(long, default_value_t = 4, value_name = "N")]
    sample: u32,
    /// With an ONNX model: images per chip batch.
    #[arg(long, default_value_t = 4, value_name = "N")]
    batch: u32,
    /// Worker threads (default: all cores). Results never depend on it.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

/// Runs `eyesim prune`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let path = PathBuf::from(&args.net.net);
    if path.extension().is_some_and(|e| e == "onnx") {
        return run_onnx(args, path);
    }
    let m = &args.model;
    let model_only = [
        ("--images", m.images.is_some()),
        ("--labels", m.labels.is_some()),
        ("--test-images", m.test_images.is_some()),
        ("--test-labels", m.test_labels.is_some()),
        ("--masks", m.masks.is_some()),
    ];
    if let Some((flag, _)) = model_only.iter().find(|(_, set)| *set) {
        anyhow::bail!(
            "{flag} needs a trained model (--net model.onnx); without one, prune plans densities \
             for a trace"
        );
    }
    let net = args.net.load()?;
    let hw = args.hw.load()?;
    let (floors, floors_note) = floors(&args, &net)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| super::common::default_out_dir("prune-", &net.name, &hw.name, ""));
    super::args::check_out_dir(&out)?;
    let opts = PruneOptions {
        step: args.step,
        target_reduction: args.target_reduction,
        floors,
        objective: args.objective,
        threads: 0,
    };
    let plan = prune::plan(&net, &hw, &opts)
        .with_context(|| format!("planning the pruning of `{}` on `{}`", net.name, hw.name))?;
    say!("{}", output::summary(&plan));
    sayln!("{floors_note}");

    let unit = plan.hw.energy.unit.label();
    let ranks = prune::ranking(&plan.original, &plan.baseline);
    let mut pruned = plan.pruned.clone();
    pruned.name = format!("{}-pruned", net.name);
    let files: [(&str, Vec<u8>); 4] = [
        ("plan.csv", output::plan_csv(&plan)),
        ("ranking.csv", output::ranking_csv(&ranks, unit)),
        ("pruned.toml", pruned_trace(&plan, &pruned).into_bytes()),
        ("mappings.toml", plan.mappings().to_toml().into_bytes()),
    ];
    for (name, bytes) in files {
        write(&out.join(name), &bytes)?;
    }

    let source = match &args.weights {
        Some(dir) => WeightSource::Npy(dir),
        None => WeightSource::Generated { seed: args.seed },
    };
    let weights_dir = out.join("weights");
    let rows = prune::prune_network_weights(&plan, source, |row, prob, data| {
        write_layer_data(&weights_dir, &row.layer, prob, data)
    })
    .context("pruning the layer weights")?;
    // The other array layers' (pooling) input data, so that the folder is
    // complete for `eyesim simulate --weights`.
    for (i, layer) in plan.original.layers.iter().enumerate() {
        let LayerWork::Array(prob) = LayerWork::of(layer, plan.original.batch) else {
            continue;
        };
        if prob.op == Op::Mac {
            continue;
        }
        if let WeightSource::Npy(dir) = source {
            let file = dir.join(format!("{}.ifmap.npy", layer.name));
            if !file.is_file() {
                sayln!(
                    "note: {} is not there, so neither is it in {}",
                    file.display(),
                    weights_dir.display()
                );
                continue;
            }
        }
        let (prob, data) = prune::layer_data(&plan, i, source)?;
        write_layer_data(&weights_dir, &layer.name, &prob, &data)?;
    }
    write(&out.join("weights.csv"), &output::weights_csv(&plan, &rows))?;
    say!("{}", ranking_table(&ranks));
    say!("{}", weights_table(&rows));
    sayln!(
        "wrote {}/{{plan.csv,ranking.csv,weights.csv,pruned.toml,mappings.toml,weights/*.npy}} \
         (simulate the pruned weights with --net pruned.toml --weights weights --mapping mappings.toml)",
        out.display()
    );
    if args.verify {
        verify(&args, &plan, source, &out)?;
    }
    Ok(())
}

/// `prune --net model.onnx`: the paper's method on a trained network.
fn run_onnx(args: Args, path: PathBuf) -> anyhow::Result<()> {
    let trace_only = [
        ("--weights", args.weights.is_some()),
        ("--floors", args.floors.is_some()),
        ("--floor", args.floor.is_some()),
        ("--verify", args.verify),
    ];
    if let Some((flag, _)) = trace_only.iter().find(|(_, set)| *set) {
        anyhow::bail!(
            "{flag} belongs to density planning of a trace; a trained model is pruned by \
             accuracy (--budget) on its own weights and images"
        );
    }
    let hw = args.hw.load()?;
    let stem = path
        .file_stem()
        .map_or("model".into(), |s| s.to_string_lossy().into_owned());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| super::common::default_out_dir("prune-", &stem, &hw.name, ""));
    super::args::check_out_dir(&out)?;
    let m = args.model;
    let threads = m
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    super::prune_net::run(super::prune_net::NetPrune {
        model_path: path,
        hw,
        objective: args.objective,
        images: m.images,
        labels: m.labels,
        test_images: m.test_images,
        test_labels: m.test_labels,
        calibration: m.calibration,
        budget: m.budget,
        criteria: m.criteria,
        ridge: m.ridge,
        masks: m.masks,
        sample: m.sample,
        batch: m.batch,
        threads,
        max_memory: None,
        out,
    })
}

/// `--verify`: simulate the pruned layers, write verify.csv, fail on a gap.
fn verify(
    args: &Args,
    plan: &prune::PrunePlan,
    source: WeightSource<'_>,
    out: &Path,
) -> anyhow::Result<()> {
    let opts = prune::VerifyOptions {
        tolerance: args.tolerance,
        threads: 0,
    };
    let v = prune::verify(plan, source, &opts).context("verifying with the simulator")?;
    write(
        &out.join("verify.csv"),
        &output::verify_csv(&v, plan.hw.energy.unit.label()),
    )?;
    say!("{}", output::verify_summary(plan, &v));
    sayln!("wrote {}/verify.csv", out.display());
    let bad: Vec<String> = v
        .failures()
        .iter()
        .map(|r| {
            format!(
                "{} ({}, {:+.2}%)",
                r.layer,
                r.stage.name(),
                100.0 * r.rel_diff()
            )
        })
        .collect();
    if !bad.is_empty() {
        anyhow::bail!(
            "simulated energy differs from the analytic by more than {:.2}%: {}",
            100.0 * args.tolerance,
            bad.join(", ")
        );
    }
    Ok(())
}

/// Writes `DIR/<layer>.ifmap.npy` and, for a layer with weights,
/// `<layer>.weights.npy` and `<layer>.bias.npy`: the files that
/// `eyesim simulate --weights DIR` reads.
fn write_layer_data(
    dir: &Path,
    layer: &str,
    prob: &ConvProblem,
    data: &crate::data::LayerData,
) -> Result<(), prune::PruneError> {
    let (n, g) = (u64::from(prob.n), u64::from(prob.g));
    let ifmap = [n, g * u64::from(prob.c), prob.h.into(), prob.w.into()];
    let mut files = vec![("ifmap", ifmap.to_vec(), &data.ifmap)];
    if prob.op == Op::Mac {
        let filters = g * u64::from(prob.m);
        let shape = vec![filters, prob.c.into(), prob.r.into(), prob.s.into()];
        files.push(("weights", shape, &data.weights));
        files.push(("bias", vec![filters], &data.bias));
    }
    for (kind, shape, values) in files {
        let path = dir.join(format!("{layer}.{kind}.npy"));
        crate::data::write_npy_i16(&path, &shape, values).map_err(|cause| {
            prune::PruneError::Data {
                layer: layer.to_string(),
                cause,
            }
        })?;
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomic(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// The floors to use and a line saying where they came from.
fn floors(args: &Args, net: &Network) -> anyhow::Result<(Floors, String)> {
    let global = Floors::uniform(args.floor.unwrap_or(0.1))?;
    if let Some(path) = &args.floors {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading floors file {}", path.display()))?;
        let f = global.with_file(&text, &path.display().to_string(), net)?;
        let note = format!("floors: {} (other layers {})", path.display(), f.global);
        return Ok((f, note));
    }
    match (args.floor, prune::builtin_floors(&net.name)) {
        (None, Some((origin, text))) => {
            let f = global.with_file(text, origin, net)?;
            let note = format!(
                "floors: {origin} (built-in for {}; --floor or --floors to change)",
                net.name
            );
            Ok((f, note))
        }
        _ => {
            let note = format!("floors: {} for every layer", global.global);
            Ok((global, note))
        }
    }
}

/// The pruned network as a trace, with a header saying how it was made.
fn pruned_trace(plan: &prune::PrunePlan, pruned: &Network) -> String {
    format!(
        "# `{}` pruned by `eyesim prune` on `{}` (weight compression on): energy {:.3} -> {:.3} \
         ({}), {:.3}x.\n# Estimate it with the planned mappings: \
         eyesim estimate --net pruned.toml --hw <hw with weight_compression = true> \
         --mapping mappings.toml\n{}",
        plan.original.name,
        plan.hw.name,
        plan.baseline_energy(),
        plan.final_energy(),
        plan.hw.energy.unit.label(),
        plan.reduction(),
        workload::to_trace_toml(pruned)
    )
}

fn weights_table(rows: &[prune::LayerPruning]) -> String {
    let mut s =
        String::from("\npruned weights (ofmap error: relative L2, reference convolution):\n");
    let _ = writeln!(
        s,
        "{:<14} {:>12} {:>10} {:>10} {:>12}",
        "layer", "weights", "planned", "achieved", "ofmap error"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{:<14} {:>12} {:>10.4} {:>10.4} {:>12.4e}",
            r.layer, r.weights, r.planned_density, r.density_after, r.ofmap_error
        );
    }
    s
}

fn ranking_table(ranks: &[prune::LayerRank]) -> String {
    let mut s = String::from("\nbaseline ranks (1 = largest):\n");
    let _ = writeln!(
        s,
        "{:<14} {:>12} {:>6} {:>12} {:>6} {:>14} {:>6}",
        "layer", "energy", "rank", "weights", "rank", "macs", "rank"
    );
    for r in ranks {
        let _ = writeln!(
            s,
            "{:<14} {:>12.4e} {:>6} {:>12} {:>6} {:>14} {:>6}",
            r.layer, r.energy, r.energy_rank, r.weights, r.weight_rank, r.macs, r.mac_rank
        );
    }
    s
}
