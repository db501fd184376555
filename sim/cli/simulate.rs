//! `eyesim simulate` (to be written).

/// Arguments of `eyesim simulate`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `eyesim simulate`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`eyesim simulate` is not implemented yet")
}
