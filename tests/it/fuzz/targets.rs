//! The fuzz targets: each reader, its seed corpus and its oracle.

use super::engine::signature;
use eyesim::workload::{self, to_trace_toml};
use std::path::Path;
use std::sync::OnceLock;

/// One reader under test.
pub struct Target {
    /// Name (also the folder of its regression inputs).
    pub name: &'static str,
    /// The seed corpus.
    pub seeds: Vec<Vec<u8>>,
    /// Tokens the mutator inserts.
    pub dictionary: &'static [&'static [u8]],
    /// Runs the reader: `Ok(signature)` (`"ok"` when accepted), or a
    /// violated property.
    pub check: fn(&[u8]) -> Result<String, String>,
}

const TOML_TOKENS: &[&[u8]] = &[
    b"=",
    b"\n",
    b"[",
    b"]",
    b"[[",
    b"]]",
    b"\"",
    b"'",
    b"{",
    b"}",
    b",",
    b".",
    b"#",
    b"true",
    b"false",
    b"nan",
    b"inf",
    b"-1",
    b"1e-300",
    b"4294967296",
    b"0",
    b"\"\"",
    b"[]",
    b"\n[array]\n",
    b"\n[pe]\n",
    b"\n[glb]\n",
    b"\n[sparsity]\nrlc = ",
    b"\n[energy]\n",
    b"name = ",
    b"rows = ",
    b"word_bits = ",
    b"\n[[layer]]\n",
    b"\n[network]\n",
    b"kind = \"conv\"",
    b"kind = \"fc\"",
    b"kind = \"add\"",
    b"kind = \"concat\"",
    b"kind = \"maxpool\"",
    b"inputs = [\"input\"]",
    b"kernel = [3, 3]",
    b"padding = [1, 1, 1, 1]",
    b"stride = 0",
    b"groups = 3",
    b"global = true",
    b"ceil_mode = true",
    b"dilation = 2",
    b"\n[[vary]]\nkey = \"glb.size_kib\"\nvalues = ",
    b"\"1..8:x2\"",
    b"\"1..1e9:+1\"",
    b"..",
    b":x",
    b":+",
    b"\"../x\"",
    b"\"a/b\"",
];

fn repo_files(dir: &str, keep: impl Fn(&str) -> bool) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.to_str().is_some_and(&keep))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// `Ok(signature)` of a reader's error, insisting on a message.
fn rejected(msg: String) -> Result<String, String> {
    if msg.trim().is_empty() {
        return Err("an error without a message".into());
    }
    Ok(signature(&msg))
}

/// Every target, for the regression replay.
pub fn all() -> Vec<Target> {
    let mut v = vec![
        hwconfig(),
        trace(),
        sweep_spec(),
        floors(),
        mappings(),
        npy(),
    ];
    #[cfg(feature = "onnx")]
    v.push(onnx());
    v
}

pub fn hwconfig() -> Target {
    Target {
        name: "hwconfig",
        seeds: repo_files("hwconfigs", |p| p.ends_with(".toml")),
        dictionary: TOML_TOKENS,
        check: |input| {
            let text = String::from_utf8_lossy(input);
            match eyesim::hw::from_toml_str(&text, "f.toml") {
                Ok(hw) => {
                    // Sweeps override and revalidate: that must hold too.
                    let src = eyesim::hw::HwSource::from_toml_str(&text, "f.toml");
                    for (k, v) in [("glb.size_kib", 64.0), ("clock.core_mhz", 1e-300)] {
                        let _ = src.with_override(k, v).map(|s| s.validate());
                    }
                    eyesim::stats::check_file_name(&hw.name)
                        .map_err(|e| format!("accepted an unsafe name {:?}: {e}", hw.name))?;
                    // Whatever the validator accepts, the models take: a
                    // small network maps and estimates (or fails cleanly).
                    let opts = eyesim::analytic::EstimateOptions {
                        threads: 1,
                        ..Default::default()
                    };
                    match eyesim::analytic::estimate_network(small_net(), &hw, &opts) {
                        Ok(_) => Ok("ok".into()),
                        Err(e) => Ok(format!("estimate: {}", signature(&e.to_string()))),
                    }
                }
                Err(e) => rejected(e.to_string()),
            }
        },
    }
}

