//! `sesload dlq`.

/// Arguments of `sesload dlq`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`sesload dlq` is not built yet")
}
