//! Cross-check: the analytic model against the simulator, and both against
//! the fabricated chip; `eyesim crosscheck` and `eyesim run` end to end.

use eyesim::analytic::EstimateOptions;
use eyesim::crosscheck::{self, chip, run_both, BothOptions, Quantity, Tolerances};
use eyesim::workload::Op;
use eyesim::{hw, workload};
use eyesim_core::fixtures::layer;
use std::path::Path;
use std::process::Command;

fn both(net: &workload::Network, hw_name: &str) -> eyesim::crosscheck::BothResults {
    let hw = hw::load(hw_name).unwrap();
    let opts = BothOptions {
        estimate: EstimateOptions::default(),
        seed: 7,
        threads: 2,
        max_memory: None,
        ..Default::default()
    };
    run_both(net, &hw, &opts, &|_| {}).unwrap()
}

#[test]
fn dense_counts_agree_exactly_and_cycles_within_10_percent_on_every_shipped_network() {
    let tol = Tolerances {
        dense_counts: 0.0,
        sparse_counts: 0.0,
        cycles: 0.10,
        energy: 0.0,
    };
    for name in workload::builtin_names() {
        let mut net = workload::load(name).unwrap().densified();
        net.batch = 1;
        let b = both(&net, "eyeriss-v1");
        let rows =
            crosscheck::compare(&b.analytic, &b.simulated_rows(), |l| b.is_dense(l), &tol).unwrap();
        assert!(
            rows.iter().all(|r| r.dense),
            "{name}: --dense must make every layer dense"
        );
        let describe = |r: &crosscheck::Comparison| {
            format!(
                "{} {}/{} {}: {} vs {}",
                r.layer,
                r.level,
                r.tensor,
                r.quantity.name(),
                r.analytic,
                r.simulated
            )
        };
        let timing = |r: &crosscheck::Comparison| {
            matches!(r.quantity, Quantity::Cycles | Quantity::ProcessingCycles)
        };
        let bad_counts: Vec<String> = rows
            .iter()
            .filter(|r| !timing(r) && !r.passes())
            .map(describe)
            .collect();
        assert!(bad_counts.is_empty(), "{name}: {bad_counts:#?}");
        let bad_cycles: Vec<String> = rows
            .iter()
            .filter(|r| timing(r) && !r.passes())
            .map(describe)
            .collect();
        assert!(bad_cycles.is_empty(), "{name}: {bad_cycles:#?}");
    }
}

#[test]
fn alexnet_on_eyeriss_v1_agrees_with_the_analytic_model_and_the_chip() {
    let net = workload::load("alexnet").unwrap();
    let b = both(&net, "eyeriss-v1");
    let sim = b.simulated_rows();
    let rows =
        crosscheck::compare(&b.analytic, &sim, |l| b.is_dense(l), &Tolerances::default()).unwrap();
    let bad: Vec<_> = rows.iter().filter(|r| !r.passes()).collect();
    assert!(bad.is_empty(), "{bad:#?}");
    // The measured zero fractions make CONV2-5 sparse: their counts differ
    // (expected vs actual zeros), but only a little.
    assert!(rows.iter().any(|r| !r.dense && r.rel_diff() != 0.0));
    let hw = hw::load("eyeriss-v1").unwrap();
    let chip_rows = chip::compare_alexnet(&sim, hw.clock.core_mhz, hw.pe.word_bits).unwrap();
    let misses: Vec<_> = chip_rows.iter().filter(|r| !r.passes()).collect();
    assert!(misses.is_empty(), "{misses:#?}");
}

const SMALL: &str = r#"
[network]
name = "small"
batch = 2
input = [4, 10, 10]

[[layer]]
name = "c1"
kind = "conv"
filters = 8
kernel = 3
padding = 1
ifmap_zero_fraction = 0.3

[[layer]]
name = "c2"
kind = "conv"
filters = 8
kernel = 1
relu = false
ifmap_zero_fraction = 0.4

