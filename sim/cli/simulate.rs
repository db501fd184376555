//! `eyesim simulate`: map the selected layers exactly as `estimate` does,
//! run them through the cycle-level simulator on real data (checked bit for
//! bit against the reference), print a table and write accesses.csv,
//! layers.csv, components.csv and optionally a Chrome/Perfetto event trace.

use super::common::{HwArg, NetArg};
use anyhow::{bail, Context};
use eyesim::engine::{self, LayerSim, NetworkOptions};
use eyesim::hw::HwConfig;
use eyesim::mapping::{self, MappingSet, Objective, RowStationaryMapping};
use eyesim::stats::{self, LayerResult, Level};
use eyesim::workload::{LayerWork, Network};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Largest event trace `--trace` writes, in bytes.
const TRACE_LIMIT_BYTES: u64 = 200 * 1000 * 1000;

/// Arguments of `eyesim simulate`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    net: NetArg,
    #[command(flatten)]
    hw: HwArg,
    /// Output directory (default: results/<net>-<hw>-sim/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// What the mapper minimizes (as for `estimate`): energy, cycles or edp.
    #[arg(long, default_value = "energy", value_parser = parse_objective)]
    objective: Objective,
    /// Images per batch (default: the network's).
    #[arg(long, value_name = "N")]
    batch: Option<u32>,
    /// Ignore all sparsity (every weight non-zero, no zero activations).
    #[arg(long)]
    dense: bool,
    /// Pin mappings from a mappings.toml; layers not in it are searched.
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// Comma-separated layer names to simulate (default: all).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    layers: Vec<String>,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Read real data from DIR/<layer>.{ifmap,weights,bias}.npy instead.
    #[arg(long, value_name = "DIR")]
    weights: Option<PathBuf>,
    /// Write a Chrome/Perfetto trace (open in ui.perfetto.dev).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Worker threads (default: all cores). Results never depend on it.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

fn parse_objective(s: &str) -> Result<Objective, String> {
    s.parse()
}

/// Runs `eyesim simulate`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut net = args.net.load()?;
    if args.dense {
        net = net.densified();
    }
    if let Some(b) = args.batch {
        if b == 0 {
            bail!("--batch must be at least 1");
        }
        net.batch = b;
    }
    let hw = args.hw.load()?;
    let selected = select_layers(&net, &args.layers)?;
    let pinned = match &args.mapping {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            MappingSet::from_toml_str(&text, &path.display().to_string())?
        }
        None => MappingSet::new(),
    };
    let mappings = choose_mappings(&net, &hw, &selected, &pinned, args.objective)?;
    if args.trace.is_some() {
        check_trace_size(&net, &selected, &mappings)?;
    }
    let opts = NetworkOptions {
        layers: selected,
        seed: args.seed,
        weights: args.weights.clone(),
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        trace: args.trace.is_some(),
        check: true,
    };
    let sims = engine::simulate_network(&net, &hw, &mappings, &opts)
        .with_context(|| format!("simulating `{}` on `{}`", net.name, hw.name))?;
    let rows: Vec<LayerResult> = sims.iter().map(|s| s.row.clone()).collect();
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("results/{}-{}-sim", net.name, hw.name)));
    write_outputs(&out, &rows, &hw)?;
    let comps: Vec<(&str, &engine::ComponentStats)> = sims
        .iter()
        .map(|s| (s.row.layer.as_str(), &s.sim.stats))
        .collect();
    let path = out.join("components.csv");
    stats::write_atomic(&path, &engine::components_csv(&comps))
        .with_context(|| format!("writing {}", path.display()))?;
    if let Some(path) = &args.trace {
        write_trace(path, &sims, &hw)?;
    }
    print!("{}", table(&sims, &hw));
    println!(
        "wrote {}/{{accesses.csv,layers.csv,components.csv}}",
        out.display()
    );
    Ok(())
}

