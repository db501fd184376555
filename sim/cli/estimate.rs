//! `eyesim estimate` (to be written).

/// Arguments of `eyesim estimate`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `eyesim estimate`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`eyesim estimate` is not implemented yet")
}
