//! Arguments shared by several subcommands: which network and which
//! hardware. Use them with `#[command(flatten)]`.

use crate::analytic::EstimateOptions;
use crate::hw::{self, HwConfig, HwSource};
use crate::mapping::{MappingSet, Objective};
use crate::workload::{self, Network};
use anyhow::Context;
use std::path::PathBuf;

/// `--net NAME|FILE`: a built-in network or a trace file.
#[derive(clap::Args, Debug, Clone)]
pub struct NetArg {
    /// Network: a built-in name (alexnet, vgg16, googlenet, squeezenet,
    /// mobilenet, resnet50) or the path of a trace file.
    #[arg(long = "net", value_name = "NAME|FILE", default_value = "alexnet")]
    pub net: String,
}

impl NetArg {
    /// Loads and validates the network. Every error names the input.
    pub fn load(&self) -> anyhow::Result<Network> {
        Ok(workload::load(&self.net)?)
    }
}

/// `--hw NAME|FILE`: a built-in hardware config or a config file.
#[derive(clap::Args, Debug, Clone)]
pub struct HwArg {
    /// Hardware: a built-in config (eyeriss-v1, eyeriss-isca16-256pe, tiny)
    /// or the path of a hwconfig TOML file.
    #[arg(long = "hw", value_name = "NAME|FILE", default_value = "eyeriss-v1")]
    pub hw: String,
    /// Override one hardware parameter, with the keys and ranges of
    /// `sweep --vary` (repeatable), e.g. --set glb.size_kib=64.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_setting)]
    pub set: Vec<(String, f64)>,
}

/// `KEY=VALUE` with a finite number.
fn parse_setting(s: &str) -> Result<(String, f64), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE (e.g. glb.size_kib=64)"))?;
    let x: f64 = v
        .trim()
        .parse()
        .ok()
        .filter(|x: &f64| x.is_finite())
        .ok_or_else(|| format!("`{v}` in `{s}` is not a number"))?;
    Ok((k.trim().to_string(), x))
}

// Used by estimate, simulate, run and sweep as they land.
#[allow(dead_code)]
impl HwArg {
    /// Loads and validates the config. Every error names the input.
    pub fn load(&self) -> anyhow::Result<HwConfig> {
        if self.set.is_empty() {
            return Ok(hw::load(&self.hw)?);
        }
        Ok(self.source()?.validate()?)
    }

    /// The unvalidated source, for sweeps that apply overrides.
    pub fn source(&self) -> anyhow::Result<HwSource> {
        let mut src = crate::hw::open_source(&self.hw)?;
        for (key, value) in &self.set {
            src = src.with_override(key, *value)?;
        }
        Ok(src)
    }
}

/// The options every model-running command shares: network, hardware,
/// mapper objective, batch, sparsity and pinned mappings.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    #[command(flatten)]
    pub net: NetArg,
    #[command(flatten)]
    pub hw: HwArg,
    /// What the mapper minimizes: energy (the best energy × cycles among the
    /// mappings within 10% of the least energy), cycles, edp, or chip (the
    /// Eyeriss chip's own policy: uniform passes, least DRAM, most PEs, least energy,
    /// judged on the layer without its zeros).
    #[arg(long, default_value = "energy", value_parser = parse_objective)]
    pub objective: Objective,
    /// Images per batch (default: the network's).
    #[arg(long, value_name = "N")]
    pub batch: Option<u32>,
    /// Ignore all sparsity (every weight non-zero, no zero activations).
    #[arg(long)]
    pub dense: bool,
    /// Pin mappings from a mappings.toml; layers not in it are searched.
    /// `chip` is the Eyeriss chip's own AlexNet mappings (JSSC 2017 Table
    /// III, hwconfigs/mappings/eyeriss-v1-alexnet.toml).
    #[arg(long, value_name = "FILE|chip")]
    pub mapping: Option<PathBuf>,
}

fn parse_objective(s: &str) -> Result<Objective, String> {
    s.parse()
}

impl ModelArgs {
    /// Loads the network (densified with `--dense`, with `--batch` applied),
    /// the hardware, and the estimate options (objective, pinned mappings).
    pub fn load(&self) -> anyhow::Result<(Network, HwConfig, EstimateOptions)> {
        let mut net = self.net.load()?;
        if self.dense {
            net = net.densified();
        }
        if let Some(b) = self.batch {
            anyhow::ensure!(b > 0, "--batch must be at least 1");
            net.batch = b;
        }
        let hw = self.hw.load()?;
        let pinned = match &self.mapping {
            Some(path) if path.as_os_str() == "chip" => {
                crate::mapping::builtin_mappings("chip").expect("`chip` is shipped")
            }
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                MappingSet::from_toml_str(&text, &path.display().to_string())?
            }
            None => MappingSet::new(),
        };
        let opts = EstimateOptions {
            objective: self.objective,
            pinned,
            batch: None,
            threads: 0,
        };
        Ok((net, hw, opts))
    }

    /// `DIR` if given, else `results/<prefix><net>-<hw>`.
    pub fn out_dir(
        &self,
        out: &Option<PathBuf>,
        prefix: &str,
        net: &Network,
        hw: &HwConfig,
    ) -> PathBuf {
        out.clone()
            .unwrap_or_else(|| default_out_dir(prefix, &net.name, &hw.name, ""))
    }
}

