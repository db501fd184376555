//! `eyesim simulate`: map the selected layers exactly as `estimate` does,
//! run them through the cycle-level simulator on real data (checked bit for
//! bit against the reference), print a table and write accesses.csv,
//! layers.csv, components.csv and optionally a Chrome/Perfetto event trace.

use super::common::{write_files, write_result_csvs, ModelArgs, SimDataArgs};
use crate::engine::{self, LayerSim, NetworkOptions};
use crate::hw::HwConfig;
use crate::mapping::{self, MappingSet, Objective, RowStationaryMapping};
use crate::stats::{self, LayerResult, Level};
use crate::workload::{LayerWork, Network};
use anyhow::{bail, Context};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Arguments of `eyesim simulate`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    data: SimDataArgs,
    /// Output directory (default: results/<net>-<hw>-sim/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Write a Chrome/Perfetto trace (open in ui.perfetto.dev).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Inject a fault into the N-th transfer (default 1) of one component
    /// in every simulated layer, to see the bit-exact check catch it.
    /// KIND: drop, dup, delay[=CYCLES] (default 64), tag (wrong tag: the
    /// GINs and the GON), flip[=BIT] (default 15). COMPONENT: filter-gin,
    /// ifmap-gin, psum-gin, gon, local-link, dram, rlc-decode. A data fault
    /// exits 1 naming the first wrong ofmap value; a delay exits 0 and
    /// prints the cycles with and without it.
    #[arg(long, value_name = "KIND:COMPONENT[:N]")]
    inject_fault: Option<engine::Fault>,
    /// Overwrite an existing --trace file.
    #[arg(long, requires = "trace")]
    force: bool,
}

/// Runs `eyesim simulate`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (net, hw, estimate) = args.model.load()?;
    let selected = args.data.select(&net)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| super::common::default_out_dir("", &net.name, &hw.name, "-sim"));
    super::args::check_out_dir(&out)?;
    if let Some(path) = &args.trace {
        super::args::refuse_overwrite(path, args.force)?;
        super::args::check_out_file(path)?;
    }
    let mappings = choose_mappings(&net, &hw, &selected, &estimate.pinned, estimate.objective)?;
    warn_if_long(&net, &selected, args.data.threads());
    let opts = NetworkOptions {
        layers: selected,
        seed: args.data.seed,
        weights: args.data.weights.clone().map(crate::io::npy_source),
        threads: args.data.threads(),
        trace: args.trace.is_some(),
        check: true,
        fault: args.inject_fault,
        max_memory: args.data.max_memory()?,
        cancel: super::host::cancel(),
        memo: None,
        time_every_pass: args.data.time_every_pass,
    };
    let bar = super::common::layer_progress(opts.layers.len(), false);
    bar.set_prefix("simulate");
    let names: Vec<&str> = net.layers.iter().map(|l| l.name.as_str()).collect();
    let sims = engine::simulate_network_with(&net, &hw, &mappings, &opts, &|i| {
        bar.set_message(names[i].to_string());
        bar.inc(1);
    })
    .with_context(|| format!("simulating `{}` on `{}`", net.name, hw.name))?;
    bar.finish_and_clear();
    if let Some(fault) = args.inject_fault {
        report_fault(&net, &hw, &mappings, &opts, fault, &sims)?;
    }
    let rows: Vec<LayerResult> = sims.iter().map(|s| s.row.clone()).collect();
    write_result_csvs(&out, &rows, &hw)?;
    let comps: Vec<(&str, &engine::ComponentStats)> = sims
        .iter()
        .map(|s| (s.row.layer.as_str(), &s.sim.stats))
        .collect();
    write_files(
        &out,
        vec![("components.csv", engine::components_csv(&comps))],
    )?;
    if let Some(path) = &args.trace {
        write_trace(path, &sims, &hw)?;
    }
    say!("{}", table(&sims, &hw));
    sayln!(
        "wrote {}/{{accesses.csv,layers.csv,components.csv}}",
        out.display()
    );
    Ok(())
}

