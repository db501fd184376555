//! Hand-built hardware and layers for tests in every crate (no file
//! loading): Eyeriss v1 and AlexNet's convolutions.

use crate::hw::*;
use crate::workload::{ConvProblem, Op, Padding};

/// Eyeriss v1 as shipped (`hwconfigs/eyeriss-v1.toml`, docs/reference.md §1).
pub fn eyeriss_v1() -> HwConfig {
    crate::hw::builtin("eyeriss-v1").expect("the shipped eyeriss-v1 config loads")
}

/// A dense problem of `op`: `h×w` input, `r×s` window, stride `u` and
/// padding `pad` on every side; ReLU after a convolution.
#[allow(clippy::too_many_arguments)]
pub fn layer(
    op: Op,
    n: u32,
    g: u32,
    c: u32,
    m: u32,
    (h, w): (u32, u32),
    (r, s): (u32, u32),
    u: u32,
    pad: u32,
) -> ConvProblem {
    ConvProblem {
        op,
        n,
        g,
        c,
        m,
        h,
        w,
        r,
        s,
        e: (h + 2 * pad - r) / u + 1,
        f: (w + 2 * pad - s) / u + 1,
        u_h: u,
        u_w: u,
        d_h: 1,
        d_w: 1,
        pad: Padding {
            top: pad,
            bottom: pad,
            left: pad,
            right: pad,
        },
        weight_density: 1.0,
        ifmap_zero_fraction: 0.0,
        ofmap_zero_fraction: 0.0,
        network_input: false,
        relu: op == Op::Mac,
    }
}

/// A dense convolution problem with square kernels, strides and symmetric padding.
#[allow(clippy::too_many_arguments)]
pub fn conv(n: u32, g: u32, c: u32, m: u32, h: u32, r: u32, u: u32, pad: u32) -> ConvProblem {
    layer(Op::Mac, n, g, c, m, (h, h), (r, r), u, pad)
}

/// AlexNet CONV1–5 at batch `n` (CONV2, 4, 5 grouped).
pub fn alexnet_convs(n: u32) -> [ConvProblem; 5] {
    let mut c1 = conv(n, 1, 3, 96, 227, 11, 4, 0);
    c1.network_input = true;
    [
        c1,
        conv(n, 2, 48, 128, 27, 5, 1, 2),
        conv(n, 1, 256, 384, 13, 3, 1, 1),
        conv(n, 2, 192, 192, 13, 3, 1, 1),
        conv(n, 2, 192, 128, 13, 3, 1, 1),
    ]
}
