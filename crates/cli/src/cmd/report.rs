//! `sesload report`.

/// Arguments of `sesload report`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`sesload report` is not built yet")
}