/// After a run with a fault whose ofmaps still equal the reference: says
/// where it was applied and how it changed the timing (the layers are run
/// again without it to compare). A fault that no layer reached is an error.
fn report_fault(
    net: &Network,
    hw: &HwConfig,
    mappings: &[Option<RowStationaryMapping>],
    opts: &NetworkOptions,
    fault: engine::Fault,
    sims: &[LayerSim],
) -> anyhow::Result<()> {
    let applied: Vec<&LayerSim> = sims.iter().filter(|s| s.sim.fault.applied).collect();
    if applied.is_empty() {
        let most = sims
            .iter()
            .map(|s| s.sim.fault.transfers)
            .max()
            .unwrap_or(0);
        bail!(
            "--inject-fault {}:{}:{}: no layer has that many {} transfers (at most {most})",
            fault.kind,
            fault.site,
            fault.nth,
            fault.site
        );
    }
    let clean = NetworkOptions {
        fault: None,
        trace: false,
        ..opts.clone()
    };
    let base = engine::simulate_network(net, hw, mappings, &clean)
        .context("simulating again without the fault")?;
    for (s, b) in sims.iter().zip(&base) {
        if s.sim.fault.applied {
            sayln!(
                "fault {}:{}:{} in layer {}: ofmap equals the reference; cycles {} with the \
                 fault, {} without ({:+}), processing cycles {} and {}",
                fault.kind,
                fault.site,
                fault.nth,
                s.row.layer,
                s.row.cycles,
                b.row.cycles,
                s.row.cycles as i64 - b.row.cycles as i64,
                s.row.processing_cycles,
                b.row.processing_cycles
            );
        }
    }
    Ok(())
}

/// Algorithmic MACs the simulator executes per second and thread, roughly
/// (`eyesim bench simulate`: AlexNet CONV1–5, 2.66 G MACs in 2.4 s on 2
/// threads). Only for the warning below, never for a result.
const MACS_PER_SECOND_PER_THREAD: f64 = 0.5e9;

/// Warns on stderr before a run that will take more than five minutes.
fn warn_if_long(net: &Network, selected: &[usize], threads: usize) {
    let macs: u64 = selected
        .iter()
        .filter_map(|&i| match LayerWork::of(&net.layers[i], net.batch) {
            LayerWork::Array(p) => Some(p.macs()),
            _ => None,
        })
        .sum();
    let parallel = threads.clamp(1, selected.len().max(1)) as f64;
    let seconds = macs as f64 / (MACS_PER_SECOND_PER_THREAD * parallel);
    if seconds > 300.0 {
        eprintln!(
            "warning: {:.1} G MACs to simulate cycle by cycle; expect about {:.0} minutes \
             (at roughly {:.1} G MACs/s per thread); --layers or a smaller --batch is faster",
            macs as f64 / 1e9,
            seconds / 60.0,
            MACS_PER_SECOND_PER_THREAD / 1e9
        );
    }
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

fn write_trace(path: &Path, sims: &[LayerSim], hw: &HwConfig) -> anyhow::Result<()> {
    let layers: Vec<(&str, &[engine::TraceSpan])> = sims
        .iter()
        .map(|s| (s.row.layer.as_str(), s.sim.trace.as_deref().unwrap_or(&[])))
        .collect();
    let mut bytes = 0;
    stats::write_atomic_with(path, &mut |w| {
        bytes = engine::write_chrome_trace(w, &layers, hw.clock.core_mhz)?;
        Ok(())
    })
    .with_context(|| format!("writing {}", path.display()))?;
    sayln!("wrote trace {} ({} kB)", path.display(), bytes / 1000);
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
            r.mapping
                .map_or_else(|| "-".into(), super::estimate::flagged),
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
    s.push_str(&super::estimate::beyond_chip_notes(
        sims.iter().filter_map(|x| x.row.mapping),
    ));
    s
}
