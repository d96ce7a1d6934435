//! `sesload seed`.

/// Arguments of `sesload seed`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`sesload seed` is not built yet")
}
