//! `eyesim sweep` (to be written).

/// Arguments of `eyesim sweep`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `eyesim sweep`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`eyesim sweep` is not implemented yet")
}
