//! Hand-built hardware and layers for unit tests (no file loading).

use crate::hw::*;
use crate::workload::{ConvProblem, Op, Padding};

/// Eyeriss v1 as DESIGN.md §1 describes it.
pub(crate) fn eyeriss_v1() -> HwConfig {
    HwConfig {
        name: "eyeriss-v1".into(),
        array: ArrayConfig { rows: 12, cols: 14 },
        pe: PeConfig {
            filter_spad_words: 224,
            ifmap_spad_words: 12,
            psum_spad_words: 24,
            word_bits: 16,
            mac_stages: 2,
            fifo_words: 4,
            product_shift: 0,
        },
        glb: GlbConfig {
            size_kib: 108,
            banks: 25,
            bank_words: 2048,
            filter_kib: 8,
            bank_port_words: 4,
        },
        noc: NocConfig {
            ifmap_gin_bits: 16,
            filter_gin_bits: 64,
            psum_gin_bits: 64,
            gon_bits: 64,
            local_psum_bits: 64,
            multicast: true,
        },
        dram: DramConfig {
            bus_bits: 64,
            link_mhz: 60.0,
            overlap: false,
        },
        clock: ClockConfig { core_mhz: 200.0 },
        sparsity: SparsityFeatures {
            zero_gating: true,
            zero_skipping: false,
            weight_compression: false,
            rlc: Some(RlcFormat {
                run_bits: 5,
                level_bits: 16,
                word_bits: 64,
            }),
        },
        energy: EnergyCosts {
            unit: EnergyUnit::Normalized,
            mac: 1.0,
            rf: 1.0,
            noc: 2.0,
            glb: 6.0,
            dram: 200.0,
        },
    }
}

/// A dense convolution problem with square kernels, strides and symmetric padding.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv(
    n: u32,
    g: u32,
    c: u32,
    m: u32,
    h: u32,
    r: u32,
    u: u32,
    pad: u32,
) -> ConvProblem {
    let e = (h + 2 * pad - r) / u + 1;
    ConvProblem {
        op: Op::Mac,
        n,
        g,
        c,
        m,
        h,
        w: h,
        r,
        s: r,
        e,
        f: e,
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
        relu: true,
    }
}

/// AlexNet CONV1–5 at batch `n` (CONV2, 4, 5 grouped).
pub(crate) fn alexnet_convs(n: u32) -> [ConvProblem; 5] {
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
