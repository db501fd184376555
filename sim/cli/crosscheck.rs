//! `eyesim crosscheck` (to be written).

/// Arguments of `eyesim crosscheck`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `eyesim crosscheck`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`eyesim crosscheck` is not implemented yet")
}
