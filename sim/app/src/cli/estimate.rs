//! `eyesim estimate`: map every layer, evaluate it with the analytic model,
//! print a per-layer table and write accesses.csv, layers.csv and
//! mappings.toml.

use super::common::{write_files, write_result_csvs, ModelArgs};
use crate::analytic::estimate_network;
use crate::hw::HwConfig;
use crate::mapping::MappingSet;
use crate::stats::{LayerResult, Level};
use crate::workload::{LayerWork, Network};
use anyhow::Context;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Arguments of `eyesim estimate`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Output directory (default: results/<net>-<hw>/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Also list layers by energy, next to their weight and MAC ranks
    /// (the order in which energy-aware pruning visits them).
    #[arg(long)]
    rank: bool,
}

/// Runs `eyesim estimate`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (net, hw, opts) = args.model.load()?;
    let out = args.model.out_dir(&args.out, "", &net, &hw);
    super::args::check_out_dir(&out)?;
    let results = estimate_network(&net, &hw, &opts)
        .with_context(|| format!("estimating `{}` on `{}`", net.name, hw.name))?;
    write_outputs(&out, &results, &hw)?;
    say!("{}", table(&results, &hw, &net));
    if args.rank {
        say!("{}", rank_table(&results));
    }
    sayln!(
        "wrote {}/{{accesses.csv,layers.csv,mappings.toml}}",
        out.display()
    );
    Ok(())
}

/// Writes accesses.csv, layers.csv and mappings.toml atomically.
pub fn write_outputs(
    dir: &std::path::Path,
    results: &[LayerResult],
    hw: &HwConfig,
) -> anyhow::Result<()> {
    let mut set = MappingSet::new();
    for r in results {
        if let Some(m) = r.mapping {
            set.insert(&r.layer, m);
        }
    }
    write_result_csvs(dir, results, hw)?;
    write_files(dir, vec![("mappings.toml", set.to_toml().into_bytes())])
}

/// The footnote of a layer table with a folded or segmented mapping.
const BEYOND_CHIP: &str =
    "* folded (fr) or segmented (fs) filter rows: beyond what the Eyeriss chip runs; evaluated anyway";
/// The footnote of a layer table with a mapping in column tiles.
const COLUMN_TILES: &str =
    "* column tiles (fw): not described for the Eyeriss chip; evaluated anyway";

/// The footnotes for the mappings a table marked by [`flagged`], one line each.
pub(crate) fn beyond_chip_notes(
    mappings: impl Iterator<Item = crate::mapping::RowStationaryMapping>,
) -> String {
    let (mut folds, mut tiles) = (false, false);
    for m in mappings {
        folds |= m.fr > 1 || m.fs > 1;
        tiles |= m.fw > 1;
    }
    let notes = [(folds, BEYOND_CHIP), (tiles, COLUMN_TILES)];
    notes
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| format!("{n}\n"))
        .collect()
}

/// A mapping's summary, marked `*` when the fabricated chip could not run it.
pub(crate) fn flagged(m: crate::mapping::RowStationaryMapping) -> String {
    match m.beyond_chip() {
        Some(_) => format!("{} *", m.summary()),
        None => m.summary(),
    }
}

