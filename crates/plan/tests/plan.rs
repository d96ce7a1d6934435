//! The capacity model end to end: `plan()` over quotas, latencies and concurrencies, checked
//! against the AWS limits it must respect and the arithmetic `docs/tuning.md` documents.

use sesload_plan::*;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn p(rate: f64, latency: f64) -> Plan {
    plan(&Inputs::new(rate, latency), &Prices::default()).unwrap()
}

#[test]
fn reference_case_200_per_s_at_50_ms() {
    let r = p(200.0, 50.0);
    // 32 / 60 ms = 533/s per instance; 196/s needs one, the ESM minimum is two.
    assert!(
        (r.instance_capacity - 533.33).abs() < 0.1,
        "{}",
        r.instance_capacity
    );
    assert_eq!(r.maximum_concurrency, 2);
    assert!((r.per_instance_rate - 98.0).abs() < 1e-9);
    assert_eq!(r.batch_size, 294);
    assert_eq!(r.maximum_batching_window_in_seconds, 1);
    // 3 s × 4 + 1 s init.
    assert_eq!(r.function_timeout_seconds, 13);
    assert_eq!(r.visibility_timeout_seconds, 79);
    assert_eq!(r.function_memory_mb, 128);
    // 3 s of sending; 0.05 s (gap + batch work) + 0.06 s (tail) idle, of which the pacer's
    // 0.1 s burst catches up all but 0.01 s.
    let expected = 196.0 * 3.0 / 3.01;
    assert!(
        (r.predicted_rate - expected).abs() < 0.01,
        "{}",
        r.predicted_rate
    );
    assert!(r.notes.iter().any(|n| n.contains("ESM minimum")));
}

#[test]
fn esm_and_deadline_constraints_hold_across_a_grid() {
    for rate in [1.0, 14.0, 50.0, 200.0, 1_000.0, 5_000.0, 20_000.0] {
        for latency in [5.0, 50.0, 120.0, 400.0] {
            for (conc, api) in [1, 8, 32, 128]
                .into_iter()
                .flat_map(|c| [(c, SendApi::Single), (c, SendApi::Bulk)])
            {
                let mut i = Inputs::new(rate, latency);
                i.send_concurrency = conc;
                i.send_api = api;
                let r = match plan(&i, &Prices::default()) {
                    Ok(r) => r,
                    Err(PlanError::TooManyInstances { .. }) => continue,
                    Err(e) => panic!("{e}"),
                };
                let ctx = format!("rate {rate} latency {latency} conc {conc}: {r:?}");
                assert!((2..=1000).contains(&r.maximum_concurrency), "{ctx}");
                assert!((1..=MAX_BATCH_SIZE).contains(&r.batch_size), "{ctx}");
                if r.batch_size > 10 {
                    assert!(r.maximum_batching_window_in_seconds >= 1, "{ctx}");
                }
                assert!(r.maximum_batching_window_in_seconds <= 300, "{ctx}");
                assert!(
                    r.visibility_timeout_seconds
                        >= 6 * r.function_timeout_seconds + r.maximum_batching_window_in_seconds,
                    "{ctx}"
                );
                assert!(
                    r.function_timeout_seconds as f64 >= r.batch_duration_s,
                    "{ctx}"
                );
                assert!(
                    r.function_timeout_seconds <= MAX_FUNCTION_TIMEOUT_S,
                    "{ctx}"
                );
                assert!(
                    (128..=10_240).contains(&r.function_memory_mb)
                        && r.function_memory_mb % 64 == 0,
                    "{ctx}"
                );
                // The fleet's capacity covers the target and its pacing never exceeds the quota.
                assert!(
                    f64::from(r.maximum_concurrency) * r.instance_plannable_rate
                        >= r.target_rate - 1e-9,
                    "{ctx}"
                );
                assert!(
                    r.per_instance_rate * f64::from(r.maximum_concurrency) <= rate + 1e-9,
                    "{ctx}"
                );
                assert!(r.predicted_rate <= rate, "{ctx}");
                // The batch drains before the deadline reserve, and the plan passes its own check.
                assert!(
                    batch_fits(
                        r.batch_size,
                        r.function_timeout_seconds,
                        steady_instance_rate(rate, i.target_utilisation, r.maximum_concurrency)
                    ),
                    "{ctx}"
                );
                let c = check_settings(&i, &r.settings()).unwrap();
                assert!(c.fits() && c.warnings.is_empty(), "{ctx}\n{c:?}");
                // Payload fits.
                assert!(
                    u64::from(r.batch_size) * (i.message_bytes + SQS_RECORD_ENVELOPE_BYTES)
                        <= MAX_INVOKE_PAYLOAD_BYTES,
                    "{ctx}"
                );
            }
        }
    }
}