pub fn trace() -> Target {
    let mut seeds = repo_files("traces", |p| {
        p.ends_with(".toml") && !p.ends_with("floors.toml")
    });
    seeds.extend(repo_files("tests/data", |p| p.ends_with(".toml")));
    seeds.extend(repo_files("tests/golden", |p| p.ends_with(".toml")));
    Target {
        name: "trace",
        seeds,
        dictionary: TOML_TOKENS,
        check: |input| {
            let text = String::from_utf8_lossy(input);
            match workload::from_toml_str(&text, "t.toml") {
                Ok(net) => {
                    let back = workload::from_toml_str(&to_trace_toml(&net), "again.toml")
                        .map_err(|e| format!("an accepted trace does not read back: {e}"))?;
                    if back != net {
                        return Err("an accepted trace reads back differently".into());
                    }
                    eyesim::stats::check_file_name(&net.name)
                        .map_err(|e| format!("accepted an unsafe name {:?}: {e}", net.name))?;
                    let _ = net.works(net.batch);
                    Ok("ok".into())
                }
                Err(e) => rejected(e.to_string()),
            }
        },
    }
}

pub fn sweep_spec() -> Target {
    let mut seeds = repo_files("hwconfigs/sweeps", |p| p.ends_with(".toml"));
    seeds.push(
        b"net = \"alexnet\"\n[[vary]]\nkey = \"batch\"\nvalues = [1, 2.5, 4]\n[[vary]]\nkey = \
          \"clock.core_mhz\"\nvalues = \"100..300:+50, 1e3\"\n"
            .to_vec(),
    );
    // `--vary` arguments, which share the value syntax.
    for v in [
        "--vary glb.size_kib=16..512:x2",
        "--vary energy.dram=100,150.5,1e3..2e3:x1.5",
    ] {
        seeds.push(v.as_bytes().to_vec());
    }
    Target {
        name: "sweep_spec",
        seeds,
        dictionary: TOML_TOKENS,
        check: |input| {
            let text = String::from_utf8_lossy(input);
            let space = eyesim::sweep::param_space();
            let axes = match text.strip_prefix("--vary ") {
                Some(arg) => eyesim::sweep::Axis::parse_arg(arg, &space).map(|a| vec![a]),
                None => {
                    eyesim::sweep::SweepSpec::parse(&text, "s.toml").and_then(|s| s.axes(&space))
                }
            };
            match axes.and_then(|axes| eyesim::sweep::SweepPlan::new(axes, "base".into())) {
                Ok(plan) => {
                    for a in &plan.axes {
                        let r = space.range(&a.key).expect("every key has a range");
                        if let Some(v) = a.values.iter().find(|&&v| !r.contains(v)) {
                            return Err(format!("accepted {} = {v}, outside its range", a.key));
                        }
                    }
                    Ok("ok".into())
                }
                Err(e) => rejected(e.to_string()),
            }
        },
    }
}

fn small_net() -> &'static workload::Network {
    static NET: OnceLock<workload::Network> = OnceLock::new();
    NET.get_or_init(|| {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/prune-small.toml"
        ));
        workload::from_toml_str(&text.unwrap(), "small.toml").unwrap()
    })
}

fn alexnet() -> &'static workload::Network {
    static NET: OnceLock<workload::Network> = OnceLock::new();
    NET.get_or_init(|| workload::load("alexnet").unwrap())
}

pub fn floors() -> Target {
    Target {
        name: "floors",
        seeds: repo_files("traces", |p| p.ends_with("floors.toml")),
        dictionary: TOML_TOKENS,
        check: |input| {
            let text = String::from_utf8_lossy(input);
            let r = eyesim::prune::Floors::uniform(0.1)
                .and_then(|f| f.with_file(&text, "f.toml", alexnet()));
            match r {
                Ok(f) => {
                    let bad = f.per_layer.values().find(|&&d| !(0.0..=1.0).contains(&d));
                    match bad {
                        Some(d) => Err(format!("accepted a floor of {d}")),
                        None => Ok("ok".into()),
                    }
                }
                Err(e) => rejected(e.to_string()),
            }
        },
    }
}

pub fn mappings() -> Target {
    let net = alexnet();
    let hw = eyesim::hw::load("eyeriss-v1").unwrap();
    let mut set = eyesim::mapping::MappingSet::new();
    for l in &net.layers {
        if let workload::LayerWork::Array(p) = workload::LayerWork::of(l, net.batch) {
            if let Ok(m) = eyesim::mapping::search(&p, &hw, eyesim::mapping::Objective::Energy) {
                set.insert(&l.name, m);
            }
        }
    }
    Target {
        name: "mappings",
        seeds: vec![set.to_toml().into_bytes()],
        dictionary: TOML_TOKENS,
        check: |input| {
            let text = String::from_utf8_lossy(input);
            match eyesim::mapping::MappingSet::from_toml_str(&text, "m.toml") {
                Ok(_) => Ok("ok".into()),
                Err(e) => rejected(e.to_string()),
            }
        },
    }
}

