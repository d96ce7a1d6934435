//! `sesload seed`: load N test customers (`user_id` "1".."N") into the local customer store.

use anyhow::Context;
use sesload_local::Admin;

/// Arguments of `sesload seed`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// How many customers to write (user ids start at --start).
    #[arg(long, default_value_t = 10_000)]
    pub count: u64,
    /// First user id.
    #[arg(long, default_value_t = 1)]
    pub start: u64,
    #[command(flatten)]
    pub local: super::DataDirArgs,
    /// No progress bar (for scripts).
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.count > 0, "--count must be at least 1");
    let db = Admin::open(&args.local.data_dir)?;
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(args.count)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "seeding {bar:40.cyan/blue} {pos}/{len} customers ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let end = args.start + args.count;
    let mut next = args.start;
    while next < end {
        let hi = (next + 2_000).min(end);
        db.seed_customers(next..hi)
            .with_context(|| format!("writing user ids {next}..{hi}"))?;
        bar.inc(hi - next);
        next = hi;
    }
    bar.finish_and_clear();
    let total = db.customer_count()?;
    println!(
        "seeded {} customers (user_id {}..={}) into {}; the store now holds {total}",
        args.count,
        args.start,
        end - 1,
        db.path().display()
    );
    Ok(())
}
