//! Arguments shared by several subcommands: which network and which
//! hardware. Use them with `#[command(flatten)]`.

use anyhow::Context;
use eyesim::hw::{self, HwConfig, HwSource};
use eyesim::workload::{self, Network};

/// `--net NAME|FILE`: a built-in network or a trace file.
#[derive(clap::Args, Debug, Clone)]
pub struct NetArg {
    /// Network: a built-in name (alexnet, vgg16, googlenet, squeezenet,
    /// mobilenet, resnet50) or the path of a trace file.
    #[arg(long = "net", value_name = "NAME|FILE", default_value = "alexnet")]
    pub net: String,
}

impl NetArg {
    /// Loads and validates the network.
    pub fn load(&self) -> anyhow::Result<Network> {
        workload::load(&self.net).with_context(|| format!("loading network `{}`", self.net))
    }
}

/// `--hw NAME|FILE`: a built-in hardware config or a config file.
#[derive(clap::Args, Debug, Clone)]
pub struct HwArg {
    /// Hardware: a built-in config (eyeriss-v1, eyeriss-isca16-256pe, tiny)
    /// or the path of a hwconfig TOML file.
    #[arg(long = "hw", value_name = "NAME|FILE", default_value = "eyeriss-v1")]
    pub hw: String,
}

// Used by estimate, simulate, run and sweep as they land.
#[allow(dead_code)]
impl HwArg {
    /// Loads and validates the config.
    pub fn load(&self) -> anyhow::Result<HwConfig> {
        hw::load(&self.hw).with_context(|| format!("loading hardware config `{}`", self.hw))
    }

    /// The unvalidated source, for sweeps that apply overrides.
    pub fn source(&self) -> anyhow::Result<HwSource> {
        HwSource::open(&self.hw).with_context(|| format!("opening hardware config `{}`", self.hw))
    }
}
