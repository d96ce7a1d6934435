//! `sesload sim`.

/// Arguments of `sesload sim`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`sesload sim` is not built yet")
}
