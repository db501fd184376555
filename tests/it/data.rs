//! Layer data through the public API: a small network from a trace gets
//! seeded data with its sparsity, the reference ofmaps reach the ofmap zero
//! fraction the trace asks for, and every ofmap stream survives RLC.

use eyesim::data::{self, rlc};
use eyesim::hw;
use eyesim::workload::{self, LayerWork};

const TRACE: &str = r#"
[network]
name = "small"
batch = 2
input = [3, 23, 23]

[[layer]]
name = "conv1"
kind = "conv"
filters = 16
kernel = 5
stride = 2
padding = 1
ofmap_zero_fraction = 0.5

[[layer]]
name = "pool1"
kind = "maxpool"
kernel = 3
stride = 2

[[layer]]
name = "conv2"
kind = "conv"
filters = 24
kernel = 3
padding = 1
groups = 2
ifmap_zero_fraction = 0.5
weight_density = 0.4
ofmap_zero_fraction = 0.7

[[layer]]
name = "gap"
kind = "avgpool"
global = true

[[layer]]
name = "fc"
kind = "fc"
outputs = 10
relu = false
"#;

#[test]
fn generated_layers_have_the_traces_statistics() {
    let net = workload::from_toml_str(TRACE, "small.toml").unwrap();
    let hw = hw::load("eyeriss-v1").unwrap();
    let fmt = hw.sparsity.rlc.expect("eyeriss-v1 codes feature maps");
    let shift = hw.pe.product_shift;
    for (layer, work) in net.layers.iter().zip(net.works(net.batch)) {
        let LayerWork::Array(prob) = work else {
            // Global pooling runs on the GLB-side datapath, not the array.
            assert!(
                matches!(work, LayerWork::GlobalPool { .. }),
                "{} is neither array work nor a global pool",
                layer.name
            );
            continue;
        };
        let (d, ofmap) = data::generate_with_reference(&prob, 7, shift);
        assert_eq!(ofmap, data::reference(&prob, &d, shift), "{}", layer.name);
        assert_eq!(
            data::count_zeros(&d.ifmap),
            (prob.ifmap_zero_fraction * prob.ifmap_values() as f64).round() as u64,
            "{}",
            layer.name
        );
        if prob.relu && prob.op == workload::Op::Mac {
            let got = data::zero_fraction(&ofmap);
            assert!(
                (got - prob.ofmap_zero_fraction).abs() < 0.02,
                "{}: ofmap zero fraction {got}, trace says {}",
                layer.name,
                prob.ofmap_zero_fraction
            );
        }
        for stream in ofmap.chunks((prob.e * prob.f) as usize) {
            let words = rlc::encode(stream, &fmt);
            assert_eq!(rlc::decode(&words, &fmt).unwrap(), stream);
            assert_eq!(rlc::encoded_words16(stream, &fmt), 4 * words.len() as u64);
        }
    }
}
