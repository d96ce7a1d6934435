//! `sesload up`.

/// Arguments of `sesload up`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`sesload up` is not built yet")
}
