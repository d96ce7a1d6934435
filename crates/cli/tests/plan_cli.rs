//! `sesload plan` as a user runs it: flags in, table / JSON / tfvars out, clear errors.

use std::process::Command;

fn plan(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sesload"))
        .arg("plan")
        .args(args)
        .output()
        .expect("run sesload plan")
}

#[test]
fn json_output_carries_the_plan_and_the_tfvars() {
    let out = plan(&[
        "--max-send-rate",
        "1000",
        "--ses-latency-ms",
        "50",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &v["plan"];
    assert_eq!(p["maximum_concurrency"], 3);
    assert!(p["batch_size"].as_u64().unwrap() > 10);
    assert_eq!(p["maximum_batching_window_in_seconds"], 1);
    let t = v["tfvars"].as_str().unwrap();
    assert!(t.contains("maximum_concurrency                = 3"), "{t}");
    assert!(v["prices"]["ses_per_thousand_emails"].as_f64().unwrap() > 0.0);
}

#[test]
fn table_output_has_costs_and_tfvars() {
    let out = plan(&["--max-send-rate", "200", "--ses-latency-ms", "50"]);
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("# terraform.tfvars"), "{s}");
    assert!(s.contains("USD per million emails"), "{s}");
}

#[test]
fn region_prices_file_overrides_and_bad_keys_are_named() {
    let dir = std::env::temp_dir().join(format!("sesload-plan-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.json");
    std::fs::write(&good, r#"{"ses_per_thousand_emails": 0.2}"#).unwrap();
    let out = plan(&[
        "--max-send-rate",
        "200",
        "--ses-latency-ms",
        "50",
        "--json",
        "--region-prices",
        good.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ses = v["plan"]["cost_per_million"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["service"] == "SES")
        .unwrap()["usd"]
        .as_f64()
        .unwrap();
    assert!((ses - 200.0).abs() < 1e-9, "{ses}");

    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"ses_per_thousnad": 0.2}"#).unwrap();
    let out = plan(&[
        "--max-send-rate",
        "200",
        "--ses-latency-ms",
        "50",
        "--region-prices",
        bad.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ses_per_thousnad"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn invalid_inputs_fail_with_the_value_named() {
    let out = plan(&["--max-send-rate", "0", "--ses-latency-ms", "50"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("max_send_rate = 0"), "{err}");
    let out = plan(&[
        "--max-send-rate",
        "100",
        "--ses-latency-ms",
        "50",
        "--target-utilisation",
        "2",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("target_utilisation = 2"));
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = plan(&all);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn u(v: &serde_json::Value) -> u32 {
    u32::try_from(
        v.as_u64()
            .unwrap_or_else(|| panic!("{v} is not a whole number")),
    )
    .unwrap()
}

#[test]
fn sandbox_plan_fits_the_deadline_and_says_the_daily_quota_bounds_a_run() {
    // The SES sandbox: 1 email/s, 200 per 24 h; latency left at its default.
    let v = json(&["--max-send-rate", "1"]);
    let p = &v["plan"];
    let (batch, timeout, mc) = (
        u(&p["batch_size"]),
        u(&p["function_timeout_seconds"]),
        u(&p["maximum_concurrency"]),
    );
    assert_eq!(mc, 2);
    // r_i = 1 × 0.98 / 2; the batch drains with the 3 s reserve to spare.
    let r = 0.98 / 2.0;
    assert!(f64::from(batch) / r + 3.0 <= f64::from(timeout), "{p}");
    assert!(
        u(&p["visibility_timeout_seconds"])
            >= 6 * timeout + u(&p["maximum_batching_window_in_seconds"])
    );
    assert_eq!(p["daily_quota"]["max_24_hour_send"], 200.0);
    assert_eq!(p["daily_quota"]["binds"], true);
    let lasts = p["daily_quota"]["lasts_seconds"].as_f64().unwrap();
    assert!((200.0..210.0).contains(&lasts), "{lasts}");

    let out = plan(&["--max-send-rate", "1"]);
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    let row = s
        .lines()
        .find(|l| l.trim_start().starts_with("daily quota"))
        .unwrap_or_else(|| panic!("no daily quota row in\n{s}"));
    assert!(row.contains("200 emails / 24 h"), "{row}");
    assert!(row.contains("bounds a run"), "{row}");
    assert!(row.contains("lasts 3.4 min"), "{row}");
    assert!(row.contains("--max-24-hour-send"), "{row}");
}

#[test]
fn max_24_hour_send_sets_or_lifts_the_daily_quota() {
    let v = json(&["--max-send-rate", "14", "--max-24-hour-send", "50000"]);
    let q = &v["plan"]["daily_quota"];
    assert_eq!(q["binds"], true);
    // 50,000 at 13.7/s: about an hour.
    let lasts = q["lasts_seconds"].as_f64().unwrap();
    assert!((3_600.0..3_700.0).contains(&lasts), "{lasts}");
    let v = json(&["--max-send-rate", "1", "--max-24-hour-send", "-1"]);
    assert!(v["plan"]["daily_quota"].is_null(), "{}", v["plan"]);
    let out = plan(&["--max-send-rate", "1", "--max-24-hour-send", "0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("max_24_hour_send = 0"), "{err}");
}

#[test]
fn check_names_the_values_to_use_when_settings_do_not_fit() {
    let out = plan(&[
        "--max-send-rate",
        "1",
        "--check",
        "batch_size=20,function_timeout_seconds=30,maximum_concurrency=2",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for text in [&stdout, &stderr] {
        assert!(text.contains("batch_size ≤ 13"), "{text}");
        assert!(text.contains("function_timeout_seconds ≥ 44"), "{text}");
    }
    assert!(stdout.contains("does not fit"), "{stdout}");

    let v = {
        let out = plan(&[
            "--max-send-rate",
            "1",
            "--json",
            "--check",
            "batch_size=20,function_timeout_seconds=30,maximum_concurrency=2",
        ]);
        assert_eq!(out.status.code(), Some(1));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    assert_eq!(v["fits"], false);
    assert_eq!(v["check"]["max_batch_for_timeout"], 13);
    assert_eq!(v["check"]["min_timeout_for_batch"], 44);
    assert_eq!(v["check"]["problems"][0]["setting"], "batch_size");
}

#[test]
fn check_passes_settings_that_fit_and_rejects_malformed_ones() {
    let out = plan(&[
        "--max-send-rate",
        "1",
        "--check",
        "batch_size=13,function_timeout_seconds=30,maximum_concurrency=2,visibility_timeout_seconds=181",
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("fits"));

    let out = plan(&[
        "--max-send-rate",
        "1",
        "--check",
        "batch_size=13,timeout=30,maximum_concurrency=2",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown setting \"timeout\""), "{err}");
}

#[test]
fn every_plan_passes_its_own_check() {
    for args in [
        &["--max-send-rate", "1"][..],
        &["--max-send-rate", "14"],
        &["--max-send-rate", "200", "--ses-latency-ms", "50"],
        &["--max-send-rate", "5000", "--ses-latency-ms", "80"],
        &[
            "--max-send-rate",
            "5000",
            "--ses-latency-ms",
            "80",
            "--send-api",
            "bulk",
        ],
        &["--max-send-rate", "1", "--batch-seconds", "2000"],
    ] {
        let p = json(args)["plan"].clone();
        let settings = format!(
            "batch_size={},function_timeout_seconds={},maximum_concurrency={},\
             maximum_batching_window_in_seconds={},visibility_timeout_seconds={}",
            p["batch_size"],
            p["function_timeout_seconds"],
            p["maximum_concurrency"],
            p["maximum_batching_window_in_seconds"],
            p["visibility_timeout_seconds"]
        );
        let mut check = args.to_vec();
        check.extend(["--check", &settings]);
        let out = plan(&check);
        assert!(
            out.status.success(),
            "{args:?} {settings}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn bulk_sends_fewer_calls_with_fewer_instances_and_single_stays_the_default() {
    let base = ["--max-send-rate", "5000", "--ses-latency-ms", "80"];
    let single = json(&base)["plan"].clone();
    assert_eq!(single["inputs"]["send_api"], "single");
    assert_eq!(single["entries_per_call"], 1);
    assert_eq!(single["maximum_concurrency"], 18);
    let mut args = base.to_vec();
    args.extend(["--send-api", "bulk"]);
    let bulk = json(&args)["plan"].clone();
    assert_eq!(bulk["inputs"]["send_api"], "bulk");
    assert_eq!(bulk["entries_per_call"], 50);
    assert_eq!(bulk["maximum_concurrency"], 4);
    assert_eq!(bulk["ses_calls_per_second"].as_f64().unwrap(), 98.0);
    // 80 ms + 50 entries × the default 1 ms; a slower per-entry cost shows in the call latency.
    assert_eq!(bulk["ses_call_ms"].as_f64().unwrap(), 130.0);
    args.extend(["--bulk-per-entry-ms", "4"]);
    assert_eq!(json(&args)["plan"]["ses_call_ms"].as_f64().unwrap(), 280.0);
    assert!(u(&bulk["batch_size"]) > u(&single["batch_size"]));
    let lambda = |p: &serde_json::Value| -> f64 {
        p["cost_per_million"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["service"] == "Lambda")
            .map(|c| c["usd"].as_f64().unwrap())
            .sum()
    };
    assert!(lambda(&bulk) < lambda(&single));

    // In the sandbox a bulk call carries one entry: nothing to gain.
    let b = json(&["--max-send-rate", "1", "--send-api", "bulk"])["plan"].clone();
    assert_eq!(b["entries_per_call"], 1);
    let s = json(&["--max-send-rate", "1"])["plan"].clone();
    assert_eq!(b["batch_size"], s["batch_size"]);
    assert_eq!(b["cost_per_million_usd"], s["cost_per_million_usd"]);
}
