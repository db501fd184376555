//! `eyesim run`: the main job. Estimate every layer, simulate it on the
//! same mapping, cross-check the two, draw the plots, and summarize where
//! the energy goes, the worst gap, and (AlexNet on eyeriss-v1) the chip.

use super::common::{write_files, write_result_csvs, ModelArgs, SimDataArgs};
use super::crosscheck::{compare_and_write, describe, gate, run_models, ToleranceArgs};
use crate::crosscheck::{self, chip, BothResults, Comparison};
use crate::engine;
use crate::hw::HwConfig;
use crate::mapping::MappingSet;
use crate::report;
use crate::stats::{LayerResult, Level, TENSORS};
use anyhow::Context;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Arguments of `eyesim run`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    data: SimDataArgs,
    #[command(flatten)]
    tol: ToleranceArgs,
    /// Output directory (default: results/run-<net>-<hw>/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Skip the SVG plots.
    #[arg(long)]
    no_plots: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// With an ONNX model: images (IDX, gzip or not, or .npy; default: the
    /// t1k IDX files beside the model).
    #[arg(long, value_name = "FILE")]
    images: Option<PathBuf>,
    /// With an ONNX model: labels (IDX or .npy).
    #[arg(long, value_name = "FILE")]
    labels: Option<PathBuf>,
    /// With an ONNX model: pin the fixed-point formats (a formats.toml that
    /// a previous run wrote) instead of calibrating.
    #[arg(long, value_name = "FILE")]
    formats: Option<PathBuf>,
    /// With an ONNX model: images simulated cycle by cycle (whole batches).
    #[arg(long, value_name = "N", default_value_t = 16)]
    sample: u32,
    /// With an ONNX model: write the measured densities into this trace.
    #[arg(long, value_name = "FILE")]
    write_trace: Option<PathBuf>,
}

/// Runs `eyesim run`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let path = PathBuf::from(&args.model.net.net);
    if path.extension().is_some_and(|e| e == "onnx") {
        return run_onnx(args, &path);
    }
    if let Some((flag, _)) = [
        ("--images", args.images.is_some()),
        ("--labels", args.labels.is_some()),
        ("--formats", args.formats.is_some()),
        ("--write-trace", args.write_trace.is_some()),
    ]
    .iter()
    .find(|(_, set)| *set)
    {
        anyhow::bail!("{flag} needs a trained model: --net model.onnx");
    }
    let (net, hw, estimate) = args.model.load()?;
    let out = args.model.out_dir(&args.out, "run-", &net, &hw);
    super::args::check_out_dir(&out)?;
    let both = run_models(&net, &hw, estimate, &args.data, args.quiet)?;
    let sim_rows = both.simulated_rows();
    write_result_csvs(&out.join("analytic"), &both.analytic, &hw)?;
    write_result_csvs(&out.join("simulated"), &sim_rows, &hw)?;
    let comps: Vec<(&str, &engine::ComponentStats)> = both
        .simulated
        .iter()
        .map(|s| (s.row.layer.as_str(), &s.sim.stats))
        .collect();
    let mut set = MappingSet::new();
    for r in &both.analytic {
        if let Some(m) = r.mapping {
            set.insert(&r.layer, m);
        }
    }
    write_files(
        &out,
        vec![
            ("mappings.toml", set.to_toml().into_bytes()),
            ("simulated/components.csv", engine::components_csv(&comps)),
        ],
    )?;
    let rows = compare_and_write(&both, &args.tol, &out)?;
    if !args.no_plots {
        for sub in ["analytic", "simulated"] {
            report::plot_layers(&out.join(sub))
                .with_context(|| format!("plotting {}", out.join(sub).display()))?;
        }
    }
    let text = summary(&both, &sim_rows, &rows, &hw);
    write_files(&out, vec![("summary.txt", text.clone().into_bytes())])?;
    say!("{text}");
    sayln!("wrote {}/", out.display());
    gate(&rows)
}

/// `run --net model.onnx`: a trained network with its weights.
fn run_onnx(args: Args, path: &std::path::Path) -> anyhow::Result<()> {
    let ignored = [
        ("--mapping", args.model.mapping.is_some()),
        ("--dense", args.model.dense),
        ("--layers", !args.data.layers.is_empty()),
        ("--weights", args.data.weights.is_some()),
        ("--time-every-pass", args.data.time_every_pass),
    ];
    if let Some((flag, _)) = ignored.iter().find(|(_, set)| *set) {
        anyhow::bail!(
            "{flag} does not apply to a run of an ONNX model: its weights and images are the \
             data, every layer runs, mappings are searched (--objective) for the chip batch, \
             and its cycle-level sample reuses the timing of identical passes"
        );
    }
    let hw = args.model.hw.load()?;
    let stem = path
        .file_stem()
        .map_or("model".into(), |s| s.to_string_lossy().into_owned());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("results/run-{stem}-{}", hw.name)));
    super::args::check_out_dir(&out)?;
    super::run_model::run(super::run_model::ModelRun {
        model_path: path,
        hw,
        objective: args.model.objective,
        images: args.images,
        labels: args.labels,
        formats: args.formats,
        sample: args.sample,
        batch: args.model.batch.unwrap_or(4),
        threads: args.data.threads(),
        max_memory: args.data.max_memory()?,
        out,
        write_trace: args.write_trace,
        plots: !args.no_plots,
    })
}

