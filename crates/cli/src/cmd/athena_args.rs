//! `--athena` and its settings: run the saved queries in the deployment's Athena workgroup.

use std::path::PathBuf;
use std::time::Duration;

use sesload_aws::athena::{AthenaRunner, PartialSettings};

/// Where `sesload report --athena` runs the queries.
#[derive(clap::Args, Debug, Clone)]
pub struct AthenaArgs {
    /// Run the saved queries in the deployment's Athena workgroup instead of over the local lake.
    /// Uses your AWS credentials (environment, ~/.aws profiles, credential_process, an instance or
    /// container role); they need the permissions of the `athena_report_policy_json` Terraform
    /// output. Counters come only from --counters or --stats-url then, never the local database. Athena bills the bytes each
    /// query scans: --from/--to (or the campaign's span) decide how many days that is.
    #[arg(long)]
    pub athena: bool,
    /// Terraform directory whose outputs name the workgroup, database, region and results
    /// location (`terraform output -json`; `$TERRAFORM` names the executable).
    #[arg(long, value_name = "DIR", default_value = "terraform")]
    pub terraform_dir: PathBuf,
    /// Athena workgroup (default: the `athena_workgroup_name` output).
    #[arg(long, value_name = "NAME")]
    pub athena_workgroup: Option<String>,
    /// Glue database of `ses_events` and the views (default: the `athena_database_name` output).
    #[arg(long, value_name = "NAME")]
    pub athena_database: Option<String>,
    /// AWS region of the workgroup (default: the `region` output, else the SDK's region chain).
    #[arg(long, value_name = "REGION")]
    pub athena_region: Option<String>,
    /// Query results location, `s3://bucket/prefix/` (default: the `athena_results_location`
    /// output; a workgroup that enforces its own ignores it).
    #[arg(long, value_name = "S3_URI")]
    pub athena_output_location: Option<String>,
    /// Longest wait for the queries, in seconds; queries still running then are stopped.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub athena_timeout: u64,
}

impl AthenaArgs {
    /// The runner, its settings completed from the Terraform outputs where no flag gives them.
    pub fn runner(&self) -> anyhow::Result<AthenaRunner> {
        let settings = PartialSettings {
            workgroup: self.athena_workgroup.clone(),
            database: self.athena_database.clone(),
            region: self.athena_region.clone(),
            output_location: self.athena_output_location.clone(),
            timeout: Some(Duration::from_secs(self.athena_timeout)),
        }
        .resolve(&self.terraform_dir)?;
        Ok(AthenaRunner::from_env(settings)?)
    }
}
