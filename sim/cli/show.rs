//! `eyesim show` (to be written).

/// Arguments of `eyesim show`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `eyesim show`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`eyesim show` is not implemented yet")
}