/// Layer indices named by `--layers` (all when empty), in network order.
fn select_layers(net: &Network, names: &[String]) -> anyhow::Result<Vec<usize>> {
    if names.is_empty() {
        return Ok((0..net.layers.len()).collect());
    }
    let mut out = Vec::new();
    for name in names {
        let Some(i) = net.layers.iter().position(|l| &l.name == name) else {
            let best = net
                .layers
                .iter()
                .map(|l| (strsim::jaro_winkler(&l.name, name), &l.name))
                .max_by(|a, b| a.0.total_cmp(&b.0));
            let hint = best.map_or(String::new(), |(_, n)| format!(" (did you mean `{n}`?)"));
            bail!(
                "--layers: network `{}` has no layer `{name}`{hint}",
                net.name
            );
        };
        out.push(i);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Mapping of every selected array layer: pinned, else searched.
fn choose_mappings(
    net: &Network,
    hw: &HwConfig,
    selected: &[usize],
    pinned: &MappingSet,
    objective: Objective,
) -> anyhow::Result<Vec<Option<RowStationaryMapping>>> {
    let mut out = vec![None; net.layers.len()];
    for &i in selected {
        let layer = &net.layers[i];
        let LayerWork::Array(prob) = LayerWork::of(layer, net.batch) else {
            continue;
        };
        let m = match pinned.get(&layer.name) {
            Some(m) => {
                mapping::check(m, &prob, hw)
                    .with_context(|| format!("pinned mapping of layer `{}`", layer.name))?;
                *m
            }
            None => mapping::search(&prob, hw, objective)
                .with_context(|| format!("mapping layer `{}`", layer.name))?,
        };
        out[i] = Some(m);
    }
    Ok(out)
}

/// Refuses, before simulating, a trace that would exceed the size limit.
fn check_trace_size(
    net: &Network,
    selected: &[usize],
    mappings: &[Option<RowStationaryMapping>],
) -> anyhow::Result<()> {
    let mut bytes = 0u64;
    for &i in selected {
        if let (LayerWork::Array(prob), Some(m)) =
            (LayerWork::of(&net.layers[i], net.batch), mappings[i])
        {
            bytes += engine::span_bound(&prob, &m) * engine::BYTES_PER_SPAN;
        }
    }
    if bytes > TRACE_LIMIT_BYTES {
        let fewer = match selected {
            [first, _, ..] => format!(
                "trace fewer layers (e.g. --layers {}) or ",
                net.layers[*first].name
            ),
            _ => String::new(),
        };
        bail!(
            "the event trace could reach {} MB, over the {} MB limit; {fewer}use a smaller \
             batch (e.g. --batch 1)",
            bytes / 1_000_000,
            TRACE_LIMIT_BYTES / 1_000_000,
        );
    }
    Ok(())
}

fn write_outputs(dir: &Path, rows: &[LayerResult], hw: &HwConfig) -> anyhow::Result<()> {
    let unit = hw.energy.unit;
    let files: [(&str, Vec<u8>); 2] = [
        ("accesses.csv", stats::csv::accesses_csv(rows, unit)),
        (
            "layers.csv",
            stats::csv::layers_csv(rows, unit, hw.clock.core_mhz),
        ),
    ];
    for (name, bytes) in files {
        let path = dir.join(name);
        stats::write_atomic(&path, &bytes)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn write_trace(path: &Path, sims: &[LayerSim], hw: &HwConfig) -> anyhow::Result<()> {
    let layers: Vec<(&str, &[engine::TraceSpan])> = sims
        .iter()
        .map(|s| (s.row.layer.as_str(), s.sim.trace.as_deref().unwrap_or(&[])))
        .collect();
    let json = engine::chrome_trace(&layers, hw.clock.core_mhz);
    let bytes = serde_json::to_vec(&json).context("encoding the trace")?;
    stats::write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    println!("wrote trace {} ({} kB)", path.display(), bytes.len() / 1000);
    Ok(())
}

fn table(sims: &[LayerSim], hw: &HwConfig) -> String {
    let ms = |c: u64| c as f64 / hw.clock.core_mhz / 1000.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<12} {:<34} {:>4} {:>11} {:>11} {:>9} {:>9} {:>12} {:>12} {:>6}",
        "layer",
        "mapping",
        "PEs",
        "cycles",
        "proc_cycles",
        "lat_ms",
        "proc_ms",
        "dram_words",
        "glb_words",
        "util"
    );
    for x in sims {
        let r = &x.row;
        let _ = writeln!(
            s,
            "{:<12} {:<34} {:>4} {:>11} {:>11} {:>9.3} {:>9.3} {:>12} {:>12} {:>6.3}",
            r.layer,
            r.mapping.map_or_else(|| "-".into(), |m| m.summary()),
            r.active_pes,
            r.cycles,
            r.processing_cycles,
            ms(r.cycles),
            ms(r.processing_cycles),
            r.counts.level_total(Level::Dram),
            r.counts.level_total(Level::Glb),
            x.sim.stats.pe.utilization
        );
    }
    let cycles: u64 = sims.iter().map(|x| x.row.cycles).sum();
    let proc: u64 = sims.iter().map(|x| x.row.processing_cycles).sum();
    let _ = writeln!(
        s,
        "total: {:.3} ms ({:.3} ms processing), all ofmaps equal the reference",
        ms(cycles),
        ms(proc)
    );
    s
}
