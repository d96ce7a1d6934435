//! `sesload`: the command line. Wiring only: each subcommand lives in its own module.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sesload",
    version,
    about = "Queue, personalise and send bulk email through Amazon SES at the rate the account allows, and load-test the pipeline, on AWS or entirely on this machine."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {}
}
