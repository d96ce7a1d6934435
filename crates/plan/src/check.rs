//! Checking a configuration someone already has (Terraform variables) against the rules the
//! planner follows: the deadline fit, the ESM and Lambda limits, the visibility rule, the payload,
//! and whether the fleet can carry the target at all. Each problem names the values to use.

use std::str::FromStr;

use serde::Serialize;

use crate::PlanError;
use crate::deadline::{
    DEADLINE_RESERVE_SECONDS, batch_fits, drain_seconds, fits_lambda, max_batch_for_timeout,
    min_timeout_for_batch, steady_instance_rate,
};
use crate::inputs::{Inputs, validate};
use crate::limits::{
    BATCH_SIZE_WITHOUT_WINDOW, MAX_BATCH_SIZE, MAX_FUNCTION_TIMEOUT_S, MAX_MAXIMUM_CONCURRENCY,
    MAX_VISIBILITY_TIMEOUT_S, MIN_MAXIMUM_CONCURRENCY,
};
use crate::model::{
    batching_window_for, max_batch_for_payload, sending_at, visibility_timeout_for,
};

/// The deployed settings to check, by their Terraform variable names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Settings {
    pub batch_size: u32,
    pub function_timeout_seconds: u32,
    pub maximum_concurrency: u32,
    /// Checked when given.
    pub maximum_batching_window_in_seconds: Option<u32>,
    /// Checked when given.
    pub visibility_timeout_seconds: Option<u32>,
}

/// The keys [`Settings`] parses, required ones first.
pub const SETTINGS_KEYS: [&str; 5] = [
    "batch_size",
    "function_timeout_seconds",
    "maximum_concurrency",
    "maximum_batching_window_in_seconds",
    "visibility_timeout_seconds",
];

impl FromStr for Settings {
    type Err = PlanError;

    /// `batch_size=20,function_timeout_seconds=30,maximum_concurrency=2` (spaces allowed; the
    /// last two keys are optional).
    fn from_str(s: &str) -> Result<Self, PlanError> {
        let bad = |why: String| PlanError::Settings(why);
        let mut values: [Option<u32>; 5] = [None; 5];
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| bad(format!("{pair:?} is not KEY=VALUE")))?;
            let (key, value) = (key.trim(), value.trim());
            let slot = SETTINGS_KEYS
                .iter()
                .position(|k| *k == key)
                .ok_or_else(|| {
                    bad(format!(
                        "unknown setting {key:?}; known: {}",
                        SETTINGS_KEYS.join(", ")
                    ))
                })?;
            let n: u32 = value
                .parse()
                .map_err(|_| bad(format!("{key} = {value:?} is not a whole number ≥ 0")))?;
            if values[slot].replace(n).is_some() {
                return Err(bad(format!("{key} is given twice")));
            }
        }
        let missing: Vec<&str> = (0..3)
            .filter(|&k| values[k].is_none())
            .map(|k| SETTINGS_KEYS[k])
            .collect();
        if !missing.is_empty() {
            return Err(bad(format!("missing {}", missing.join(", "))));
        }
        Ok(Settings {
            batch_size: values[0].unwrap_or_default(),
            function_timeout_seconds: values[1].unwrap_or_default(),
            maximum_concurrency: values[2].unwrap_or_default(),
            maximum_batching_window_in_seconds: values[3],
            visibility_timeout_seconds: values[4],
        })
    }
}

/// One rule a setting breaks, and what to use instead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// The Terraform variable at fault.
    pub setting: &'static str,
    pub value: u32,
    pub rule: String,
    pub fix: String,
}

