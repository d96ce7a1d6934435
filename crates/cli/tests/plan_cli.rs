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
