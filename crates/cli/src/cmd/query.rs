//! `sesload query`: run a saved query of `sql/` over the local event lake (DuckDB CLI), with the
//! campaign and the `dt` range bound to its parameters.

use std::path::PathBuf;

use anyhow::Context;
use sesload_analytics::output::{Format, render};
use sesload_analytics::{Catalog, Engine, QueryParams, QueryRunner, engine::locate_duckdb};

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

/// Arguments of `sesload query`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Saved query: name (`02_duplicates`), short name (`duplicates`), number (`2`) or a .sql file.
    #[arg(required_unless_present = "list")]
    pub query: Option<String>,
    /// Campaign (value of the `campaign` tag); bound to the query's first `?`.
    #[arg(long)]
    pub campaign: Option<String>,
    /// The `dt` range, bound to `dt BETWEEN ? AND ?` (default: the whole local lake).
    #[command(flatten)]
    pub range: super::range_args::RangeArgs,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    #[command(flatten)]
    pub local: super::DataDirArgs,
    /// Event lake directory (overrides `<data-dir>/lake`).
    #[arg(long, env = "SESLOAD_LAKE")]
    pub lake: Option<PathBuf>,
    /// Read the SQL from this `sql/` directory instead of the copy built into the binary.
    #[arg(long, env = "SESLOAD_SQL_DIR")]
    pub sql_dir: Option<PathBuf>,
    /// List the saved queries and exit.
    #[arg(long)]
    pub list: bool,
}

pub(crate) fn catalog(sql_dir: Option<&PathBuf>) -> anyhow::Result<Catalog> {
    Ok(match sql_dir {
        Some(d) => Catalog::from_dir(d)?,
        None => Catalog::embedded(),
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let catalog = catalog(args.sql_dir.as_ref())?;
    if args.list {
        for q in &catalog.queries {
            let purpose = q
                .sql
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("--")
                .trim();
            println!("{:<28} {purpose}", q.name);
        }
        return Ok(());
    }
    let spec = args.query.as_deref().unwrap_or_default();
    let query = catalog.resolve(spec)?;
    let lake = args
        .lake
        .unwrap_or_else(|| args.local.data_dir.join("lake"));
    let engine = Engine::new(locate_duckdb()?, lake, catalog);
    let range = args.range.resolve(None, engine.default_range())?;
    let rs = engine
        .run(&query, &QueryParams::new(args.campaign.as_deref(), range))
        .with_context(|| format!("query {}", query.name))?;
    let format = match args.format {
        OutputFormat::Table => Format::Table,
        OutputFormat::Json => Format::Json,
        OutputFormat::Csv => Format::Csv,
    };
    print!("{}", render(&rs, format));
    Ok(())
}
