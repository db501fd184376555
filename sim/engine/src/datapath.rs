//! The engine's single point of contact with `crate::data`'s arithmetic and
//! coding: the PEs, the GLB and the DRAM link call these, so the engine
//! computes the reference's bits by construction.

use crate::data;
use crate::hw::RlcFormat;
use crate::workload::{ConvProblem, Op};

/// Borrowed operands of one layer, in the layouts of `data::LayerData`:
/// ifmap `[N][G·C][H][W]`, weights `[G·M][C][R][S]`, bias `[G·M]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Operands<'a> {
    pub ifmap: &'a [i16],
    pub weights: &'a [i16],
    pub bias: &'a [i16],
}

pub(crate) use data::{
    mac_row, mac_tap_pairs, mac_taps, pair_weights, PairKernel, MAC_LANES, PAIRS_MAX_SHIFT,
};

/// Value a psum chain starts from.
pub(crate) fn identity(_op: Op) -> i16 {
    data::PSUM_INIT
}

/// Combines two partial results of `op` (psum chain addition, pooling tap).
#[inline(always)]
pub(crate) fn combine(op: Op, a: i16, b: i16) -> i16 {
    data::merge(op, a, b)
}

/// Turns an accumulated psum into the ofmap value (average, bias, ReLU).
pub(crate) fn finalize(prob: &ConvProblem, acc: i16, bias: i16) -> i16 {
    data::finalize(prob, acc, bias)
}

/// RLC-encodes `values` into DRAM words of `fmt.word_bits`.
pub(crate) fn rlc_encode(values: &[i16], fmt: &RlcFormat) -> Vec<u64> {
    data::rlc::encode(values, fmt)
}

/// Decodes an RLC stream.
pub(crate) fn rlc_decode(words: &[u64], fmt: &RlcFormat) -> Result<Vec<i16>, String> {
    data::rlc::decode(words, fmt).map_err(|e| e.to_string())
}