fn table(results: &[LayerResult], hw: &HwConfig, net: &Network) -> String {
    let total: f64 = results.iter().map(|r| r.energy.total()).sum();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<14} {:<34} {:>4} {:>11} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8} {:>6}",
        "layer",
        "mapping",
        "PEs",
        "cycles",
        "dram",
        "glb",
        "noc",
        "rf",
        "alu",
        "total",
        "E/MAC",
        "share"
    );
    let levels = [Level::Dram, Level::Glb, Level::Noc, Level::Rf, Level::Alu];
    let mut sums = [0.0; 5];
    let (mut cycles, mut macs) = (0u64, 0u64);
    for r in results {
        // Layers off the array say where they run instead of a mapping.
        let placement = || {
            net.layer(&r.layer)
                .map_or("-", |l| LayerWork::of(l, net.batch).placement().label())
        };
        let mapping = r.mapping.map_or_else(|| placement().to_string(), flagged);
        let e = r.energy.total();
        let m = r.counts.macs.algorithmic;
        let per_mac = if m == 0 { 0.0 } else { e / m as f64 };
        let _ = write!(
            s,
            "{:<14} {:<34} {:>4} {:>11}",
            r.layer, mapping, r.active_pes, r.cycles
        );
        for (k, l) in levels.iter().enumerate() {
            sums[k] += r.energy.level(*l);
            let _ = write!(s, " {:>10.4e}", r.energy.level(*l));
        }
        let share = if total > 0.0 { 100.0 * e / total } else { 0.0 };
        let _ = writeln!(s, " {:>10.4e} {:>8.3} {:>5.1}%", e, per_mac, share);
        cycles += r.cycles;
        macs += m;
    }
    let _ = write!(s, "{:<14} {:<34} {:>4} {:>11}", "total", "", "", cycles);
    for v in sums {
        let _ = write!(s, " {v:>10.4e}");
    }
    let per_mac = if macs == 0 { 0.0 } else { total / macs as f64 };
    let _ = writeln!(s, " {:>10.4e} {:>8.3} {:>5.1}%", total, per_mac, 100.0);
    // The chip's own limits stay visible: such mappings are evaluated, and flagged.
    s.push_str(&beyond_chip_notes(results.iter().filter_map(|r| r.mapping)));
    let ms = cycles as f64 / hw.clock.core_mhz / 1000.0;
    let _ = writeln!(
        s,
        "energy unit: {}; latency {:.3} ms at {} MHz",
        hw.energy.unit.label(),
        ms,
        hw.clock.core_mhz
    );
    let host = net.host_work(net.batch);
    if host.layers > 0 {
        let _ = writeln!(
            s,
            "host: {} layers run off the accelerator and are not in these totals: {} values \
             read, {} written, {} operations (batch {})",
            host.layers, host.reads, host.writes, host.ops, net.batch
        );
    }
    s
}

/// Layers by energy (most first), with their ranks by weights and MACs.
fn rank_table(results: &[LayerResult]) -> String {
    let rank_by = |key: &dyn Fn(&LayerResult) -> f64| -> Vec<usize> {
        let mut idx: Vec<usize> = (0..results.len()).collect();
        idx.sort_by(|&a, &b| {
            key(&results[b])
                .total_cmp(&key(&results[a]))
                .then(a.cmp(&b))
        });
        let mut rank = vec![0; results.len()];
        for (k, &i) in idx.iter().enumerate() {
            rank[i] = k + 1;
        }
        rank
    };
    let by_energy = rank_by(&|r| r.energy.total());
    let by_weights = rank_by(&|r| r.weights as f64);
    let by_macs = rank_by(&|r| r.counts.macs.algorithmic as f64);
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by_key(|&i| by_energy[i]);
    let mut s = String::from("\nlayers by energy (energy-aware pruning order):\n");
    let _ = writeln!(
        s,
        "{:>4} {:<14} {:>12} {:>12} {:>6} {:>14} {:>6}",
        "rank", "layer", "energy", "weights", "w.rank", "macs", "m.rank"
    );
    for i in order {
        let r = &results[i];
        let _ = writeln!(
            s,
            "{:>4} {:<14} {:>12.4e} {:>12} {:>6} {:>14} {:>6}",
            by_energy[i],
            r.layer,
            r.energy.total(),
            r.weights,
            by_weights[i],
            r.counts.macs.algorithmic,
            by_macs[i]
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::beyond_chip_notes;
    use crate::mapping::RowStationaryMapping;

    /// The chip's CONV1 mapping with folds, segments and column tiles set.
    fn mapping(fr: u32, fs: u32, fw: u32) -> RowStationaryMapping {
        let chip = crate::mapping::builtin_mappings("chip").expect("shipped");
        let conv1 = *chip.get("conv1").expect("Table III has CONV1");
        RowStationaryMapping {
            fr,
            fs,
            fw,
            ..conv1
        }
    }

    #[test]
    fn footnotes_name_what_the_chip_cannot_run_once_each() {
        let folds = "* folded (fr) or segmented (fs) filter rows: beyond what the Eyeriss chip runs; evaluated anyway\n";
        let tiles = "* column tiles (fw): not described for the Eyeriss chip; evaluated anyway\n";
        let notes = |ms: &[RowStationaryMapping]| beyond_chip_notes(ms.iter().copied());
        assert_eq!(notes(&[mapping(1, 1, 1)]), "");
        assert_eq!(notes(&[mapping(2, 1, 1), mapping(1, 3, 1)]), folds);
        assert_eq!(notes(&[mapping(1, 1, 2)]), tiles);
        assert_eq!(
            notes(&[mapping(1, 1, 2), mapping(1, 2, 1)]),
            format!("{folds}{tiles}")
        );
    }
}