/// `results/<prefix><net>-<hw><suffix>`, each name made one safe path
/// component (names are validated when read; this also covers networks
/// built in code).
pub fn default_out_dir(prefix: &str, net: &str, hw: &str, suffix: &str) -> PathBuf {
    use crate::stats::sanitize_file_name as safe;
    PathBuf::from("results").join(format!("{prefix}{}-{}{suffix}", safe(net), safe(hw)))
}

/// The options of commands that run the simulator on data.
#[derive(clap::Args, Debug, Clone)]
pub struct SimDataArgs {
    /// Comma-separated layer names to simulate (default: all).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub layers: Vec<String>,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Read real data from DIR/<layer>.{ifmap,weights,bias}.npy instead.
    #[arg(long, value_name = "DIR")]
    pub weights: Option<PathBuf>,
    /// Worker threads (default: all cores): layers at once, and within a
    /// layer its psum tiles run ahead. Results never depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Most memory the simulation may use, e.g. 8G or 500M (default: the
    /// memory this machine has free).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
    /// Simulate every pass in time. By default a pass identical to one the
    /// layer already timed moves its data all the same but takes its twin's
    /// cycles (docs/engine.md, "Timing reuse"); results never depend on it.
    #[arg(long)]
    pub time_every_pass: bool,
}

/// `8G`, `500M`, `64K` or a number of bytes.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('G') => (&t[..t.len() - 1], 1u64 << 30),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('K') => (&t[..t.len() - 1], 1 << 10),
        _ => (t, 1),
    };
    match num.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok((x * mult as f64) as u64),
        _ => Err(format!("'{s}' is not a size (e.g. 8G, 500M, 65536)")),
    }
}

/// Free memory as the kernel reports it (`MemAvailable`), if it can be read.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl SimDataArgs {
    /// Indices of the layers named by `--layers` (all when absent), in
    /// network order; an unknown name suggests the closest one.
    pub fn select(&self, net: &Network) -> anyhow::Result<Vec<usize>> {
        select_layers(&self.layers, net)
    }

    /// The simulation's memory limit: `--max-memory`, else the free memory.
    pub fn max_memory(&self) -> anyhow::Result<Option<u64>> {
        Ok(self.max_memory.or_else(available_memory))
    }

    /// Worker threads: `--threads`, else every core.
    pub fn threads(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

/// Indices of the layers `names` (all when empty), in network order. An
/// empty name (`--layers ''`, a trailing or doubled comma) is an error; an
/// unknown name suggests the closest one, ignoring letter case first.
pub fn select_layers(names: &[String], net: &Network) -> anyhow::Result<Vec<usize>> {
    if names.is_empty() {
        return Ok((0..net.layers.len()).collect());
    }
    if names.iter().any(|n| n.trim().is_empty()) {
        let all: Vec<&str> = net.layers.iter().map(|l| l.name.as_str()).collect();
        anyhow::bail!(
            "--layers: empty layer name (an empty list, or a trailing or doubled comma?); \
             give comma-separated names, e.g. --layers {}, or leave --layers out for all \
             layers of `{}`: {}",
            all.iter().take(2).copied().collect::<Vec<_>>().join(","),
            net.name,
            all.join(", ")
        );
    }
    let mut out = Vec::new();
    for name in names {
        let name = name.trim();
        let Some(i) = net.layers.iter().position(|l| l.name == name) else {
            let hint = match net
                .layers
                .iter()
                .find(|l| l.name.eq_ignore_ascii_case(name))
            {
                Some(l) => format!(" (did you mean `{}`? names are case-sensitive)", l.name),
                None => {
                    let lower = name.to_lowercase();
                    net.layers
                        .iter()
                        .map(|l| {
                            (
                                strsim::jaro_winkler(&l.name.to_lowercase(), &lower),
                                &l.name,
                            )
                        })
                        .max_by(|a, b| a.0.total_cmp(&b.0))
                        .map_or(String::new(), |(_, n)| format!(" (did you mean `{n}`?)"))
                }
            };
            anyhow::bail!(
                "--layers: network `{}` has no layer `{name}`{hint}",
                net.name
            );
        };
        out.push(i);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Writes `accesses.csv` and `layers.csv` of `rows` into `dir`, atomically.
pub fn write_result_csvs(
    dir: &std::path::Path,
    rows: &[crate::stats::LayerResult],
    hw: &HwConfig,
) -> anyhow::Result<()> {
    use crate::stats;
    let unit = hw.energy.unit;
    write_files(
        dir,
        vec![
            ("accesses.csv", stats::csv::accesses_csv(rows, unit)),
            (
                "layers.csv",
                stats::csv::layers_csv(rows, unit, hw.clock.core_mhz),
            ),
        ],
    )
}

/// Writes each `(name, bytes)` into `dir`, atomically.
pub fn write_files(dir: &std::path::Path, files: Vec<(&str, Vec<u8>)>) -> anyhow::Result<()> {
    for (name, bytes) in files {
        let path = dir.join(name);
        crate::stats::write_atomic(&path, &bytes)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// A per-layer progress bar on stderr; hidden when stderr is not a
/// terminal or when `quiet`, and reported to the host when there is one.
pub fn layer_progress(layers: usize, quiet: bool) -> indicatif::ProgressBar {
    use indicatif::ProgressStyle;
    let bar = super::host::bar(Some(layers as u64), !quiet);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>10} [{bar:30}] {pos}/{len} layers {msg} ({elapsed})",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar
}