#[test]
fn instances_grow_with_rate_and_latency_and_shrink_with_concurrency() {
    let mut last = 0;
    for rate in [10.0, 100.0, 500.0, 1_000.0, 2_000.0, 4_000.0, 8_000.0] {
        let m = p(rate, 50.0).maximum_concurrency;
        assert!(m >= last, "rate {rate}: {m} < {last}");
        last = m;
    }
    assert!(last > 2);
    let mut last = 0;
    for latency in [10.0, 50.0, 100.0, 200.0, 400.0] {
        let m = p(4_000.0, latency).maximum_concurrency;
        assert!(m >= last, "latency {latency}: {m} < {last}");
        last = m;
    }
    let mut last = u32::MAX;
    for conc in [4, 8, 16, 32, 64] {
        let mut i = Inputs::new(4_000.0, 50.0);
        i.send_concurrency = conc;
        let m = plan(&i, &Prices::default()).unwrap().maximum_concurrency;
        assert!(m <= last, "concurrency {conc}: {m} > {last}");
        last = m;
    }
}

#[test]
fn predicted_rate_grows_with_quota_and_utilisation() {
    let mut last = 0.0;
    for rate in [5.0, 50.0, 200.0, 1_000.0, 10_000.0] {
        let r = p(rate, 50.0).predicted_rate;
        assert!(r > last);
        last = r;
    }
    let mut last = 0.0;
    for u in [0.5, 0.7, 0.9, 1.0] {
        let mut i = Inputs::new(500.0, 50.0);
        i.target_utilisation = u;
        let r = plan(&i, &Prices::default()).unwrap().predicted_rate;
        assert!(r > last);
        last = r;
    }
}

#[test]
fn sequential_sender_needs_the_original_samples_fleet() {
    // One send at a time at 50 ms (plus 10 ms ledger): ≈ 16.7/s, 13.3/s plannable.
    // 80/s × 0.98 = 78.4/s needs 6 instances; with 32 in flight, 2 do.
    let mut i = Inputs::new(80.0, 50.0);
    i.send_concurrency = 1;
    assert_eq!(plan(&i, &Prices::default()).unwrap().maximum_concurrency, 6);
    i.send_concurrency = 32;
    assert_eq!(plan(&i, &Prices::default()).unwrap().maximum_concurrency, 2);
}

#[test]
fn a_sandbox_account_gets_small_batches_without_a_window() {
    // A sandbox account (1/s): tiny batches, no window.
    let r = p(1.0, 50.0);
    assert!(r.batch_size <= 10, "{r:?}");
    assert_eq!(r.maximum_batching_window_in_seconds, 0);
}

#[test]
fn payload_limit_caps_the_batch() {
    let mut i = Inputs::new(20_000.0, 50.0);
    i.message_bytes = 200 * 1024;
    i.batch_seconds = 5.0;
    let r = plan(&i, &Prices::default()).unwrap();
    assert_eq!(r.batch_size, max_batch_for_payload(200 * 1024));
    assert!(r.batch_size < 40);
    assert!(r.notes.iter().any(|n| n.contains("6 MB")));
}

#[test]
fn unreachable_rate_names_the_fix() {
    let mut i = Inputs::new(1_000_000.0, 100.0);
    i.send_concurrency = 4;
    let e = plan(&i, &Prices::default()).unwrap_err();
    assert!(e.to_string().contains("--send-concurrency"), "{e}");
}

#[test]
fn bad_inputs_name_the_value() {
    for (f, name) in [
        (
            Box::new(|i: &mut Inputs| i.max_send_rate = 0.0) as Box<dyn Fn(&mut Inputs)>,
            "max_send_rate",
        ),
        (
            Box::new(|i: &mut Inputs| i.ses_latency_ms = -1.0),
            "ses_latency_ms",
        ),
        (
            Box::new(|i: &mut Inputs| i.target_utilisation = 1.5),
            "target_utilisation",
        ),
        (
            Box::new(|i: &mut Inputs| i.send_concurrency = 0),
            "send_concurrency",
        ),
        (
            Box::new(|i: &mut Inputs| i.max_send_rate = f64::NAN),
            "max_send_rate",
        ),
    ] {
        let mut i = Inputs::new(100.0, 50.0);
        f(&mut i);
        let e = plan(&i, &Prices::default()).unwrap_err().to_string();
        assert!(e.contains(name), "{e}");
    }
}

