//! `eyesim bench simulate`: wall time, simulated MACs/s and cycles/s of
//! the cycle-level simulator with functional outputs (data generated and
//! every ofmap checked against the reference), and peak memory.

use super::common::HwArg;
use crate::workload;
use anyhow::Context;
use std::time::{Duration, Instant};

/// Arguments of `eyesim bench simulate`.
#[derive(clap::Args)]
pub struct SimulateBench {
    /// Network (built-in name or trace file).
    #[arg(long, default_value = "alexnet")]
    net: String,
    #[command(flatten)]
    hw: HwArg,
    /// Layers to simulate, comma-separated (default: AlexNet's CONV1-5, or
    /// every PE-array layer of another network, e.g. `--net vgg16` for the
    /// whole VGG-16 at batch 3).
    #[arg(long, value_delimiter = ',')]
    layers: Vec<String>,
    /// Images per batch (default: the network's).
    #[arg(long, value_name = "N")]
    batch: Option<u32>,
    /// Timed runs; the table shows the fastest and the median.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Simulate every pass in time (no timing reuse, docs/engine.md).
    #[arg(long)]
    time_every_pass: bool,
}

/// Peak resident set size of this process in KiB (Linux), if known.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `eyesim bench simulate`.
pub fn run(b: SimulateBench) -> anyhow::Result<()> {
    use crate::engine::{simulate_network, NetworkOptions};
    use crate::mapping::{self, Objective};
    use crate::workload::LayerWork;
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; measure with `cargo run --release -- bench simulate`");
    }
    let hw = b.hw.load()?;
    let mut net = workload::load(&b.net).with_context(|| format!("loading network `{}`", b.net))?;
    if let Some(n) = b.batch {
        net.batch = n.max(1);
    }
    let names: Vec<String> = match (b.layers.is_empty(), net.name.as_str()) {
        (false, _) => b.layers.clone(),
        (true, "alexnet") => (1..=5).map(|i| format!("conv{i}")).collect(),
        (true, _) => net
            .layers
            .iter()
            .filter(|l| matches!(LayerWork::of(l, net.batch), LayerWork::Array(_)))
            .map(|l| l.name.clone())
            .collect(),
    };
    let mut mappings = vec![None; net.layers.len()];
    let mut layers = Vec::new();
    let mut convs = Vec::new();
    for name in &names {
        let i = net
            .layers
            .iter()
            .position(|l| &l.name == name)
            .with_context(|| format!("network `{}` has no layer `{name}`", net.name))?;
        if let LayerWork::Array(p) = LayerWork::of(&net.layers[i], net.batch) {
            if p.op.has_weights() {
                convs.push(p);
            }
            mappings[i] = Some(
                mapping::search(&p, &hw, Objective::Energy)
                    .with_context(|| format!("mapping layer `{name}`"))?,
            );
        }
        layers.push(i);
    }
    let threads = if b.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        b.threads
    };
    let opts = NetworkOptions {
        layers,
        seed: 1,
        weights: None,
        threads,
        trace: false,
        check: true,
        fault: None,
        max_memory: None,
        cancel: super::host::cancel(),
        // Each repeat must simulate, not recall the first run.
        memo: None,
        time_every_pass: b.time_every_pass,
    };
    let mut times: Vec<Duration> = Vec::new();
    let (mut macs, mut performed, mut cycles, mut events) = (0u64, 0u64, 0u64, 0u64);
    let (mut passes, mut replayed) = (0u64, 0u64);
    for _ in 0..b.repeat.max(1) {
        let start = Instant::now();
        let res = simulate_network(&net, &hw, &mappings, &opts)
            .with_context(|| format!("simulating `{}`", net.name))?;
        times.push(start.elapsed());
        macs = res.iter().map(|r| r.row.counts.macs.algorithmic).sum();
        performed = res.iter().map(|r| r.row.counts.macs.performed).sum();
        cycles = res.iter().map(|r| r.row.cycles).sum();
        events = res.iter().map(|r| r.sim.stats.events).sum();
        passes = res.iter().map(|r| r.sim.stats.passes).sum();
        replayed = res.iter().map(|r| r.sim.stats.replayed_passes).sum();
    }
    times.sort();
    let best = times[0].as_secs_f64();
    sayln!(
        "{} {} on {}, batch {}, {} threads, data generated + checked against the reference",
        net.name,
        if names.len() > 6 {
            format!("{} layers", names.len())
        } else {
            names.join(",")
        },
        hw.name,
        net.batch,
        threads
    );
    sayln!(
        "{:>9} {:>10} {:>12} {:>14} {:>13} {:>12} {:>10}",
        "min s",
        "median s",
        "MMAC/s",
        "perf. MMAC/s",
        "Mcycles/s",
        "Mevents/s",
        "peak MiB"
    );
    sayln!(
        "{:>9.2} {:>10.2} {:>12.1} {:>14.1} {:>13.2} {:>12.2} {:>10}",
        best,
        times[times.len() / 2].as_secs_f64(),
        macs as f64 / best / 1e6,
        performed as f64 / best / 1e6,
        cycles as f64 / best / 1e6,
        events as f64 / best / 1e6,
        peak_rss_kib().map_or("?".into(), |k| (k / 1024).to_string())
    );
    sayln!(
        "passes: {passes}, of which {replayed} took the timing of an identical pass the layer \
         had timed (their data moved all the same; --time-every-pass times them all)"
    );
    // The machine's limit, measured now: the same MACs as dense GEMMs.
    let (gemm, gemm_macs) = super::bench_gemm::gemm_limit(&convs, threads);
    let gemm = gemm.as_secs_f64();
    sayln!(
        "GEMM limit: a dense f32 GEMM of the same {:.2} G MACs (im2col shapes, im2col itself not timed; nalgebra) takes {gemm:.3} s \
         on {threads} threads ({:.1} G MAC/s); eyesim takes {:.1}x that",
        gemm_macs as f64 / 1e9,
        gemm_macs as f64 / gemm / 1e9,
        best / gemm
    );
    Ok(())
}
