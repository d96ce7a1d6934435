//! `sesload plan`.

/// Arguments of `sesload plan`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`sesload plan` is not built yet")
}