#[test]
fn cost_is_dominated_by_ses_and_scales_with_volume() {
    let r = p(200.0, 50.0);
    let ses = r
        .cost_per_million
        .iter()
        .find(|c| c.service == "SES")
        .unwrap();
    assert!((ses.usd - 100.0).abs() < 1e-9);
    assert!(
        r.cost_per_million_usd > 100.0 && r.cost_per_million_usd < 110.0,
        "{}",
        r.cost_per_million_usd
    );
    // Lambda: 1e6 / 98 s × 0.125 GB ≈ 1276 GB-s + per-batch overhead.
    let dur = r
        .cost_per_million
        .iter()
        .find(|c| c.item.starts_with("duration"))
        .unwrap();
    assert!(
        dur.quantity > 1_270.0 && dur.quantity < 1_300.0,
        "{}",
        dur.quantity
    );
    // SQS: ceil(294/10) receives per batch of 294, +1 % retried.
    let recv = r
        .cost_per_million
        .iter()
        .find(|c| c.item.starts_with("ReceiveMessage"))
        .unwrap();
    assert!(
        (recv.quantity - 1e6 / 294.0 * 30.0 * 1.01).abs() < 1.0,
        "{}",
        recv.quantity
    );
    // Firehose: 2 events × 5 KB per email.
    let fh = r
        .cost_per_million
        .iter()
        .find(|c| c.item.starts_with("ingestion"))
        .unwrap();
    assert!((fh.quantity - 2e6 * 5120.0 / GIB).abs() < 1e-6);
    let mut i = Inputs::new(200.0, 50.0);
    i.emails_per_month = 3_000_000.0;
    let r3 = plan(&i, &Prices::default()).unwrap();
    assert!((r3.monthly_cost_usd - 3.0 * r.cost_per_million_usd).abs() < 1e-6);
}

#[test]
fn bigger_batches_cost_less() {
    let mut small = Inputs::new(500.0, 50.0);
    small.batch_seconds = 0.5;
    let mut big = small.clone();
    big.batch_seconds = 5.0;
    let s = plan(&small, &Prices::default()).unwrap();
    let b = plan(&big, &Prices::default()).unwrap();
    assert!(b.batch_size > s.batch_size);
    assert!(b.cost_per_million_usd < s.cost_per_million_usd);
    assert!(b.function_timeout_seconds >= s.function_timeout_seconds);
}

#[test]
fn tfvars_has_every_terraform_variable() {
    let t = p(200.0, 50.0).tfvars();
    for v in [
        "batch_size",
        "maximum_batching_window_in_seconds",
        "maximum_concurrency",
        "target_utilisation",
        "send_concurrency",
        "send_api",
        "function_timeout_seconds",
        "visibility_timeout_seconds",
        "function_memory_mb",
    ] {
        assert!(
            t.lines().any(|l| l.split_whitespace().next() == Some(v)),
            "{v} missing in\n{t}"
        );
    }
    assert!(t.contains("batch_size                         = 294"));
    assert!(t.contains("send_api                           = \"single\""));
    let mut i = Inputs::new(200.0, 50.0);
    i.send_api = SendApi::Bulk;
    assert!(
        sesload_plan::plan(&i, &Prices::default())
            .unwrap()
            .tfvars()
            .contains("send_api                           = \"bulk\"")
    );
}

#[test]
fn the_sandbox_plan_fits_and_the_daily_quota_bounds_a_run() {
    let r = p(1.0, 50.0);
    assert_eq!(r.maximum_concurrency, 2);
    assert!((r.per_instance_rate - 0.49).abs() < 1e-12);
    assert!(batch_fits(
        r.batch_size,
        r.function_timeout_seconds,
        r.per_instance_rate
    ));
    assert_eq!(
        r.max_batch_for_timeout,
        max_batch_for_timeout(r.function_timeout_seconds, 0.49)
    );
    assert!(r.batch_size <= r.max_batch_for_timeout);
    assert!(r.min_timeout_for_batch <= r.function_timeout_seconds);
    // Inputs::new takes MaxSendRate 1 for the sandbox: 200 emails per 24 hours.
    let q = r.daily_quota.as_ref().expect("sandbox daily quota");
    assert_eq!(q.max_24_hour_send, 200.0);
    assert!(q.binds);
    assert!(
        (q.lasts_seconds - 200.0 / r.predicted_rate).abs() < 1e-9,
        "{q:?}"
    );
    assert!(q.lasts_seconds > 200.0 && q.lasts_seconds < 210.0, "{q:?}");
    // A million a month is far beyond 6,000.
    assert!(r.notes.iter().any(|n| n.contains("Max24HourSend")), "{r:?}");
    // A production account has no daily quota unless told.
    assert!(p(14.0, 50.0).daily_quota.is_none());
    let mut i = Inputs::new(14.0, 50.0);
    i.max_24_hour_send = Some(50_000.0);
    let q = plan(&i, &Prices::default()).unwrap().daily_quota.unwrap();
    assert!(q.binds && q.lasts_seconds > 3_600.0, "{q:?}");
}

