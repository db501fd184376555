//! `eyesim run` (to be written).

/// Arguments of `eyesim run`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `eyesim run`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`eyesim run` is not implemented yet")
}
