//! The [`SendSchedule`] contract: the fleet's shared send schedule.
//!
//! Cases wait real time (about three seconds in all) and allow [`TOLERANCE`] for the time a
//! store round trip takes, since the stores compare slots with their own clock; the interval is
//! long beside a round trip, so a slow or loaded store answers the same.
//!
//! [`send_schedule_sequential`] leaves out the concurrent case, for emulators that do not
//! serialise conditional writes (moto checks a condition and writes in separate steps):
//! there, DynamoDB's own atomic conditional write is what the adapter relies on.

use std::time::Duration;

use futures::future::join_all;
use tokio::time::Instant;

use super::run_prefix;
use crate::ports::{Reservation, SendSchedule};

/// Slack for a store round trip between the adapter's clock and the case's expectations.
pub const TOLERANCE: Duration = Duration::from_millis(100);

const INTERVAL: Duration = Duration::from_millis(500);
const NO_BURST: Duration = Duration::ZERO;
const LONG_WAIT: Duration = Duration::from_secs(10);

async fn reserve<S: SendSchedule>(
    s: &S,
    case: &str,
    tokens: u32,
    interval: Duration,
    burst: Duration,
    max_wait: Duration,
) -> Option<Duration> {
    let request = Reservation {
        tokens,
        interval,
        burst,
        max_wait,
    };
    s.reserve(request)
        .await
        .unwrap_or_else(|e| panic!("schedule contract, {case}: reserve: {e}"))
}

fn near(got: Option<Duration>, want: Duration, case: &str, what: &str) {
    let got = got.unwrap_or_else(|| panic!("schedule contract, {case}: {what}: nothing reserved"));
    let low = want.saturating_sub(TOLERANCE);
    assert!(
        got >= low && got <= want,
        "schedule contract, {case}: {what}: wait {got:?}, expected {low:?}..={want:?}"
    );
}

/// Run every case. `schedule(name)` returns an adapter on a schedule of that name that no one
/// else uses (every case takes a fresh one).
pub async fn send_schedule<S: SendSchedule>(schedule: impl Fn(&str) -> S) {
    let prefix = send_schedule_sequential(&schedule).await;
    concurrent_reservations_get_distinct_slots(&schedule(&format!("{prefix}-concurrent"))).await;
}

/// Every case but the concurrent one (see the module doc). Returns the key prefix it used.
pub async fn send_schedule_sequential<S: SendSchedule>(schedule: impl Fn(&str) -> S) -> String {
    let prefix = run_prefix("schedule");
    let fresh = |case: &str| schedule(&format!("{prefix}-{case}"));
    slots_follow_each_other(&fresh("slots")).await;
    a_reservation_beyond_max_wait_takes_nothing(&fresh("beyond")).await;
    idle_time_earns_only_the_burst(&fresh("burst")).await;
    prefix
}

/// A fresh schedule is due now; each reservation starts where the previous one ended.
async fn slots_follow_each_other<S: SendSchedule>(s: &S) {
    let case = "slots_follow_each_other";
    near(
        reserve(s, case, 1, INTERVAL, NO_BURST, LONG_WAIT).await,
        Duration::ZERO,
        case,
        "first reservation",
    );
    near(
        reserve(s, case, 3, INTERVAL, NO_BURST, LONG_WAIT).await,
        INTERVAL,
        case,
        "second reservation (1 slot in)",
    );
    near(
        reserve(s, case, 1, INTERVAL, NO_BURST, LONG_WAIT).await,
        INTERVAL * 4,
        case,
        "third reservation (after 1 + 3 slots)",
    );
}

/// A reservation whose first slot is further away than `max_wait` reserves nothing: the next
/// reservation gets the slot it would have had.
async fn a_reservation_beyond_max_wait_takes_nothing<S: SendSchedule>(s: &S) {
    let case = "a_reservation_beyond_max_wait_takes_nothing";
    reserve(s, case, 5, INTERVAL, NO_BURST, LONG_WAIT).await;
    let refused = reserve(s, case, 1, INTERVAL, NO_BURST, INTERVAL * 2).await;
    assert_eq!(
        refused,
        None,
        "schedule contract, {case}: first free slot is {:?} away, max_wait {:?}",
        INTERVAL * 5,
        INTERVAL * 2
    );
    near(
        reserve(s, case, 1, INTERVAL, NO_BURST, LONG_WAIT).await,
        INTERVAL * 5,
        case,
        "reservation after the refused one",
    );
}

/// After an idle spell a schedule hands out at once only what `burst` covers: slots are never
/// earlier than `now - burst`, so `burst / interval` reservations (plus the one due now) need
/// no wait, and the next one is told to send one interval after the first of them was answered
/// (the first took the slot `now - burst`; the next is `burst / interval + 1` slots later).
async fn idle_time_earns_only_the_burst<S: SendSchedule>(s: &S) {
    let case = "idle_time_earns_only_the_burst";
    reserve(s, case, 1, INTERVAL, NO_BURST, LONG_WAIT).await;
    tokio::time::sleep(INTERVAL * 4).await;
    let burst = INTERVAL * 2;
    let mut immediate = 0;
    let mut first_answer = None;
    let mut next_send = None;
    for _ in 0..6 {
        let w = reserve(s, case, 1, INTERVAL, burst, LONG_WAIT)
            .await
            .unwrap_or_else(|| panic!("schedule contract, {case}: nothing reserved"));
        let answered = Instant::now();
        first_answer.get_or_insert(answered);
        if w.is_zero() {
            immediate += 1;
        } else {
            next_send = Some(answered + w);
            break;
        }
    }
    assert_eq!(
        immediate,
        3,
        "schedule contract, {case}: reservations without a wait after {:?} idle with a burst of {burst:?} at {INTERVAL:?}",
        INTERVAL * 4
    );
    let (Some(first), Some(next)) = (first_answer, next_send) else {
        panic!("schedule contract, {case}: no reservation past the burst had to wait");
    };
    let after_first = next.saturating_duration_since(first);
    assert!(
        after_first + TOLERANCE >= INTERVAL && after_first <= INTERVAL + TOLERANCE,
        "schedule contract, {case}: the first reservation past the burst sends {after_first:?} after the first burst reservation was answered, expected {INTERVAL:?} ± {TOLERANCE:?}"
    );
}

/// Reservations made at the same time never share a slot: the moments they are told to send
/// (when the answer came + the wait), sorted, are an interval apart. (Answers to concurrent
/// reservations may come at different times, e.g. after lost conditional writes: what must not
/// collide is the send times, not the waits.)
async fn concurrent_reservations_get_distinct_slots<S: SendSchedule>(s: &S) {
    let case = "concurrent_reservations_get_distinct_slots";
    let interval = Duration::from_millis(100);
    let start = Instant::now();
    let mut slots: Vec<Duration> = join_all((0..8).map(|_| async {
        let w = reserve(s, case, 1, interval, NO_BURST, LONG_WAIT)
            .await
            .unwrap_or_else(|| panic!("schedule contract, {case}: nothing reserved"));
        (Instant::now() + w).duration_since(start)
    }))
    .await;
    slots.sort();
    for pair in slots.windows(2) {
        let gap = pair[1].saturating_sub(pair[0]);
        assert!(
            gap + TOLERANCE >= interval,
            "schedule contract, {case}: send times {:?} and {:?} closer than {interval:?} (all, from the start: {slots:?})",
            pair[0],
            pair[1]
        );
    }
}
