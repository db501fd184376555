//! Layers ranked by energy, by weights and by MACs.

use super::floors::has_weights;
use crate::stats::LayerResult;
use crate::workload::Network;

/// One layer with weights and its three ranks (1 = largest).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerRank {
    /// Layer name.
    pub layer: String,
    /// Estimated energy.
    pub energy: f64,
    /// Rank by energy.
    pub energy_rank: usize,
    /// Weights (all groups).
    pub weights: u64,
    /// Rank by weights.
    pub weight_rank: usize,
    /// Algorithmic MACs for the batch.
    pub macs: u64,
    /// Rank by MACs.
    pub mac_rank: usize,
}

/// The layers of `net` that have weights, in network order, ranked among
/// themselves by energy, weights and MACs of `results` (one per layer of
/// `net`). Ties go to the earlier layer.
pub fn ranking(net: &Network, results: &[LayerResult]) -> Vec<LayerRank> {
    let rows: Vec<&LayerResult> = net
        .layers
        .iter()
        .zip(results)
        .filter(|(l, _)| has_weights(net, l))
        .map(|(_, r)| r)
        .collect();
    let energy = ranks(&rows, |r| r.energy.total());
    let weights = ranks(&rows, |r| r.weights as f64);
    let macs = ranks(&rows, |r| r.counts.macs.algorithmic as f64);
    rows.iter()
        .enumerate()
        .map(|(k, r)| LayerRank {
            layer: r.layer.clone(),
            energy: r.energy.total(),
            energy_rank: energy[k],
            weights: r.weights,
            weight_rank: weights[k],
            macs: r.counts.macs.algorithmic,
            mac_rank: macs[k],
        })
        .collect()
}

/// 1-based rank of every row by `key`, largest first, earlier rows first on ties.
fn ranks(rows: &[&LayerResult], key: impl Fn(&LayerResult) -> f64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..rows.len()).collect();
    idx.sort_by(|&a, &b| key(rows[b]).total_cmp(&key(rows[a])).then(a.cmp(&b)));
    let mut rank = vec![0; rows.len()];
    for (k, &i) in idx.iter().enumerate() {
        rank[i] = k + 1;
    }
    rank
}
