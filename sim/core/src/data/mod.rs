//! The real data the simulator executes, and the golden model it is checked
//! against.
//!
//! * [`LayerData`]: one layer's ifmap, weights and bias as 16-bit values.
//! * [`mac`], [`tap`], [`merge`], [`finalize`]: the chip's arithmetic
//!   (docs/dataflow.md §5), shared by the reference and the simulator.
//! * [`generate`]: seeded synthetic data with exact sparsity and a bias
//!   calibrated to the layer's ofmap zero fraction.
//! * [`reference()`]: the plain reference convolution / FC / pooling.
//! * [`rlc`]: the run-length code of feature maps in DRAM.
//! * [`testing`]: problem builders and a naive reference for tests.

mod arith;
mod generate;
pub mod reference;
mod reference_kernel;
pub mod rlc;
mod tap_pairs;

pub use arith::{finalize, mac, mac_row, mac_taps, merge, tap, MAC_LANES, PSUM_INIT};
pub use generate::{
    generate, generate_with_reference, generate_with_shift, ACTIVATION_MAX, DEFAULT_PRODUCT_SHIFT,
    INPUT_MAX, WEIGHT_MAX, WEIGHT_MIN,
};
pub use reference::{apply_finalize, reference, reference_psums, reference_psums_threads};
pub use tap_pairs::{mac_tap_pairs, pair_weights, PairKernel, PAIRS_MAX_SHIFT};

use crate::workload::ConvProblem;
use std::path::PathBuf;

/// Where a simulation takes a layer's real data from, instead of
/// generating it: the application reads files (for example `.npy` files in
/// a folder) and hands the simulator this source, so the simulator itself
/// does no I/O.
pub trait LayerDataSource: std::fmt::Debug + Send + Sync {
    /// The data of layer `layer`, shaped for `prob`.
    fn layer_data(&self, layer: &str, prob: &ConvProblem) -> Result<LayerData, DataError>;
}

/// One layer's data, laid out C-order like the `.npy` files.
///
/// * `ifmap`: `[n][g·c][h][w]`, unpadded (padding is implicit zeros).
/// * `weights`: `[g·m][c][r][s]`; empty for pooling.
/// * `bias`: `[g·m]` (for pooling: one zero per channel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerData {
    /// Input feature maps `[n][g·c][h][w]`.
    pub ifmap: Vec<i16>,
    /// Filters `[g·m][c][r][s]`; empty when the op has no weights.
    pub weights: Vec<i16>,
    /// Per-filter bias `[g·m]`, added when a value leaves the GLB.
    pub bias: Vec<i16>,
}

/// Errors of loading layer data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a well-formed `.npy` file.
    #[error("{path}: not a valid .npy file: {detail}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The array's element type is not 16-bit signed integer.
    #[error("{path}: dtype is '{found}', expected int16 ('<i2' or '>i2')")]
    Dtype {
        /// The file.
        path: PathBuf,
        /// The dtype descriptor found.
        found: String,
    },
    /// The array has the wrong shape for the layer.
    #[error("{path}: shape is {found:?}, layer '{layer}' expects {expected}")]
    Shape {
        /// The file.
        path: PathBuf,
        /// The layer.
        layer: String,
        /// The expected shape(s), e.g. `[4, 96, 27, 27]`.
        expected: String,
        /// The shape found.
        found: Vec<u64>,
    },
    /// In-memory data whose tensor length does not match the problem.
    #[error("layer data: {tensor} has {found} values, the problem needs {expected}")]
    Size {
        /// `ifmap`, `weights` or `bias`.
        tensor: &'static str,
        /// Values the problem implies.
        expected: usize,
        /// Values present.
        found: usize,
    },
}

impl LayerData {
    /// Index of ifmap value (image `n`, channel `ch` over all groups, row
    /// `y`, column `x`), unpadded coordinates.
    #[inline]
    pub fn ifmap_index(prob: &ConvProblem, n: u32, ch: u32, y: u32, x: u32) -> usize {
        (((n as usize * (prob.g * prob.c) as usize + ch as usize) * prob.h as usize + y as usize)
            * prob.w as usize)
            + x as usize
    }

    /// Index of weight (filter `k` over all groups, channel `c` within the
    /// group, tap row `r`, tap column `s`).
    #[inline]
    pub fn weight_index(prob: &ConvProblem, k: u32, c: u32, r: u32, s: u32) -> usize {
        ((k as usize * prob.c as usize + c as usize) * prob.r as usize + r as usize)
            * prob.s as usize
            + s as usize
    }

    /// Index of ofmap value (image `n`, filter `k` over all groups, row `e`,
    /// column `f`) in the `[n][g·m][e][f]` output of [`reference()`].
    #[inline]
    pub fn ofmap_index(prob: &ConvProblem, n: u32, k: u32, e: u32, f: u32) -> usize {
        ((n as usize * (prob.g * prob.m) as usize + k as usize) * prob.e as usize + e as usize)
            * prob.f as usize
            + f as usize
    }