fn summary(both: &BothResults, sim: &[LayerResult], rows: &[Comparison], hw: &HwConfig) -> String {
    let mut s = String::new();
    let unit = hw.energy.unit.label();
    let net = &both.network;
    let _ = writeln!(
        s,
        "{} (batch {}) on {}: {} layers simulated, every ofmap bit-exact against the reference",
        net.name,
        net.batch,
        hw.name,
        sim.len()
    );
    energy_section(&mut s, &both.analytic, sim, unit);
    latency_section(&mut s, sim, hw);
    let failed = rows.iter().filter(|r| !r.passes()).count();
    let worst = crosscheck::worst(rows).map_or("-".into(), describe);
    let _ = writeln!(
        s,
        "\ncross-check: {} comparisons, {failed} outside tolerance; worst gap {worst}",
        rows.len()
    );
    if hw.name == "eyeriss-v1" {
        let _ = writeln!(s, "\nper layer on {} (simulated):", hw.name);
        s += &chip::per_layer_table(
            sim,
            hw.clock.core_mhz,
            hw.pe.word_bits,
            hw.array.rows * hw.array.cols,
        );
    }
    let is_chip_run = net.name == "alexnet" && hw.name == "eyeriss-v1" && net.batch == 4;
    if is_chip_run {
        if let Some(chip_rows) = chip::compare_alexnet(sim, hw.clock.core_mhz, hw.pe.word_bits) {
            chip_section(&mut s, "AlexNet CONV1-5, batch 4", &chip_rows);
        }
        if runs_the_chips_mappings(sim) {
            let per_layer =
                chip::compare_alexnet_per_layer(sim, hw.clock.core_mhz, hw.pe.word_bits);
            if let Some(rows) = per_layer {
                chip_section(&mut s, "per layer, the chip's own mappings", &rows);
            }
        }
    }
    s
}

/// Whether CONV1–5 ran under Table III's mappings (`--mapping chip`): only
/// then is Table V's per-layer comparison like for like.
fn runs_the_chips_mappings(sim: &[LayerResult]) -> bool {
    let Some(set) = crate::mapping::builtin_mappings("chip") else {
        return false;
    };
    let all = set.layers().all(|layer| {
        sim.iter()
            .any(|r| r.layer == layer && r.mapping.as_ref() == set.get(layer))
    });
    all
}

fn energy_section(s: &mut String, analytic: &[LayerResult], sim: &[LayerResult], unit: &str) {
    let total = |rs: &[LayerResult]| rs.iter().map(|r| r.energy.total()).sum::<f64>();
    let (ta, ts) = (total(analytic), total(sim));
    let _ = writeln!(
        s,
        "\nenergy ({unit}): simulated {ts:.4e}, analytic {ta:.4e}"
    );
    let _ = write!(s, "  by level:");
    for level in [Level::Dram, Level::Glb, Level::Noc, Level::Rf, Level::Alu] {
        let e: f64 = sim.iter().map(|r| r.energy.level(level)).sum();
        let _ = write!(
            s,
            "  {} {:.1}%",
            level.name(),
            100.0 * e / ts.max(f64::MIN_POSITIVE)
        );
    }
    let _ = write!(s, "\n  by data type:");
    for t in TENSORS {
        let e: f64 = sim.iter().map(|r| r.energy.tensor(t)).sum();
        let _ = write!(
            s,
            "  {} {:.1}%",
            t.name(),
            100.0 * e / ts.max(f64::MIN_POSITIVE)
        );
    }
    let mut by_energy: Vec<&LayerResult> = sim.iter().collect();
    by_energy.sort_by(|a, b| b.energy.total().total_cmp(&a.energy.total()));
    let _ = write!(s, "\n  top layers:");
    for r in by_energy.iter().take(3) {
        let share = 100.0 * r.energy.total() / ts.max(f64::MIN_POSITIVE);
        let _ = write!(s, "  {} {share:.1}%", r.layer);
    }
    let movement: f64 = sim.iter().map(|r| r.energy.movement()).sum();
    let _ = writeln!(
        s,
        "\n  data movement is {:.1}x the MAC energy",
        movement
            / sim
                .iter()
                .map(|r| r.energy.alu)
                .sum::<f64>()
                .max(f64::MIN_POSITIVE)
    );
}

fn latency_section(s: &mut String, sim: &[LayerResult], hw: &HwConfig) {
    let ms = |c: u64| c as f64 / (hw.clock.core_mhz * 1e3);
    let cycles: u64 = sim.iter().map(|r| r.cycles).sum();
    let processing: u64 = sim.iter().map(|r| r.processing_cycles).sum();
    let _ = writeln!(
        s,
        "\nlatency at {} MHz: {:.2} ms with DRAM serialized as on the chip, {:.2} ms processing (DRAM hidden)",
        hw.clock.core_mhz,
        ms(cycles),
        ms(processing)
    );
}

fn chip_section(s: &mut String, what: &str, rows: &[chip::ChipRow]) {
    let _ = writeln!(s, "\nagainst the Eyeriss chip (JSSC 2017, {what}):");
    let _ = writeln!(
        s,
        "  {:<24} {:>10} {:>10} {:>8} {:>6}",
        "", "simulated", "chip", "diff", ""
    );
    for r in rows {
        let verdict = if r.passes() { "ok" } else { "MISS" };
        let _ = writeln!(
            s,
            "  {:<24} {:>10.2} {:>10.2} {:>+7.1}% {:>6}   (±{:.0}%)",
            r.what,
            r.model,
            r.chip,
            100.0 * r.rel_diff(),
            verdict,
            100.0 * r.tolerance
        );
    }
}