#[test]
fn a_batch_too_long_for_lambda_shrinks_to_fit_900_s() {
    let mut i = Inputs::new(1.0, 50.0);
    i.batch_seconds = 2_000.0;
    let r = plan(&i, &Prices::default()).unwrap();
    assert_eq!(r.function_timeout_seconds, MAX_FUNCTION_TIMEOUT_S);
    // floor(897 × 0.49) = 439.
    assert_eq!(r.batch_size, 439);
    assert!(batch_fits(r.batch_size, 900, r.per_instance_rate));
    assert!(
        r.notes.iter().any(|n| n.contains("lowered to 439")),
        "{r:?}"
    );
    // Below 1/897 emails/s per instance nothing fits at all.
    let e = plan(&Inputs::new(0.002, 50.0), &Prices::default()).unwrap_err();
    assert!(matches!(e, PlanError::NoBatchFits { .. }), "{e}");
}

#[test]
fn the_timeout_grows_with_the_batch_when_the_throttle_allowance_is_shorter() {
    // With no throttle allowance the deadline fit alone sets the timeout: ceil(294 / 98 + 3) = 6.
    let mut i = Inputs::new(200.0, 50.0);
    i.timeout_safety_factor = 1.0;
    i.init_seconds = 0.0;
    i.min_function_timeout_s = 1;
    let r = plan(&i, &Prices::default()).unwrap();
    assert_eq!(r.batch_size, 294);
    assert_eq!(r.function_timeout_seconds, 6);
    assert_eq!(r.visibility_timeout_seconds, 37);
}

fn bulk(rate: f64, latency: f64) -> Plan {
    let mut i = Inputs::new(rate, latency);
    i.send_api = SendApi::Bulk;
    plan(&i, &Prices::default()).unwrap()
}

fn lambda_usd(r: &Plan) -> f64 {
    r.cost_per_million
        .iter()
        .filter(|c| c.service == "Lambda")
        .map(|c| c.usd)
        .sum()
}

#[test]
fn bulk_at_a_high_rate_needs_fewer_calls_instances_and_cpu() {
    let s = p(5_000.0, 80.0);
    let b = bulk(5_000.0, 80.0);
    assert_eq!(s.entries_per_call, 1);
    assert!((s.ses_calls_per_second - 4_900.0).abs() < 1e-9);
    assert_eq!(b.entries_per_call, 50);
    assert!((b.ses_calls_per_second - 98.0).abs() < 1e-9);
    // 80 ms + 1 ms × 50.
    assert!((b.ses_call_ms - 130.0).abs() < 1e-9);
    assert_eq!(s.maximum_concurrency, 18);
    // One instance could carry 4,900/s; four keep a 6 MB batch at 3 s of sending.
    assert_eq!(b.maximum_concurrency, 4);
    assert!(b.notes.iter().any(|n| n.contains("6 MB payload")), "{b:?}");
    assert!(b.predicted_rate > 0.97 * b.target_rate, "{b:?}");
    assert!(b.cpu_us_per_email < 0.7 * s.cpu_us_per_email);
    // Larger batch, whole calls, a window that gathers them.
    assert!(b.batch_size > s.batch_size);
    assert_eq!(b.batch_size, 3_700);
    assert!(b.maximum_batching_window_in_seconds > s.maximum_batching_window_in_seconds);
    assert!(
        lambda_usd(&b) < lambda_usd(&s),
        "{} {}",
        lambda_usd(&b),
        lambda_usd(&s)
    );
    // SES bills recipients, not calls.
    let ses = |r: &Plan| {
        r.cost_per_million
            .iter()
            .find(|c| c.service == "SES")
            .unwrap()
            .usd
    };
    assert_eq!(ses(&b), ses(&s));
}

#[test]
fn bulk_at_low_rates_changes_little_and_in_the_sandbox_nothing() {
    let s = p(14.0, 50.0);
    let b = bulk(14.0, 50.0);
    // 6.86/s per instance: a bucket of 6 entries; same instances, same memory, same bill.
    assert_eq!(b.entries_per_call, 6);
    assert_eq!(b.maximum_concurrency, s.maximum_concurrency);
    assert_eq!(b.function_memory_mb, s.function_memory_mb);
    assert_eq!(b.batch_size, 24);
    assert_eq!(b.maximum_batching_window_in_seconds, 4);
    assert!((lambda_usd(&b) - lambda_usd(&s)).abs() / lambda_usd(&s) < 0.15);
    let s = p(1.0, 50.0);
    let b = bulk(1.0, 50.0);
    assert_eq!(b.entries_per_call, 1);
    assert_eq!(b.settings(), s.settings());
    assert_eq!(b.cost_per_million_usd, s.cost_per_million_usd);
}