/// The verdict on a configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingsCheck {
    pub settings: Settings,
    /// `R_f / maximum_concurrency` (emails/s), with `maximum_concurrency` held to 2–1,000.
    pub per_instance_rate: f64,
    /// `batch_size / per_instance_rate`.
    pub drain_seconds: f64,
    /// `floor((function_timeout_seconds − 3) × r_i)`.
    pub max_batch_for_timeout: u32,
    /// `ceil(batch_size / r_i + 3)`.
    pub min_timeout_for_batch: u32,
    /// Rules broken: the configuration does not work as deployed.
    pub problems: Vec<Problem>,
    /// It works, but not as well as it could.
    pub warnings: Vec<Problem>,
}

impl SettingsCheck {
    pub fn fits(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Check `s` for an account described by `i` (`max_send_rate`, `target_utilisation`, the
/// latency and concurrency for the capacity warning, `message_bytes` for the payload).
pub fn check_settings(i: &Inputs, s: &Settings) -> Result<SettingsCheck, PlanError> {
    validate(i)?;
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut problem = |setting, value, rule: String, fix: String| {
        problems.push(Problem {
            setting,
            value,
            rule,
            fix,
        })
    };

    let mc = s
        .maximum_concurrency
        .clamp(MIN_MAXIMUM_CONCURRENCY, MAX_MAXIMUM_CONCURRENCY);
    if mc != s.maximum_concurrency {
        problem(
            "maximum_concurrency",
            s.maximum_concurrency,
            format!(
                "the ESM's MaximumConcurrency is {MIN_MAXIMUM_CONCURRENCY}–{MAX_MAXIMUM_CONCURRENCY}"
            ),
            format!("maximum_concurrency = {mc}"),
        );
    }
    let rate = steady_instance_rate(i.max_send_rate, i.target_utilisation, mc);
    let drain = drain_seconds(s.batch_size, rate);
    let max_batch = max_batch_for_timeout(s.function_timeout_seconds, rate);
    let min_timeout = min_timeout_for_batch(s.batch_size, rate);

    if !(1..=MAX_BATCH_SIZE).contains(&s.batch_size) {
        problem(
            "batch_size",
            s.batch_size,
            format!("an SQS event source takes batches of 1–{MAX_BATCH_SIZE}"),
            format!(
                "batch_size = {}",
                s.batch_size.clamp(1, MAX_BATCH_SIZE).min(max_batch.max(1))
            ),
        );
    }
    if !fits_lambda(s.function_timeout_seconds) {
        problem(
            "function_timeout_seconds",
            s.function_timeout_seconds,
            format!("Lambda allows 1–{MAX_FUNCTION_TIMEOUT_S} s"),
            format!(
                "function_timeout_seconds = {}",
                if s.function_timeout_seconds > MAX_FUNCTION_TIMEOUT_S {
                    MAX_FUNCTION_TIMEOUT_S
                } else {
                    min_timeout.max(DEADLINE_RESERVE_SECONDS + 1)
                }
            ),
        );
    }
    if s.batch_size >= 1 && !batch_fits(s.batch_size, s.function_timeout_seconds, rate) {
        let window = s
            .maximum_batching_window_in_seconds
            .unwrap_or_else(|| batching_window_for(s.batch_size));
        let mut fixes = Vec::new();
        if max_batch >= 1 {
            fixes.push(format!(
                "batch_size ≤ {max_batch} (at function_timeout_seconds = {})",
                s.function_timeout_seconds
            ));
        }
        if fits_lambda(min_timeout) {
            fixes.push(format!(
                "function_timeout_seconds ≥ {min_timeout} (at batch_size = {}; then \
                 visibility_timeout_seconds ≥ {})",
                s.batch_size,
                visibility_timeout_for(min_timeout, window)
            ));
        }
        if fixes.is_empty() {
            fixes.push(format!(
                "nothing fits: at {rate:.4} emails/s per instance not one email drains within \
                 Lambda's {MAX_FUNCTION_TIMEOUT_S} s; lower maximum_concurrency"
            ));
        }
        problem(
            "batch_size",
            s.batch_size,
            format!(
                "a batch must drain before the deadline reserve: {} / {rate:.4} emails/s per \
                 instance + {DEADLINE_RESERVE_SECONDS} s = {:.1} s > function_timeout_seconds = {}",
                s.batch_size,
                drain + f64::from(DEADLINE_RESERVE_SECONDS),
                s.function_timeout_seconds
            ),
            format!("use {}", fixes.join(", or ")),
        );
    }
    if let Some(window) = s.maximum_batching_window_in_seconds {
        if window > 300 {
            problem(
                "maximum_batching_window_in_seconds",
                window,
                "the ESM allows 0–300 s".into(),
                "maximum_batching_window_in_seconds = 300".into(),
            );
        } else if s.batch_size > BATCH_SIZE_WITHOUT_WINDOW && window < 1 {
            problem(
                "maximum_batching_window_in_seconds",
                window,
                format!(
                    "a batch_size above {BATCH_SIZE_WITHOUT_WINDOW} needs a batching window ≥ 1 s"
                ),
                "maximum_batching_window_in_seconds = 1".into(),
            );
        }
    }
    if let Some(visibility) = s.visibility_timeout_seconds {
        let window = s
            .maximum_batching_window_in_seconds
            .unwrap_or_else(|| batching_window_for(s.batch_size));
        let least = visibility_timeout_for(s.function_timeout_seconds, window);
        if visibility < least {
            problem(
                "visibility_timeout_seconds",
                visibility,
                format!(
                    "the queue's visibility timeout must be ≥ 6 × function_timeout_seconds + \
                     batching window = 6 × {} + {window}",
                    s.function_timeout_seconds
                ),
                format!("visibility_timeout_seconds = {least}"),
            );
        } else if visibility > MAX_VISIBILITY_TIMEOUT_S {
            problem(
                "visibility_timeout_seconds",
                visibility,
                format!("SQS allows at most {MAX_VISIBILITY_TIMEOUT_S} s"),
                format!("visibility_timeout_seconds = {least}"),
            );
        }
    }
    let payload_cap = max_batch_for_payload(i.message_bytes);
    if s.batch_size > payload_cap {
        problem(
            "batch_size",
            s.batch_size,
            format!(
                "{} records of {} bytes exceed Lambda's 6 MB invocation payload",
                s.batch_size, i.message_bytes
            ),
            format!("batch_size ≤ {payload_cap}"),
        );
    }

    // Capacity: advisory, since a fleet that cannot reach the target still sends correctly.
    let sending = sending_at(i, rate);
    if sending.instance_plannable_rate < rate {
        let target = rate * f64::from(mc);
        let needed = (target / sending.instance_plannable_rate).ceil();
        warnings.push(Problem {
            setting: "maximum_concurrency",
            value: s.maximum_concurrency,
            rule: format!(
                "each instance must pace {rate:.1} emails/s but can plan on {:.1} \
                 ({} calls in flight at {:.0} ms): the fleet stays below the {target:.1} emails/s target",
                sending.instance_plannable_rate,
                i.send_concurrency,
                sending.slot_seconds * 1000.0,
            ),
            fix: format!("maximum_concurrency ≥ {needed:.0}, or a higher send_concurrency"),
        });
    }

    Ok(SettingsCheck {
        settings: *s,
        per_instance_rate: rate,
        drain_seconds: drain,
        max_batch_for_timeout: max_batch,
        min_timeout_for_batch: min_timeout,
        problems,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox() -> Inputs {
        Inputs::new(1.0, 50.0)
    }

    #[test]
    fn settings_parse_and_bad_ones_are_named() {
        let s: Settings = "batch_size=20, function_timeout_seconds = 30,maximum_concurrency=2"
            .parse()
            .unwrap();
        assert_eq!(
            s,
            Settings {
                batch_size: 20,
                function_timeout_seconds: 30,
                maximum_concurrency: 2,
                maximum_batching_window_in_seconds: None,
                visibility_timeout_seconds: None,
            }
        );
        for (text, needle) in [
            (
                "batch_size=20,function_timeout_seconds=30",
                "missing maximum_concurrency",
            ),
            (
                "batch_size=20,timeout=30,maximum_concurrency=2",
                "unknown setting \"timeout\"",
            ),
            (
                "batch_size=2.5,function_timeout_seconds=30,maximum_concurrency=2",
                "batch_size = \"2.5\"",
            ),
            ("batch_size", "\"batch_size\" is not KEY=VALUE"),
            ("batch_size=1,batch_size=2", "batch_size is given twice"),
        ] {
            let e = text.parse::<Settings>().unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn the_terraform_default_batch_does_not_fit_the_sandbox() {
        let s: Settings = "batch_size=20,function_timeout_seconds=30,maximum_concurrency=2"
            .parse()
            .unwrap();
        let c = check_settings(&sandbox(), &s).unwrap();
        assert!(!c.fits());
        assert_eq!(c.max_batch_for_timeout, 13);
        assert_eq!(c.min_timeout_for_batch, 44);
        assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
        let p = &c.problems[0];
        assert_eq!(p.setting, "batch_size");
        assert!(p.fix.contains("batch_size ≤ 13"), "{}", p.fix);
        assert!(p.fix.contains("function_timeout_seconds ≥ 44"), "{}", p.fix);
        // 6 × 44 + the least window for a batch of 20 (1 s).
        assert!(
            p.fix.contains("visibility_timeout_seconds ≥ 265"),
            "{}",
            p.fix
        );
    }

    #[test]
    fn a_fitting_configuration_passes() {
        let s: Settings = "batch_size=13,function_timeout_seconds=30,maximum_concurrency=2,\
                           maximum_batching_window_in_seconds=1,visibility_timeout_seconds=181"
            .parse()
            .unwrap();
        let c = check_settings(&sandbox(), &s).unwrap();
        assert!(c.fits(), "{:?}", c.problems);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn every_rule_is_checked() {
        let s = Settings {
            batch_size: 20,
            function_timeout_seconds: 901,
            maximum_concurrency: 1,
            maximum_batching_window_in_seconds: Some(0),
            visibility_timeout_seconds: Some(100),
        };
        let c = check_settings(&Inputs::new(200.0, 50.0), &s).unwrap();
        let broken: Vec<&str> = c.problems.iter().map(|p| p.setting).collect();
        assert_eq!(
            broken,
            [
                "maximum_concurrency",
                "function_timeout_seconds",
                "maximum_batching_window_in_seconds",
                "visibility_timeout_seconds"
            ],
            "{:?}",
            c.problems
        );
        assert_eq!(c.problems[0].fix, "maximum_concurrency = 2");
        assert_eq!(c.problems[1].fix, "function_timeout_seconds = 900");
        assert_eq!(c.problems[3].fix, "visibility_timeout_seconds = 5406");

        let mut i = Inputs::new(200.0, 50.0);
        i.message_bytes = 200 * 1024;
        let s = Settings {
            batch_size: 100,
            function_timeout_seconds: 30,
            maximum_concurrency: 2,
            maximum_batching_window_in_seconds: None,
            visibility_timeout_seconds: None,
        };
        let c = check_settings(&i, &s).unwrap();
        assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
        assert!(c.problems[0].rule.contains("6 MB"), "{:?}", c.problems);
    }

    #[test]
    fn too_few_instances_is_a_warning_with_the_count() {
        let s = Settings {
            batch_size: 1_000,
            function_timeout_seconds: 30,
            maximum_concurrency: 2,
            maximum_batching_window_in_seconds: Some(1),
            visibility_timeout_seconds: None,
        };
        let c = check_settings(&Inputs::new(5_000.0, 80.0), &s).unwrap();
        assert!(c.fits(), "{:?}", c.problems);
        assert_eq!(c.warnings.len(), 1);
        assert!(
            c.warnings[0].fix.contains("maximum_concurrency ≥ 18"),
            "{:?}",
            c.warnings
        );
    }
}
