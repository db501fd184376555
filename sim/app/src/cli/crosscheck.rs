//! `eyesim crosscheck`: the analytic model against the simulator, on the
//! same mappings, level by level; exits non-zero when a gap exceeds its
//! tolerance.

use super::common::{layer_progress, write_files, ModelArgs, SimDataArgs};
use crate::crosscheck::{self, BothOptions, BothResults, Comparison, Tolerances};
use anyhow::Context;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Arguments of `eyesim crosscheck`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    data: SimDataArgs,
    #[command(flatten)]
    tol: ToleranceArgs,
    /// Output directory (default: results/crosscheck-<net>-<hw>/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// The agreement thresholds, as relative differences.
#[derive(clap::Args, Clone, Copy)]
pub struct ToleranceArgs {
    /// Access and MAC counts of layers with sparse data (expected zeros vs
    /// actual zeros), and their energy.
    #[arg(long, default_value_t = 0.05, value_name = "REL", value_parser = super::args::parse_tolerance)]
    tolerance: f64,
    /// Access and MAC counts of dense layers (0: they must agree exactly).
    #[arg(long, default_value_t = 0.0, value_name = "REL", value_parser = super::args::parse_tolerance)]
    dense_tolerance: f64,
    /// Cycles and processing cycles (analytic timing vs simulated contention).
    #[arg(long, default_value_t = 0.10, value_name = "REL", value_parser = super::args::parse_tolerance)]
    cycle_tolerance: f64,
}

impl ToleranceArgs {
    fn tolerances(&self) -> Tolerances {
        Tolerances {
            dense_counts: self.dense_tolerance,
            sparse_counts: self.tolerance,
            cycles: self.cycle_tolerance,
            energy: self.tolerance,
        }
    }
}

/// Runs `eyesim crosscheck`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (net, hw, estimate) = args.model.load()?;
    let out = args.model.out_dir(&args.out, "crosscheck-", &net, &hw);
    super::args::check_out_dir(&out)?;
    let both = run_models(&net, &hw, estimate, &args.data, args.quiet)?;
    let rows = compare_and_write(&both, &args.tol, &out)?;
    say!("{}", summary(&both.network.name, &rows));
    sayln!("wrote {}/{{crosscheck.csv,parity.svg}}", out.display());
    gate(&rows)
}

/// Runs both models with a per-layer progress bar.
pub(super) fn run_models(
    net: &crate::workload::Network,
    hw: &crate::hw::HwConfig,
    estimate: crate::analytic::EstimateOptions,
    data: &SimDataArgs,
    quiet: bool,
) -> anyhow::Result<BothResults> {
    let layers = data.select(net)?;
    let bar = layer_progress(layers.len(), quiet);
    bar.set_prefix("simulate");
    let opts = BothOptions {
        estimate,
        layers,
        seed: data.seed,
        weights: data.weights.clone(),
        threads: data.threads(),
        max_memory: data.max_memory()?,
        time_every_pass: data.time_every_pass,
        cancel: super::host::cancel(),
        ..BothOptions::default()
    };
    let names: Vec<&str> = net.layers.iter().map(|l| l.name.as_str()).collect();
    let both = crosscheck::run_both(net, hw, &opts, &|i| {
        bar.set_message(names[i].to_string());
        bar.inc(1);
    })
    .with_context(|| format!("running `{}` on `{}`", net.name, hw.name))?;
    bar.finish_and_clear();
    Ok(both)
}

/// Compares the two models and writes crosscheck.csv and parity.svg.
pub(super) fn compare_and_write(
    both: &BothResults,
    tol: &ToleranceArgs,
    out: &Path,
) -> anyhow::Result<Vec<Comparison>> {
    let sim = both.simulated_rows();
    let rows = crosscheck::compare(
        &both.analytic,
        &sim,
        |l| both.is_dense(l),
        &tol.tolerances(),
    )?;
    let title = format!("{}: analytic vs simulated counts", both.network.name);
    write_files(
        out,
        vec![
            (
                "crosscheck.csv",
                crosscheck::crosscheck_csv(&both.network.name, &rows),
            ),
            (
                "parity.svg",
                crosscheck::parity_svg(&title, &rows).into_bytes(),
            ),
        ],
    )?;
    Ok(rows)
}

/// Per-layer worst gaps and the overall verdict.
pub(super) fn summary(network: &str, rows: &[Comparison]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "cross-check of {network}: analytic vs simulated");
    let _ = writeln!(
        s,
        "{:<16} {:>6} {:>8} {:>8}   worst gap",
        "layer", "data", "compared", "failed"
    );
    let mut layers: Vec<&str> = rows.iter().map(|r| r.layer.as_str()).collect();
    layers.dedup();
    for layer in layers {
        let mine: Vec<&Comparison> = rows.iter().filter(|r| r.layer == layer).collect();
        let failed = mine.iter().filter(|r| !r.passes()).count();
        let owned: Vec<Comparison> = mine.iter().map(|r| (*r).clone()).collect();
        let worst = crosscheck::worst(&owned).map_or(String::new(), describe);
        let data = if mine[0].dense { "dense" } else { "sparse" };
        let _ = writeln!(
            s,
            "{layer:<16} {data:>6} {:>8} {failed:>8}   {worst}",
            mine.len()
        );
    }
    let failed = rows.iter().filter(|r| !r.passes()).count();
    let verdict = if failed == 0 { "PASS" } else { "FAIL" };
    let worst = crosscheck::worst(rows).map_or(String::new(), describe);
    let _ = writeln!(
        s,
        "{verdict}: {failed} of {} comparisons outside tolerance; worst {worst}",
        rows.len()
    );
    s
}

/// `level/tensor quantity: analytic → simulated (±x.xx%)`.
pub(super) fn describe(r: &Comparison) -> String {
    let rel = r.rel_diff();
    let pct = if rel.is_finite() {
        format!("{:+.2}%", 100.0 * rel)
    } else {
        "new".into()
    };
    format!(
        "{} {}/{} {}: {} → {} ({pct}, tolerance {:.1}%)",
        r.layer,
        r.level,
        r.tensor,
        r.quantity.name(),
        r.analytic,
        r.simulated,
        100.0 * r.tolerance
    )
}

/// Fails when any comparison is outside its tolerance.
pub(super) fn gate(rows: &[Comparison]) -> anyhow::Result<()> {
    let failed = rows.iter().filter(|r| !r.passes()).count();
    if failed > 0 {
        return Err(GateFailed { failed }.into());
    }
    Ok(())
}

/// A cross-check whose outputs were all written but where some comparison
/// is outside its tolerance (exit status 1). Hosts tell it apart from an
/// error that stopped the work.
#[derive(Debug, thiserror::Error)]
#[error("{failed} comparison(s) exceed their tolerance; see crosscheck.csv")]
pub struct GateFailed {
    /// Comparisons outside tolerance.
    pub failed: usize,
}
