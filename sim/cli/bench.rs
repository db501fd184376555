//! `eyesim bench` (to be written).

/// Arguments of `eyesim bench`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `eyesim bench`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`eyesim bench` is not implemented yet")
}
