//! `eyesim merge` (to be written).

/// Arguments of `eyesim merge`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `eyesim merge`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`eyesim merge` is not implemented yet")
}
