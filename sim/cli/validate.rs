//! `eyesim validate` (to be written).

/// Arguments of `eyesim validate`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `eyesim validate`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`eyesim validate` is not implemented yet")
}
