//! `eyesim bench prune`: the paper's method on the shipped trained network
//! (every layer, restoration, validation accuracy; no fine-tuning, no
//! cycle-level check, no files), timed per criterion.

use super::model_data::load_image_pair;
use crate::prune::{self, Criterion, MethodOptions, Split};
use anyhow::Context;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Arguments of `eyesim bench prune`.
#[derive(clap::Args)]
pub struct PruneBench {
    /// The model (its v5k validation images beside it are used).
    #[arg(long, default_value = "traces/fmnist/fmnist-cnn.onnx")]
    net: PathBuf,
    /// Criteria to time, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "energy-aware", value_parser = |s: &str| s.parse::<Criterion>())]
    criteria: Vec<Criterion>,
    /// Timed runs per criterion; the table shows the fastest and the median.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

/// Runs the benchmark.
pub fn run(b: PruneBench) -> anyhow::Result<()> {
    let model = crate::onnx::import_model(&b.net)
        .with_context(|| format!("importing {}", b.net.display()))?;
    let dir = b.net.parent().unwrap_or(std::path::Path::new("."));
    let images = load_image_pair(
        &dir.join("v5k-images-idx3-ubyte.gz"),
        &dir.join("v5k-labels-idx1-ubyte.gz"),
        &model.network,
    )?;
    let calib = 1000.min(images.count / 5);
    let at = calib as usize * images.per_image;
    let split = |from: usize, to: usize, l0: usize, l1: usize, n: u32| Split {
        images: &images.values[from..to],
        labels: &images.labels[l0..l1],
        count: n,
    };
    let c = split(0, at, 0, calib as usize, calib);
    let v = split(
        at,
        images.values.len(),
        calib as usize,
        images.labels.len(),
        images.count - calib,
    );
    let threads = if b.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        b.threads
    };
    let hw = prune::with_weight_compression(&crate::hw::load("eyeriss-v1")?).0;
    sayln!(
        "{:<13} {:>9} {:>10} {:>6}   {} calibration + {} validation images, {threads} threads",
        "criterion",
        "min s",
        "median s",
        "runs",
        c.count,
        v.count
    );
    for &criterion in &b.criteria {
        let opts = MethodOptions {
            criterion,
            budget: 1.0,
            ridge: 1e-3,
            hw: hw.clone(),
            objective: crate::mapping::Objective::Energy,
            batch: 4,
            threads,
            cancel: Default::default(),
        };
        let mut times: Vec<Duration> = Vec::new();
        for _ in 0..b.repeat.max(1) {
            let t = Instant::now();
            let run = prune::prune_model(&model, c, v, &opts)?;
            times.push(t.elapsed());
            std::hint::black_box(run.reduction());
        }
        times.sort();
        sayln!(
            "{:<13} {:>9.2} {:>10.2} {:>6}",
            criterion.name(),
            times[0].as_secs_f64(),
            times[times.len() / 2].as_secs_f64(),
            times.len()
        );
    }
    Ok(())
}