#[cfg(feature = "onnx")]
pub fn onnx() -> Target {
    use crate::onnx::build::{int, int64_tensor, ints, tensor, Graph};
    let mut a = Graph::new(&[1, 3, 16, 16]);
    a.weight(
        "w1",
        &[8, 3, 3, 3],
        Some(&|i| if i % 3 == 0 { 0.0 } else { 0.5 }),
    );
    a.node(
        "Conv",
        "c1",
        &["x", "w1"],
        &["c1"],
        vec![ints("pads", &[1, 1, 1, 1])],
    );
    a.node("Relu", "r1", &["c1"], &["r1"], vec![]);
    a.node(
        "MaxPool",
        "p1",
        &["r1"],
        &["p1"],
        vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])],
    );
    a.node("Flatten", "f", &["p1"], &["f"], vec![]);
    a.weight("w2", &[10, 512], None);
    a.node("Gemm", "fc", &["f", "w2"], &["y"], vec![int("transB", 1)]);
    let mut b = Graph::new(&[0, 4, 8, 8]);
    b.weight("wa", &[4, 4, 1, 1], Some(&|i| i as f32));
    b.node("Conv", "a", &["x", "wa"], &["a"], vec![]);
    b.node("Add", "s", &["a", "x"], &["s"], vec![]);
    b.node("Concat", "cat", &["s", "a"], &["cat"], vec![int("axis", 1)]);
    b.int64s("shape", &[1, -1]);
    b.node("Reshape", "rs", &["cat", "shape"], &["rs"], vec![]);
    b.node(
        "Constant",
        "k",
        &[],
        &["k"],
        vec![tensor("value", int64_tensor("kv", &[512, 2]))],
    );
    b.node("MatMul", "mm", &["rs", "k"], &["y"], vec![]);
    Target {
        name: "onnx",
        seeds: vec![a.bytes(), b.bytes()],
        dictionary: &[
            b"\x08",
            b"\x12",
            b"\x1a",
            b"\x22",
            b"\x3a",
            b"\xff\xff\xff\xff\x0f",
        ],
        check: |input| match eyesim::onnx::import_bytes(input, "m.onnx", "m") {
            Ok(net) => {
                let text = to_trace_toml(&net);
                match workload::from_toml_str(&text, "m.toml") {
                    Ok(back) if back == net => Ok("ok".into()),
                    // Like `eyesim import`, which refuses to write such a trace.
                    Ok(_) => Ok("does not read back".into()),
                    Err(e) => Ok(format!("trace invalid: {}", signature(&e.to_string()))),
                }
            }
            Err(e) => rejected(e.to_string()),
        },
    }
}

pub fn npy() -> Target {
    let dir = tempfile::tempdir().unwrap();
    let mut seeds = Vec::new();
    for (i, shape) in [vec![4u64], vec![2, 3], vec![1, 2, 3, 4], vec![0, 5]]
        .iter()
        .enumerate()
    {
        let n: u64 = shape.iter().product();
        let values: Vec<i16> = (0..n as i16).map(|v| v.wrapping_mul(7) - 3).collect();
        let p = dir.path().join(format!("{i}.npy"));
        eyesim::data::write_npy_i16(&p, shape, &values).unwrap();
        seeds.push(std::fs::read(&p).unwrap());
    }
    // Version 2.0 (4-byte header length), big-endian data.
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    let header = "{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }          \n";
    v2.extend((header.len() as u32).to_le_bytes());
    v2.extend(header.bytes());
    v2.extend([0, 1, 0xff, 0xfe]);
    seeds.push(v2);
    Target {
        name: "npy",
        seeds,
        dictionary: &[
            b"'descr': '<i2'",
            b"'descr': '<f4'",
            b"'fortran_order': True",
            b"(",
            b")",
            b",",
            b"'shape': ()",
            b"'shape': (18446744073709551615, 2)",
            b"\x93NUMPY",
            b"\x03\x00",
        ],
        check: |input| {
            let f = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
            std::fs::write(f.path(), input).map_err(|e| e.to_string())?;
            match eyesim::data::read_npy_i16(f.path()) {
                Ok(a) => {
                    let n: u64 = a.shape.iter().product();
                    if n != a.values.len() as u64 {
                        return Err(format!("shape {:?} but {} values", a.shape, a.values.len()));
                    }
                    Ok("ok".into())
                }
                Err(e) => rejected(
                    e.to_string()
                        .replace(&f.path().display().to_string(), "f.npy"),
                ),
            }
        },
    }
}
