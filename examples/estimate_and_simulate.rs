//! eyesim from Rust: map one layer, estimate it with the analytic model,
//! simulate it cycle by cycle on real data, and compare the two.
//!
//! ```sh
//! cargo run --release --example estimate_and_simulate            # AlexNet conv3
//! cargo run --release --example estimate_and_simulate -- conv1   # any layer
//! ```

use eyesim::workload::LayerWork;
use eyesim::{analytic, data, engine, hw, mapping, stats, workload};

fn main() -> anyhow::Result<()> {
    let layer_name = std::env::args().nth(1).unwrap_or_else(|| "conv3".into());
    let net = workload::load("alexnet")?;
    let hw = hw::load("eyeriss-v1")?;
    let layer = net
        .layer(&layer_name)
        .ok_or_else(|| anyhow::anyhow!("AlexNet has no layer `{layer_name}`"))?;
    let LayerWork::Array(prob) = LayerWork::of(layer, net.batch) else {
        anyhow::bail!("`{layer_name}` does not run on the PE array");
    };
    // Dense data, so that the two models must agree exactly.
    let prob = prob.dense();

    let mapping = mapping::search(&prob, &hw, mapping::Objective::Energy)?;
    let estimate = analytic::estimate_layer(&prob, &mapping, &hw);

    let layer_data = data::generate(&prob, 1);
    let options = engine::SimOptions {
        layer: layer_name.clone(),
        ..Default::default()
    };
    // Checks every ofmap value bit for bit against the reference convolution.
    let simulated = engine::simulate_layer(&prob, &mapping, &hw, &layer_data, &options)?;

    println!("{layer_name} on {}: mapping {mapping}", hw.name);
    println!(
        "{:<8} {:<7} {:>14} {:>14}",
        "level", "tensor", "analytic", "simulated"
    );
    for level in stats::LEVELS {
        for tensor in stats::TENSORS {
            let (a, s) = (
                estimate.counts.get(level, tensor),
                simulated.counts.get(level, tensor),
            );
            let (l, t) = (level.name(), tensor.name());
            println!("{l:<8} {t:<7} {:>14} {:>14}", a.total(), s.total());
            assert_eq!(a, s, "dense counts agree exactly");
        }
    }
    println!(
        "cycles: analytic {}, simulated {} ({:+.1}%)",
        estimate.cycles,
        simulated.cycles,
        100.0 * (estimate.cycles as f64 / simulated.cycles as f64 - 1.0)
    );
    Ok(())
}
