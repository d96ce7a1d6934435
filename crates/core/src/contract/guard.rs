//! The [`GuardCounters`] + [`GuardCountsWriter`] contract: per-campaign minute buckets that
//! add up, read back over a window.

use futures::future::join_all;

use super::run_prefix;
use crate::campaign::guardrail::{GuardCounters, GuardCountsWriter, Tally, Window};

fn t(sends: u64, bounces: u64, complaints: u64) -> Tally {
    Tally {
        sends,
        bounces,
        complaints,
    }
}

async fn add<C: GuardCountsWriter>(c: &C, case: &str, campaign: &str, minute: u64, tally: Tally) {
    c.add_counts(campaign, minute, tally)
        .await
        .unwrap_or_else(|e| {
            panic!("guard counters contract, {case}: add {campaign}@{minute}: {e}")
        });
}

async fn tally<C: GuardCounters>(
    c: &C,
    case: &str,
    campaign: &str,
    first: u64,
    last: u64,
) -> Tally {
    c.window_tally(
        campaign,
        Window {
            first_minute: first,
            last_minute: last,
        },
    )
    .await
    .unwrap_or_else(|e| {
        panic!("guard counters contract, {case}: tally {campaign} {first}..={last}: {e}")
    })
}

/// The behaviours one writer at a time can check (every adapter, moto included).
pub async fn guard_counters_sequential<C: GuardCounters + GuardCountsWriter>(c: &C) {
    let p = run_prefix("guard");
    let (a, b) = (format!("{p}-a"), format!("{p}-b"));
    // A campaign never counted: all zero.
    let case = "unknown campaign";
    assert_eq!(tally(c, case, &a, 0, 100).await, Tally::default(), "{case}");

    // Adds to one bucket sum; the window takes its minutes, both ends included, and no other.
    let m = 29_436_000; // 2025-12-18, in epoch minutes
    let case = "buckets add up";
    add(c, case, &a, m, t(10, 1, 0)).await;
    add(c, case, &a, m, t(5, 0, 1)).await;
    add(c, case, &a, m + 1, t(7, 2, 0)).await;
    add(c, case, &a, m + 5, t(100, 0, 0)).await;
    add(c, case, &b, m, t(1_000, 900, 0)).await;
    assert_eq!(
        tally(c, case, &a, m, m).await,
        t(15, 1, 1),
        "{case}: one minute"
    );
    assert_eq!(
        tally(c, case, &a, m, m + 1).await,
        t(22, 3, 1),
        "{case}: two minutes"
    );
    assert_eq!(
        tally(c, case, &a, m + 1, m + 4).await,
        t(7, 2, 0),
        "{case}: inner window"
    );
    assert_eq!(
        tally(c, case, &a, m - 60, m + 60).await,
        t(122, 3, 1),
        "{case}: wide window"
    );
    assert_eq!(
        tally(c, case, &a, m + 6, m + 60).await,
        Tally::default(),
        "{case}: after"
    );
    assert_eq!(
        tally(c, case, &b, m, m + 5).await,
        t(1_000, 900, 0),
        "{case}: other campaign"
    );

    // A day-long window (1,440 buckets: more than one read of a hundred keys) finds both ends.
    let case = "day-long window";
    let d = format!("{p}-day");
    add(c, case, &d, m, t(1, 0, 0)).await;
    add(c, case, &d, m + 1_439, t(2, 1, 0)).await;
    add(c, case, &d, m + 1_440, t(50, 50, 50)).await;
    assert_eq!(tally(c, case, &d, m, m + 1_439).await, t(3, 1, 0), "{case}");
}

/// [`guard_counters_sequential`], then concurrent adds to one bucket: none is lost.
pub async fn guard_counters<C: GuardCounters + GuardCountsWriter>(c: &C) {
    guard_counters_sequential(c).await;
    let p = run_prefix("guard");
    let case = "concurrent adds";
    let m = 29_436_100;
    join_all((0..40).map(|i| add(c, case, &p, m, t(1, i % 2, 0)))).await;
    assert_eq!(tally(c, case, &p, m, m).await, t(40, 20, 0), "{case}");
}
