//! `sesload query`.

/// Arguments of `sesload query`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`sesload query` is not built yet")
}
