//! The cycle-level path: a batch of images through every layer of the
//! simulated chip, each layer reading what the previous one's ofmap became
//! in DRAM (after ReLU, RLC encoding and decoding), every ofmap checked bit
//! for bit against the reference on the same input.

use super::QuantModel;
use crate::data::LayerData;
use crate::engine::{
    self, EltwiseLayer, GlobalPoolLayer, LayerSim, SimError, SimOptions, SimResult,
};
use crate::hw::HwConfig;
use crate::mapping::RowStationaryMapping;
use crate::stats::LayerResult;
use crate::workload::{LayerKind, LayerWork};

/// One layer of a chained run.
pub type ChainLayer = LayerSim;

/// Simulates `n` images `x` (`[N][C][H][W]`, in the input format) through
/// every layer of `q` on `hw`, with `mappings[i]` for array layers; returns
/// each layer's result. The ofmap of the last layer is the network output.
pub fn simulate_chain(
    q: &QuantModel,
    hw: &HwConfig,
    mappings: &[Option<RowStationaryMapping>],
    x: &[i16],
    n: u32,
) -> Result<Vec<ChainLayer>, SimError> {
    let net = &q.net;
    let mut outs: Vec<Vec<i16>> = Vec::with_capacity(net.layers.len());
    let mut res = Vec::with_capacity(net.layers.len());
    for (i, l) in net.layers.iter().enumerate() {
        let opts = SimOptions {
            layer: l.name.clone(),
            ..SimOptions::default()
        };
        let input = |k: usize| -> &[i16] {
            match l.inputs.get(k) {
                None => x,
                Some(&p) => &outs[p],
            }
        };
        let work = LayerWork::of(l, n);
        let sim = match &work {
            LayerWork::Array(p) => {
                let mapping = mappings[i].ok_or_else(|| SimError::IllegalMapping {
                    layer: l.name.clone(),
                    mapping: "(none)".into(),
                    reason: "no mapping was given for this layer".into(),
                })?;
                let (w, b) = &q.weights[i];
                let data = LayerData {
                    ifmap: input(0).to_vec(),
                    weights: w.clone(),
                    bias: if b.is_empty() {
                        vec![0; (p.g * p.m) as usize]
                    } else {
                        b.clone()
                    },
                };
                let mut layer_hw = hw.clone();
                layer_hw.pe.product_shift = q.formats.layer(i).product_shift();
                engine::simulate_layer(p, &mapping, &layer_hw, &data, &opts)?
            }
            LayerWork::Eltwise { inputs, .. } => {
                let e = EltwiseLayer::of(l, n).expect("an Add layer");
                let ops: Vec<Vec<i16>> = (0..*inputs as usize).map(|k| input(k).to_vec()).collect();
                engine::simulate_eltwise(&e, hw, &ops, &opts)?
            }
            LayerWork::GlobalPool { .. } => {
                let g = GlobalPoolLayer::of(l, n).expect("a global pooling layer");
                engine::simulate_global_pool(&g, hw, input(0), &opts)?
            }
            LayerWork::Host { .. } => {
                return Err(SimError::BadData {
                    layer: l.name.clone(),
                    reason: "runs on the host, which the chained simulation does not execute"
                        .into(),
                })
            }
            LayerWork::Free => {
                let ofmap = if matches!(l.kind, LayerKind::Concat) {
                    super::concat(net, i, n, &outs, x)
                } else {
                    input(0).to_vec()
                };
                SimResult::passthrough(ofmap)
            }
        };
        let row = LayerResult {
            network: net.name.clone(),
            layer: l.name.clone(),
            kind: l.kind.name().to_string(),
            mapping: matches!(work, LayerWork::Array(_))
                .then_some(mappings[i])
                .flatten(),
            active_pes: sim.active_pes,
            weights: match &work {
                LayerWork::Array(p) => p.weights(),
                _ => 0,
            },
            counts: sim.counts,
            energy: sim.counts.energy(&hw.energy),
            cycles: sim.cycles,
            processing_cycles: sim.processing_cycles,
        };
        outs.push(sim.ofmap.clone());
        res.push(LayerSim { index: i, row, sim });
    }
    Ok(res)
}