[[layer]]
name = "sum"
kind = "add"
inputs = ["c1", "c2"]

[[layer]]
name = "p1"
kind = "maxpool"
kernel = 2
stride = 2

[[layer]]
name = "gap"
kind = "avgpool"
global = true

[[layer]]
name = "fc"
kind = "fc"
outputs = 64
relu = false
"#;

fn eyesim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_eyesim"))
        .args(args)
        .output()
        .unwrap()
}

fn small_trace(dir: &Path) -> String {
    let p = dir.join("small.toml");
    std::fs::write(&p, SMALL).unwrap();
    p.display().to_string()
}

#[test]
fn crosscheck_gate_passes_and_can_fail() {
    let dir = tempfile::tempdir().unwrap();
    let net = small_trace(dir.path());
    let out = dir.path().join("cc");
    let o = eyesim(&[
        "crosscheck",
        "--net",
        &net,
        "--hw",
        "tiny",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("PASS: 0 of"), "{text}");
    let csv = std::fs::read_to_string(out.join("crosscheck.csv")).unwrap();
    assert!(csv.starts_with(
        "network,layer,level,tensor,quantity,data,analytic,simulated,rel_diff,tolerance,status\n"
    ));
    assert!(std::fs::read_to_string(out.join("parity.svg"))
        .unwrap()
        .contains("<svg"));
    // Sparse layers differ a little from their expectation: a zero
    // tolerance must fail the gate, naming the file to read.
    let o = eyesim(&[
        "crosscheck",
        "--net",
        &net,
        "--hw",
        "tiny",
        "-q",
        "--tolerance",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("exceed their tolerance; see crosscheck.csv"),
        "{err}"
    );
    assert!(std::fs::read_to_string(out.join("crosscheck.csv"))
        .unwrap()
        .contains(",FAIL\n"));
}

#[test]
fn run_writes_every_output_identically_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let net = small_trace(dir.path());
    let mut outs = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("run{threads}"));
        let o = eyesim(&[
            "run",
            "--net",
            &net,
            "--hw",
            "tiny",
            "-q",
            "--threads",
            threads,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(text.contains("cross-check:"), "{text}");
        outs.push(out);
    }
    let files = [
        "analytic/accesses.csv",
        "analytic/layers.csv",
        "simulated/accesses.csv",
        "simulated/layers.csv",
        "simulated/components.csv",
        "mappings.toml",
        "crosscheck.csv",
        "summary.txt",
        "parity.svg",
        "simulated/energy_by_layer.svg",
        "analytic/energy_by_data_type.svg",
    ];
    for f in files {
        let a = std::fs::read(outs[0].join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        let b = std::fs::read(outs[1].join(f)).unwrap();
        assert!(a == b, "{f} differs between --threads 1 and 2");
    }
    // The global pool ran on the GLB-side datapath in both models.
    let layers = std::fs::read_to_string(outs[0].join("simulated/layers.csv")).unwrap();
    assert!(
        layers
            .lines()
            .any(|l| l.starts_with("small,gap,avgpool,-,")),
        "{layers}"
    );
}

/// A newcomer's first trace, an 8-channel 8×8 3×3 conv, was +33% in
/// processing cycles: its psum tile fits one GLB bank, whose port the psum
/// GIN and the GON share (docs/engine.md, "The psum bank port"). With the
/// mapper's mapping and with the one that showed the gap, the gate passes.
#[test]
fn a_one_bank_psum_tile_is_timed_by_its_port() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("toy.toml");
    std::fs::write(
        &net,
        "[network]\nname = \"toy\"\nbatch = 1\ninput = [8, 8, 8]\n\n\
         [[layer]]\nname = \"c8\"\nkind = \"conv\"\nfilters = 8\nkernel = 3\npadding = 1\n",
    )
    .unwrap();
    let pinned = dir.path().join("m.toml");
    std::fs::write(
        &pinned,
        "[c8]\ne = 8\nr = 2\nt = 2\ng = 1\np = 4\nq = 1\nn = 1\nm = 8\n",
    )
    .unwrap();
    for extra in [vec![], vec!["--mapping", pinned.to_str().unwrap()]] {
        let mut args = vec![
            "crosscheck",
            "--net",
            net.to_str().unwrap(),
            "--dense",
            "-q",
            "--out",
            dir.path().to_str().unwrap(),
        ];
        args.extend(extra);
        let o = eyesim(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    }
}

/// Processing cycles of `map` by the analytic model and by the simulator
/// (which checks the ofmap bit for bit).
fn processing_cycles(
    prob: &eyesim::workload::ConvProblem,
    map: &str,
    hw: &eyesim::hw::HwConfig,
) -> (u64, u64) {
    both_cycles(prob, map, hw)[0]
}

/// `tiny` with an `rows × cols` array and the given ifmap, filter and psum
/// spads and FIFO, in words.
fn tiny_with((rows, cols): (u32, u32), spads: [u32; 3], fifo: u32) -> eyesim::hw::HwConfig {
    let mut hw = eyesim::hw::load("tiny").unwrap();
    (hw.array.rows, hw.array.cols) = (rows, cols);
    [
        hw.pe.ifmap_spad_words,
        hw.pe.filter_spad_words,
        hw.pe.psum_spad_words,
    ] = spads;
    hw.pe.fifo_words = fifo;
    hw
}

/// A pass bound by the ifmap stream ends with the last PE row's last column
/// after the stream (docs/engine.md, "The last column after the ifmap
/// stream"): an FC-like layer with one output per image streams 28 words a
/// pass and simulates at 39 cycles a pass, which the analytic model
/// charged as 32 (−18%) before it counted that column.
#[test]
fn a_stream_bound_pass_ends_with_its_last_column() {
    let fifo = eyesim::hw::load("tiny").unwrap().pe.fifo_words;
    let hw = tiny_with((4, 6), [12, 28, 4], fifo);
    let mut prob = layer(Op::Mac, 2, 1, 2, 1, (2, 7), (2, 7), 1, 0);
    prob.relu = false;
    let map = "e = 1\nr = 1\nt = 1\ng = 1\np = 1\nq = 1\nn = 2\nm = 1\n";
    let (analytic, simulated) = processing_cycles(&prob, map, &hw);
    assert_eq!(simulated, 78, "two passes of 39 cycles");
    assert_eq!(analytic, simulated);
}

/// A short pooling pass is bound by its one psum bank's port, whose reads
/// the PE's psum FIFO takes during the window (docs/engine.md, "Short
/// passes bound by the psum bank port"): a 3×1 max pool folded `fr3` on a
/// 1×1 array takes 7 cycles a pass, which the analytic model charged as 10
/// (+29% over the layer) while it added the window and the ramp on top of
/// the port.
#[test]
fn a_port_bound_pass_overlaps_its_window_with_the_psum_reads() {
    let hw = tiny_with((1, 1), [2, 43, 6], 3);
    let prob = layer(Op::Max, 1, 2, 1, 1, (6, 6), (3, 1), 2, 0);
    let map = "e = 1\nr = 1\nt = 1\ng = 1\np = 1\nq = 1\nn = 1\nm = 1\nfr = 3\n";
    let (analytic, simulated) = processing_cycles(&prob, map, &hw);
    assert_eq!(simulated, 84, "12 passes of 7 cycles");
    assert_eq!(analytic, simulated);
}

/// A PE with one psum buffer (`2·p > psum_spad_words`) waits for its
/// pipeline to drain between columns (docs/engine.md, "One psum buffer"):
/// a 4-channel cut of AlexNet CONV3 on `tiny` (`e2 r2 t1 p7 q1`, 8 psum
/// words) taps 21 cycles out of every 23, which the analytic model charged
/// as 21 (4,382 cycles against 4,758 here, −7.9%; −10.2% on the whole
/// layer) before. (The simulated figure was 4,746 before its bank port
/// served one row a cycle: `p = 7` transfers are not aligned to the port.)
#[test]
fn a_single_psum_buffer_waits_for_the_pipeline_between_columns() {
    let hw = eyesim::hw::load("tiny").unwrap();
    let mut prob = layer(Op::Mac, 1, 1, 4, 7, (13, 13), (3, 3), 1, 1);
    prob.relu = false;
    let map = "e = 2\nr = 2\nt = 1\ng = 1\np = 7\nq = 1\nn = 1\nm = 7\n";
    let (analytic, simulated) = processing_cycles(&prob, map, &hw);
    assert_eq!(simulated, 4758);
    assert_eq!(analytic, 4718, "40 cycles (−0.8%) short");
}

/// A pass of several columns paced by the ifmap stream ends with the GON
/// serializing the last column's filter copies (docs/engine.md, "The GON
/// tail of the last column"): an FC layer on `tiny` (8 inputs, 64 outputs,
/// batch 2, `e1 r2 t6 p2 q4`) simulates at 238 cycles, which the analytic
/// model charged as 212 (−10.9%) before.
#[test]
fn a_stream_paced_pass_ends_with_the_gon_tail_of_its_last_column() {
    let hw = eyesim::hw::load("tiny").unwrap();
    let mut prob = layer(Op::Mac, 2, 1, 8, 64, (1, 1), (1, 1), 1, 0);
    prob.relu = false;
    let map = "e = 1\nr = 2\nt = 6\ng = 1\np = 2\nq = 4\nn = 2\nm = 64\n";
    let (analytic, simulated) = processing_cycles(&prob, map, &hw);
    assert_eq!(simulated, 238);
    assert_eq!(analytic, simulated);
}

/// The GON works through the earlier rows' psums while the stream brings
/// the later rows' windows (docs/engine.md, "Rows, copies and filters in
/// time"): an average pool of 7 one-column rows in 2 groups streams 28
/// words, and its 14 GON transfers fit inside them. The analytic model
/// charged the GON after the whole window: 45 cycles against 34 (+32%).
#[test]
fn the_gon_works_during_the_stream_of_a_one_column_pass() {
    let hw = tiny_with((4, 6), [4, 6, 11], 4);
    let mut prob = layer(Op::Avg, 1, 2, 1, 1, (7, 2), (1, 2), 1, 0);
    (prob.u_w, prob.pad.right, prob.f) = (2, 1, 1);
    let map = "e = 7\nr = 1\nt = 1\ng = 2\np = 1\nq = 1\nn = 1\nm = 1\n";
    let (analytic, simulated) = processing_cycles(&prob, map, &hw);
    assert_eq!(simulated, 34);
    assert_eq!(analytic, simulated);
}

/// The ifmap stream of a pass runs on while the later filter copies wait
/// for their filters (docs/engine.md, "Rows, copies and filters in time"):
/// a 7×4 conv folded twice (`t3 p2 n2 fr2`) simulates at 87 cycles, which
/// the analytic model charged as 100 (+15%) when it started the stream
/// after the filter load.
#[test]
fn the_stream_runs_ahead_of_the_filter_load() {
    let hw = tiny_with((6, 6), [9, 10, 8], 5);
    let mut prob = layer(Op::Mac, 2, 1, 1, 6, (7, 4), (7, 4), 1, 0);
    prob.relu = false;
    prob.u_w = 2;
    let map = "e = 1\nr = 1\nt = 3\ng = 1\np = 2\nq = 1\nn = 2\nm = 6\nfr = 2\n";
    let (analytic, simulated) = processing_cycles(&prob, map, &hw);
    assert_eq!(simulated, 87);
    assert_eq!(analytic, 88, "one cycle over");
}

/// Both cycle figures of `map` on `prob`: `[(analytic, simulated)
/// processing, (analytic, simulated) total]`.
fn both_cycles(
    prob: &eyesim::workload::ConvProblem,
    map: &str,
    hw: &eyesim::hw::HwConfig,
) -> [(u64, u64); 2] {
    let set = eyesim::mapping::MappingSet::from_toml_str(&format!("[l]\n{map}"), "test").unwrap();
    let map = *set.get("l").unwrap();
    eyesim::mapping::check(&map, prob, hw).unwrap();
    let data = eyesim::data::generate(prob, 3);
    let opts = eyesim::engine::SimOptions::default();
    let sim = eyesim::engine::simulate_layer(prob, &map, hw, &data, &opts).unwrap();
    let est = eyesim::analytic::estimate_layer(prob, &map, hw);
    [
        (est.processing_cycles, sim.processing_cycles),
        (est.cycles, sim.cycles),
    ]
}

/// `prob` with separate vertical and horizontal strides, dilations and
/// padding (`[top, bottom, left, right]`), its ofmap size recomputed.
fn reshaped(
    mut prob: eyesim::workload::ConvProblem,
    (u_h, u_w): (u32, u32),
    (d_h, d_w): (u32, u32),
    [top, bottom, left, right]: [u32; 4],
) -> eyesim::workload::ConvProblem {
    (prob.u_h, prob.u_w, prob.d_h, prob.d_w) = (u_h, u_w, d_h, d_w);
    prob.pad = workload::Padding {
        top,
        bottom,
        left,
        right,
    };
    prob.e = (prob.h + top + bottom - (prob.r - 1) * d_h - 1) / u_h + 1;
    prob.f = (prob.w + left + right - (prob.s - 1) * d_w - 1) / u_w + 1;
    prob
}

/// DRAM bursts are summed one tile size at a time, each waiting for the
/// link's edge (docs/dataflow.md §6, "Bursts on the link"): a max pool
/// `kernel [7, 1]`, stride 2, folded `fr7` on a 1×2 array loads tiles of
/// 10 and 5 words and one empty one. Charged as bursts of the mean size
/// with no wait for the edge, its total was 1,107 cycles (−11.9%).
#[test]
fn dram_bursts_are_summed_by_tile_size_and_wait_for_the_link_edge() {
    let hw = tiny_with((1, 2), [1, 9, 16], 4);
    let mut prob = layer(Op::Max, 1, 3, 1, 1, (10, 5), (7, 1), 1, 0);
    prob = reshaped(prob, (2, 1), (1, 1), [0, 1, 0, 0]);
    prob.network_input = true;
    let map = "e = 2\nr = 1\nt = 1\ng = 1\np = 1\nq = 1\nn = 1\nm = 1\nfr = 7\n";
    let [_, (analytic, simulated)] = both_cycles(&prob, map, &hw);
    assert_eq!(simulated, 1257);
    assert_eq!(analytic, 1214);
}

/// Each image starts with a whole window again (docs/engine.md, "Image
/// boundaries"): an average pool `kernel [1, 7]` over 2 images of 2 groups
/// gets its last row's window of image 1 at cycle 72 of the pass and taps
/// to 100. It was charged 91 cycles (−12.5%).
#[test]
fn the_last_image_waits_for_its_whole_window() {
    let hw = tiny_with((3, 6), [11, 37, 15], 6);
    let prob = layer(Op::Avg, 2, 2, 1, 1, (3, 8), (1, 7), 1, 0);
    let prob = reshaped(prob, (2, 1), (1, 1), [0, 0, 1, 1]);
    let map = "e = 2\nr = 1\nt = 1\ng = 2\np = 1\nq = 1\nn = 2\nm = 1\n";
    let [(analytic, simulated), _] = both_cycles(&prob, map, &hw);
    assert_eq!(simulated, 104);
    assert_eq!(analytic, 100);
}

/// The last copy of a pass of several columns taps once its last filter
/// row is in, each row a transfer of whole cycles (docs/engine.md, "The
/// last copy's filter rows"): 18 PE rows of 5 words take 36 cycles, not
/// 23. It was charged 45 cycles (−11.8%).
#[test]
fn the_last_copy_waits_for_its_filter_rows_in_whole_cycles() {
    let hw = tiny_with((5, 6), [10, 8, 15], 6);
    let mut prob = layer(Op::Mac, 2, 1, 1, 6, (3, 5), (3, 5), 1, 0);
    prob = reshaped(prob, (2, 1), (1, 1), [0; 4]);
    (prob.relu, prob.network_input) = (false, true);
    let map = "e = 1\nr = 1\nt = 6\ng = 1\np = 1\nq = 1\nn = 2\nm = 6\n";
    let [(analytic, simulated), _] = both_cycles(&prob, map, &hw);
    assert_eq!(simulated, 51);
    assert_eq!(analytic, 51);
}

/// A bank port serves one row a cycle, so an unaligned psum transfer within
/// one bank takes two port cycles (docs/engine.md, "Unaligned psum
/// transfers"): with `p = 5` on one psum bank this conv simulated at 422
/// cycles while its port had more demand than cycles.
#[test]
fn an_unaligned_psum_transfer_takes_a_port_cycle_per_row() {
    let hw = tiny_with((5, 5), [1, 23, 6], 6);
    let mut prob = layer(Op::Mac, 1, 1, 3, 5, (14, 7), (6, 2), 1, 0);
    prob = reshaped(prob, (2, 2), (2, 2), [1, 0, 0, 0]);
    prob.relu = false;
    let map = "e = 3\nr = 1\nt = 1\ng = 1\np = 5\nq = 1\nn = 1\nm = 5\nfr = 2\nfs = 2\n";
    let [(analytic, simulated), _] = both_cycles(&prob, map, &hw);
    assert_eq!(simulated, 477);
    assert_eq!(analytic, 469);
}

/// The psum GIN and the GON lock step on the banks when they run back to
/// back (docs/engine.md, "Psum streams in lock step"): the newcomer's
/// 3-channel 32×32 5×5 conv with 8 filters, pinned to `e11 r1 t2 p4 q2`
/// (copy 0's chains on bank 0, copy 1's on bank 1), was charged 5,894
/// processing cycles against 6,733 simulated (−12.5%), as if the banks
/// shared the load evenly.
#[test]
fn psum_streams_lock_step_on_the_banks() {
    let hw = eyesim::hw::load("eyeriss-v1").unwrap();
    let mut prob = layer(Op::Mac, 1, 1, 3, 8, (32, 32), (5, 5), 1, 0);
    prob.relu = false;
    let map = "e = 11\nr = 1\nt = 2\ng = 1\np = 4\nq = 2\nn = 1\nm = 8\n";
    let [(analytic, simulated), _] = both_cycles(&prob, map, &hw);
    assert_eq!(simulated, 6733);
    assert_eq!(analytic, 6992, "+3.8%");
    // The mapper does not choose this mapping, so the lock moves no
    // searched layer here.
    let searched = eyesim::mapping::search(&prob, &hw, eyesim::mapping::Objective::Energy);
    assert_ne!(searched.unwrap().to_string(), "e11 r1 t2 g1 p4 q2 n1 m8");
}

/// Runs of chains on one bank lock the streams only when they run back to
/// back: GoogLeNet `inception_5a_3x3_reduce` pinned to `e7 r2 t8 p10 q12`
/// has runs of 7 chains per bank, but its 120-tap columns leave the streams
/// idle. Charged the lock, it would be +61% (180,339 cycles).
#[test]
fn psum_streams_paced_by_the_pes_do_not_lock() {
    let hw = eyesim::hw::load("eyeriss-v1").unwrap();
    let net = workload::load("googlenet").unwrap();
    let l = net
        .layers
        .iter()
        .find(|l| l.name == "inception_5a_3x3_reduce");
    let workload::LayerWork::Array(prob) = workload::LayerWork::of(l.unwrap(), 1) else {
        unreachable!("a 1×1 conv runs on the array")
    };
    let prob = prob.dense();
    let map = "e = 7\nr = 2\nt = 8\ng = 1\np = 10\nq = 12\nn = 1\nm = 160\n";
    let [(analytic, simulated), _] = both_cycles(&prob, map, &hw);
    assert_eq!((analytic, simulated), (108_463, 112_224), "−3.4%");
}

/// The port of a one-column pass: the first GON write waits for the first
/// row's psums through the pipeline and the chain, and the later writes
/// follow the reads back to back (docs/engine.md, "The port of a one-column
/// pass"). A folded, segmented, dilated conv on a 1×5 array (`p2` of 3
/// filters, one column) reads 4 psum transfers and writes 4 in 10 cycles a
/// pass; charged the pipeline after the last write, its 2-filter passes
/// were 12 cycles and the layer 4,592 against 4,000 (+14.8%).
#[test]
fn a_one_column_pass_writes_right_after_its_reads() {
    let hw = tiny_with((1, 5), [1, 46, 7], 2);
    let mut prob = layer(Op::Mac, 1, 1, 4, 3, (13, 5), (4, 5), 1, 0);
    prob = reshaped(prob, (1, 2), (2, 1), [1, 2, 1, 0]);
    prob.relu = false;
    let map = "e = 4\nr = 1\nt = 1\ng = 1\np = 2\nq = 1\nn = 1\nm = 3\nfr = 4\nfs = 5\n";
    let [(analytic, simulated), _] = both_cycles(&prob, map, &hw);
    assert_eq!((analytic, simulated), (3960, 4000), "−1.0%");
}

/// The GLB filter part is free once the filter GIN has read a pass's
/// weights out of it (docs/engine.md, "The filter part is free once its GIN
/// is done"): a 32-channel 3×3 conv whose passes load 2,304 weights, more
/// than half the 4,096-word part, issues each next load during the rest of
/// the pass. Held until the next pass was due, every load was serialized:
/// 39,753 cycles simulated, 39,573 analytic.
#[test]
fn a_filter_load_of_more_than_half_the_part_overlaps_the_rest_of_the_pass() {
    let hw = hw::load("eyeriss-v1").unwrap();
    let prob = layer(Op::Mac, 1, 1, 32, 64, (8, 8), (3, 3), 1, 1);
    let map = "e = 8\nr = 4\nt = 1\ng = 1\np = 16\nq = 4\nn = 1\nm = 64\n";
    assert!(16 * 16 * 9 > hw.filter_glb_words() / 2);
    let [processing, total] = both_cycles(&prob, map, &hw);
    assert_eq!(processing, (17120, 17306), "−1.1%");
    assert_eq!(total, (28625, 28603), "+0.1%");
}

/// Double buffering needs both passes' weights in the filter part at once: a
/// 8-filter partial pass (1,728 weights, under half the part) after a
/// 16-filter one (3,456) is loaded once the full pass's filter GIN is done,
/// not at its start (docs/engine.md, "The filter part is free once its GIN
/// is done"). Issued at the start, the part would have held 5,184 words,
/// and the layer would have taken 11,933 cycles simulated (11,949
/// analytic).
#[test]
fn a_small_load_after_a_large_one_waits_for_the_filter_gin() {
    let hw = hw::load("eyeriss-v1").unwrap();
    let prob = layer(Op::Mac, 1, 1, 48, 24, (4, 4), (3, 3), 1, 1);
    let map = "e = 4\nr = 6\nt = 1\ng = 1\np = 16\nq = 4\nn = 1\nm = 24\n";
    let part = hw.filter_glb_words();
    assert!(8 * 24 * 9 <= part / 2 && (16 + 8) * 24 * 9 > part);
    let [processing, total] = both_cycles(&prob, map, &hw);
    assert_eq!(processing, (5276, 5286));
    assert_eq!(total, (13251, 13220), "+0.2%");
}
