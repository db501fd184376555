//! `eyesim plot` (to be written).

/// Arguments of `eyesim plot`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `eyesim plot`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`eyesim plot` is not implemented yet")
}
