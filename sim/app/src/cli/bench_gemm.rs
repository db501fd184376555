//! The machine's limit for `eyesim bench simulate`: a dense f32 GEMM of the
//! same MACs (each simulated layer as its im2col product,
//! `(M/G × C·R·S) · (C·R·S × N·E·F)` per group), through nalgebra's GEMM
//! (matrixmultiply's packed kernels), on the same number of threads.

use crate::workload::ConvProblem;
use nalgebra::DMatrix;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Columns of the im2col matrix multiplied at once: bounds the memory of a
/// large layer (VGG-16 conv1_2 at batch 3 has 150,528 columns).
const COLUMN_BLOCK: usize = 16_384;

/// Time of the dense GEMMs of `problems` on `threads` workers (layers are
/// taken from a shared counter, as the simulator takes them), and the MACs
/// they performed.
pub fn gemm_limit(problems: &[ConvProblem], threads: usize) -> (Duration, u64) {
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    let macs: u64 = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut macs = 0;
                    while let Some(p) = problems.get(next.fetch_add(1, Ordering::Relaxed)) {
                        macs += layer_gemm(p);
                    }
                    macs
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a GEMM worker"))
            .sum()
    });
    (start.elapsed(), macs)
}

/// One layer's GEMMs; returns the MACs performed.
fn layer_gemm(p: &ConvProblem) -> u64 {
    let rows = p.m as usize;
    let depth = (p.c * p.r * p.s) as usize;
    let columns = (p.n * p.e * p.f) as usize;
    let weights = DMatrix::<f32>::from_fn(rows, depth, |i, j| ((i * 7 + j * 3) % 13) as f32 - 6.0);
    let mut macs = 0u64;
    for _group in 0..p.g {
        let mut done = 0;
        while done < columns {
            let width = COLUMN_BLOCK.min(columns - done);
            let patches = DMatrix::<f32>::from_fn(depth, width, |i, j| ((i + j) % 11) as f32 - 5.0);
            let out = &weights * &patches;
            // Keep the product alive so the multiply is not optimized away.
            std::hint::black_box(out[(0, 0)]);
            macs += (rows * depth * width) as u64;
            done += width;
        }
    }
    macs
}

#[cfg(test)]
mod tests {
    use super::*;
    use eyesim_core::fixtures::conv;

    #[test]
    fn the_gemm_performs_the_layers_macs() {
        // The last layer has 16,900 columns: two column blocks.
        let layers = [
            conv(2, 1, 3, 8, 9, 3, 1, 1),
            conv(1, 2, 4, 6, 7, 3, 2, 0),
            conv(1, 1, 1, 2, 130, 1, 1, 0),
        ];
        let (_, macs) = gemm_limit(&layers, 2);
        assert_eq!(macs, layers.iter().map(ConvProblem::macs).sum::<u64>());
    }
}
