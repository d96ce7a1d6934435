//! Where the Athena runner runs: the deployment's workgroup, database, region and results
//! location, read from `terraform output -json` (the stack's outputs) unless given directly.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::AthenaError;

/// The Terraform outputs the runner reads (root module `terraform/outputs.tf`).
pub const OUTPUT_WORKGROUP: &str = "athena_workgroup_name";
pub const OUTPUT_DATABASE: &str = "athena_database_name";
pub const OUTPUT_REGION: &str = "region";
pub const OUTPUT_RESULTS: &str = "athena_results_location";

/// How long the runner waits for the queries by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The workgroup the saved queries run in and how long to wait for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AthenaSettings {
    pub workgroup: String,
    /// Database of `ses_events` and the views (the query execution context).
    pub database: String,
    /// None: the SDK's region chain (`AWS_REGION`, profile).
    pub region: Option<String>,
    /// `s3://bucket/prefix/` for results; None leaves it to the workgroup (which enforces its own
    /// in this stack).
    pub output_location: Option<String>,
    /// Longest wait for all queries of one call; still-running queries are stopped then.
    pub timeout: Duration,
}

/// Settings given on the command line; what is missing comes from the Terraform outputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartialSettings {
    pub workgroup: Option<String>,
    pub database: Option<String>,
    pub region: Option<String>,
    pub output_location: Option<String>,
    pub timeout: Option<Duration>,
}

impl PartialSettings {
    /// Complete with `outputs` (the JSON of `terraform output -json`); a flag wins over an output.
    pub fn complete_with(
        self,
        outputs: &Value,
        origin: &str,
    ) -> Result<AthenaSettings, AthenaError> {
        let out = |name: &str| output_value(outputs, name);
        let required = |given: Option<String>, name: &'static str| {
            given
                .or_else(|| out(name))
                .ok_or_else(|| AthenaError::MissingOutput {
                    name,
                    origin: origin.to_owned(),
                })
        };
        Ok(AthenaSettings {
            workgroup: required(self.workgroup, OUTPUT_WORKGROUP)?,
            database: required(self.database, OUTPUT_DATABASE)?,
            region: self.region.or_else(|| out(OUTPUT_REGION)),
            output_location: self.output_location.or_else(|| out(OUTPUT_RESULTS)),
            timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
        })
    }

    /// Settings from the flags alone when they name the workgroup and database, otherwise
    /// completed from `terraform -chdir=<dir> output -json`.
    pub fn resolve(self, terraform_dir: &Path) -> Result<AthenaSettings, AthenaError> {
        if self.workgroup.is_some() && self.database.is_some() {
            return self.complete_with(&Value::Null, "the command line");
        }
        let outputs = terraform_outputs(terraform_dir)?;
        let origin = format!("`terraform output` in {}", terraform_dir.display());
        self.complete_with(&outputs, &origin)
    }
}

/// The string value of the output `name` in `outputs` (the JSON of `terraform output -json`);
/// None when it is absent or empty.
pub fn output_value(outputs: &Value, name: &str) -> Option<String> {
    outputs
        .get(name)
        .and_then(|o| o.get("value"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `terraform -chdir=<dir> output -json` (`$TERRAFORM` or `terraform` on `PATH`).
pub fn terraform_outputs(dir: &Path) -> Result<Value, AthenaError> {
    let program = std::env::var_os("TERRAFORM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("terraform"));
    terraform_outputs_with(&program, dir)
}

/// [`terraform_outputs`] with a given `terraform` executable.
pub fn terraform_outputs_with(program: &Path, dir: &Path) -> Result<Value, AthenaError> {
    let err = |detail: String| AthenaError::Terraform {
        dir: dir.to_owned(),
        detail,
    };
    let out = Command::new(program)
        .arg(format!("-chdir={}", dir.display()))
        .args(["output", "-json", "-no-color"])
        .output()
        .map_err(|e| err(format!("cannot run {}: {e}", program.display())))?;
    if !out.status.success() {
        return Err(err(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
    }
    let v: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| err(format!("its output is not JSON: {e}")))?;
    if v.as_object().is_none_or(|o| o.is_empty()) {
        return Err(err(
            "no outputs: the stack is not applied there (or its state is elsewhere)".into(),
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn outputs() -> Value {
        json!({
            "athena_workgroup_name": {"sensitive": false, "type": "string", "value": "sesload"},
            "athena_database_name": {"sensitive": false, "type": "string", "value": "sesload"},
            "region": {"sensitive": false, "type": "string", "value": "eu-west-1"},
            "athena_results_location": {"sensitive": false, "type": "string",
                                        "value": "s3://sesload-events-1-eu-west-1/athena-results/"},
            "api_key_value": {"sensitive": true, "type": "string", "value": "secret"}
        })
    }

    #[test]
    fn outputs_fill_what_the_flags_leave_out() {
        let s = PartialSettings {
            database: Some("other_db".into()),
            ..Default::default()
        }
        .complete_with(&outputs(), "test")
        .unwrap();
        assert_eq!(s.workgroup, "sesload");
        assert_eq!(s.database, "other_db");
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            s.output_location.as_deref(),
            Some("s3://sesload-events-1-eu-west-1/athena-results/")
        );
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn a_missing_output_is_named() {
        let err = PartialSettings::default()
            .complete_with(&json!({"region": {"value": "eu-west-1"}}), "terraform/")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("athena_workgroup_name") && err.contains("terraform/"),
            "{err}"
        );
    }

    #[test]
    fn flags_alone_need_no_terraform() {
        let s = PartialSettings {
            workgroup: Some("wg".into()),
            database: Some("db".into()),
            ..Default::default()
        }
        .resolve(Path::new("/nonexistent"))
        .unwrap();
        assert_eq!((s.workgroup.as_str(), s.region), ("wg", None));
    }

    #[test]
    fn a_directory_without_a_stack_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("sesload-no-stack-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A stand-in terraform that prints what `terraform output -json` prints without state.
        let fake = dir.join("terraform");
        std::fs::write(&fake, "#!/bin/sh\necho '{}'\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let err = terraform_outputs_with(&fake, &dir).unwrap_err().to_string();
        assert!(
            err.contains("no outputs") && err.contains(&dir.display().to_string()),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
