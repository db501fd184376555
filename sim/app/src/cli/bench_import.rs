//! `eyesim bench import`: ONNX import speed on a large synthetic model.

use crate::onnx::proto::attribute_proto::AttributeType;
use crate::onnx::proto::tensor_proto::DataType;
use crate::onnx::proto::tensor_shape_proto::{dimension, Dimension};
use crate::onnx::proto::{
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use prost::Message;
use std::time::{Duration, Instant};

/// Arguments of `eyesim bench import`.
#[derive(clap::Args)]
pub struct ImportBench {
    /// Residual blocks (Conv, BatchNormalization, Relu, Add: four nodes each).
    #[arg(long, default_value_t = 251)]
    blocks: usize,
    /// Channels of every 3×3 conv (251 blocks of 106 channels: 1,003 nodes
    /// and 25.4 M conv weights).
    #[arg(long, default_value_t = 106)]
    channels: i64,
    /// Timed runs; the table shows the fastest and the median.
    #[arg(long, default_value_t = 3)]
    repeat: u32,
}

/// The budget for a 1,000-node model with 25 M weights.
const TARGET_SECONDS: f64 = 2.0;

/// Builds the model, writes it to a temporary folder and times
/// `import_file` (shapes and weight densities) and `import_model` (the
/// weight values decoded too).
pub fn run(b: ImportBench) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; measure with `cargo run --release -- bench import`");
    }
    let model = residual_chain(b.blocks, b.channels);
    let nodes = model.graph.as_ref().map_or(0, |g| g.node.len());
    let weights: i64 = model
        .graph
        .iter()
        .flat_map(|g| &g.initializer)
        .map(|t| t.dims.iter().product::<i64>())
        .sum();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("chain.onnx");
    std::fs::write(&path, model.encode_to_vec())?;
    let mb = std::fs::metadata(&path)?.len() as f64 / 1e6;
    sayln!(
        "model: {nodes} nodes, {:.1} M weights (with BatchNormalization), {mb:.0} MB; budget {TARGET_SECONDS} s",
        weights as f64 / 1e6
    );
    sayln!(
        "{:<14} {:>8} {:>10} {:>10} {:>6}",
        "import",
        "layers",
        "min s",
        "median s",
        "runs"
    );
    let time = |f: &dyn Fn() -> anyhow::Result<usize>| -> anyhow::Result<(usize, Vec<Duration>)> {
        let mut times = Vec::new();
        let mut layers = 0;
        for _ in 0..b.repeat.max(1) {
            let start = Instant::now();
            layers = f()?;
            times.push(start.elapsed());
        }
        times.sort();
        Ok((layers, times))
    };
    let rows: [(&str, &dyn Fn() -> anyhow::Result<usize>); 2] = [
        ("file (trace)", &|| {
            Ok(crate::onnx::import_file(&path)?.layers.len())
        }),
        ("model (values)", &|| {
            Ok(crate::onnx::import_model(&path)?.network.layers.len())
        }),
    ];
    for (name, f) in rows {
        let (layers, t) = time(f)?;
        sayln!(
            "{name:<14} {layers:>8} {:>10.3} {:>10.3} {:>6}",
            t[0].as_secs_f64(),
            t[t.len() / 2].as_secs_f64(),
            t.len()
        );
    }
    Ok(())
}

/// `blocks` residual blocks x ← x + relu(bn(conv3×3(x))) on a
/// `channels`×14×14 map, weights as raw little-endian floats (as exporters
/// store them), none zero.
fn residual_chain(blocks: usize, channels: i64) -> ModelProto {
    let dims = [1, channels, 14, 14];
    let dim = dims
        .iter()
        .map(|&d| Dimension {
            value: Some(dimension::Value::DimValue(d)),
        })
        .collect();
    let input = ValueInfoProto {
        name: "x".into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto { dim }),
            })),
        }),
    };
    let mut g = GraphProto {
        name: "chain".into(),
        input: vec![input],
        ..Default::default()
    };
    let tensor = |name: String, dims: Vec<i64>, seed: usize| {
        let n: i64 = dims.iter().product();
        let raw_data = (0..n as usize)
            .flat_map(|i| (1.0 + ((i * 31 + seed) % 97) as f32 / 97.0).to_le_bytes())
            .collect();
        TensorProto {
            name,
            dims,
            data_type: DataType::Float as i32,
            raw_data,
            ..Default::default()
        }
    };
    let node = |op: &str, name: String, input: Vec<String>, output: String| NodeProto {
        op_type: op.into(),
        name,
        input,
        output: vec![output],
        ..Default::default()
    };
    let mut x = "x".to_string();
    // The stem's input is the network input, which an Add cannot combine
    // with a layer output, so block 0 has no residual Add: one extra conv.
    for k in 0..blocks {
        let (w, c, bn, r, y) = (
            format!("w{k}"),
            format!("c{k}"),
            format!("bn{k}"),
            format!("r{k}"),
            format!("y{k}"),
        );
        g.initializer
            .push(tensor(w.clone(), vec![channels, channels, 3, 3], k));
        let mut conv = node("Conv", c.clone(), vec![x.clone(), w], c.clone());
        conv.attribute.push(AttributeProto {
            name: "pads".into(),
            ints: vec![1; 4],
            r#type: AttributeType::Ints as i32,
            ..Default::default()
        });
        g.node.push(conv);
        let mut bn_in = vec![c];
        for p in ["scale", "bias", "mean", "var"] {
            let name = format!("{bn}.{p}");
            g.initializer.push(tensor(name.clone(), vec![channels], k));
            bn_in.push(name);
        }
        g.node
            .push(node("BatchNormalization", bn.clone(), bn_in, bn.clone()));
        g.node.push(node("Relu", r.clone(), vec![bn], r.clone()));
        if k == 0 {
            x = r;
            continue;
        }
        g.node.push(node("Add", y.clone(), vec![r, x], y.clone()));
        x = y;
    }
    ModelProto {
        ir_version: 8,
        producer_name: "eyesim-bench".into(),
        graph: Some(g),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
    }
}
