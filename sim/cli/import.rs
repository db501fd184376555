//! `eyesim import` (to be written).

/// Arguments of `eyesim import`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `eyesim import`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`eyesim import` is not implemented yet")
}