    /// The ifmap value at padded coordinates `(yp, xp)` (0 ≤ yp < Hp,
    /// 0 ≤ xp < Wp) of image `n`, group `g`, channel `c` within the group;
    /// 0 on padding.
    #[inline]
    pub fn ifmap_padded(
        &self,
        prob: &ConvProblem,
        n: u32,
        g: u32,
        c: u32,
        yp: u32,
        xp: u32,
    ) -> i16 {
        let (y, x) = (
            yp.wrapping_sub(prob.pad.top),
            xp.wrapping_sub(prob.pad.left),
        );
        if y >= prob.h || x >= prob.w {
            return 0;
        }
        self.ifmap[Self::ifmap_index(prob, n, g * prob.c + c, y, x)]
    }

    /// The weight of filter `m` of group `g`, channel `c`, tap `(r, s)`.
    #[inline]
    pub fn weight(&self, prob: &ConvProblem, g: u32, m: u32, c: u32, r: u32, s: u32) -> i16 {
        self.weights[Self::weight_index(prob, g * prob.m + m, c, r, s)]
    }

    /// Expected lengths `(ifmap, weights, bias)` for `prob`.
    pub fn expected_lens(prob: &ConvProblem) -> (usize, usize, usize) {
        (
            prob.ifmap_values() as usize,
            prob.weights() as usize,
            (prob.g * prob.m) as usize,
        )
    }

    /// Checks that the sizes match `prob`; the error names the first tensor
    /// whose length is wrong.
    pub fn check(&self, prob: &ConvProblem) -> Result<(), DataError> {
        let (i, w, b) = Self::expected_lens(prob);
        for (tensor, expected, found) in [
            ("ifmap", i, self.ifmap.len()),
            ("weights", w, self.weights.len()),
            ("bias", b, self.bias.len()),
        ] {
            if expected != found {
                return Err(DataError::Size {
                    tensor,
                    expected,
                    found,
                });
            }
        }
        Ok(())
    }

    /// Panics with a clear message when the sizes do not match `prob`.
    pub fn assert_matches(&self, prob: &ConvProblem) {
        let (i, w, b) = Self::expected_lens(prob);
        assert!(
            self.ifmap.len() == i && self.weights.len() == w && self.bias.len() == b,
            "LayerData sizes (ifmap {}, weights {}, bias {}) do not match the problem \
             (ifmap {i}, weights {w}, bias {b})",
            self.ifmap.len(),
            self.weights.len(),
            self.bias.len()
        );
    }
}

/// Number of zero values.
pub fn count_zeros(values: &[i16]) -> u64 {
    values.iter().filter(|&&v| v == 0).count() as u64
}

/// Fraction of zero values (0 for an empty slice).
pub fn zero_fraction(values: &[i16]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    count_zeros(values) as f64 / values.len() as f64
}

/// Fraction of non-zero values (the density; 0 for an empty slice).
pub fn density(values: &[i16]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    1.0 - zero_fraction(values)
}

pub mod testing;

#[cfg(test)]
mod tests {
    use super::testing::problem;
    use super::*;
    use crate::workload::{Op, Padding};

    #[test]
    fn index_helpers_follow_c_order() {
        let mut p = problem(Op::Mac, 3, 2, 4, 5, 2, 3);
        p.n = 2;
        p.g = 2;
        p.pad = Padding {
            top: 1,
            bottom: 0,
            left: 2,
            right: 0,
        };
        let d = LayerData {
            ifmap: (0..p.ifmap_values() as i16).collect(),
            weights: (0..p.weights() as i16).collect(),
            bias: vec![0; 4],
        };
        // image 1, group 1, channel 2 -> plane 1*6 + 3 + 2 = 11; row 3, col 4.
        assert_eq!(LayerData::ifmap_index(&p, 1, 5, 3, 4), 11 * 20 + 3 * 5 + 4);
        assert_eq!(
            d.ifmap_padded(&p, 1, 1, 2, 4, 6),
            (11 * 20 + 3 * 5 + 4) as i16
        );
        assert_eq!(d.ifmap_padded(&p, 1, 1, 2, 0, 6), 0);
        assert_eq!(d.ifmap_padded(&p, 1, 1, 2, 4, 1), 0);
        assert_eq!(
            d.weight(&p, 1, 1, 2, 1, 2),
            (((3 * 3 + 2) * 2 + 1) * 3 + 2) as i16
        );
        assert_eq!(
            LayerData::ofmap_index(&p, 1, 3, 0, 1),
            ((4 + 3) * p.e as usize) * p.f as usize + 1
        );
    }

    #[test]
    fn check_names_the_wrong_tensor() {
        let p = problem(Op::Mac, 2, 3, 4, 4, 3, 3);
        let mut d = crate::data::generate(&p, 0);
        assert!(d.check(&p).is_ok());
        d.bias.pop();
        let e = d.check(&p).unwrap_err().to_string();
        assert_eq!(e, "layer data: bias has 2 values, the problem needs 3");
    }

    #[test]
    fn statistics() {
        assert_eq!(zero_fraction(&[]), 0.0);
        assert_eq!(zero_fraction(&[0, 1, 0, 2]), 0.5);
        assert_eq!(density(&[0, 1, 1, 2]), 0.75);
        assert_eq!(count_zeros(&[0, 0, 5]), 2);
    }
}
