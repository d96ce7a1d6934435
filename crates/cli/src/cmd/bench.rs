//! `sesload bench`.

/// Arguments of `sesload bench`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`sesload bench` is not built yet")
}
