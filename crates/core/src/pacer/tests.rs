use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use super::*;
use crate::memory::MemorySchedule;

/// Take slots one after another for `window`, sleeping until each: how many fit.
async fn count_in<S: SendSchedule>(p: &Pacer, s: &S, window: Duration) -> usize {
    let start = Instant::now();
    let mut n = 0;
    loop {
        match p.acquire(s, None, &AtomicUsize::new(1)).await {
            Slot::At { at, .. } => tokio::time::sleep_until(at).await,
            Slot::TooLate => unreachable!("no deadline given"),
        }
        if start.elapsed() >= window {
            return n;
        }
        n += 1;
    }
}

/// A schedule with a store's round trip: 2 ms before each reservation is made.
struct RoundTrip(MemorySchedule);

impl SendSchedule for RoundTrip {
    async fn reserve(
        &self,
        request: Reservation,
    ) -> Result<Option<Duration>, crate::ports::PortError> {
        tokio::time::sleep(Duration::from_millis(2)).await;
        self.0.reserve(request).await
    }
}

fn pacer(account_rate: f64, utilisation: f64, instances: u32) -> Pacer {
    let p = Pacer::new(utilisation, instances);
    p.set_account_rate(Some(account_rate));
    p
}

#[test]
fn the_burst_rule_keeps_catch_up_inside_ses_bucket() {
    // 1/s: SES's bucket holds one token, so no catch-up at all
    assert_eq!(burst(1.0, 0.98), Duration::ZERO);
    assert_eq!(burst(0.5, 0.49), Duration::ZERO);
    // (C - 1) / 2R below the cap
    let b = burst(1.2, 1.2 * 0.98);
    assert!(
        (b.as_secs_f64() - 0.2 / (2.0 * 1.176)).abs() < 1e-9,
        "{b:?}"
    );
    // capped from about 1.3/s up
    assert_eq!(burst(2.0, 1.96), MAX_BURST);
    assert_eq!(burst(14.0, 13.72), MAX_BURST);
    assert_eq!(burst(200.0, 196.0), MAX_BURST);
    assert_eq!(burst(f64::INFINITY, f64::INFINITY), Duration::ZERO);
}

#[test]
fn blocks_cover_fifty_milliseconds_and_no_more_than_the_waiting_sends() {
    assert_eq!(block_tokens(196.0, 100), 10);
    assert_eq!(block_tokens(196.0, 3), 3);
    assert_eq!(block_tokens(13.72, 100), 1);
    assert_eq!(block_tokens(0.98, 20), 1);
    assert_eq!(block_tokens(f64::INFINITY, 5), 1);
    assert_eq!(block_tokens(196.0, 0), 1);
}

#[tokio::test(start_paused = true)]
async fn paces_to_the_fleet_rate() {
    let s = MemorySchedule::new();
    let p = pacer(10.0, 1.0, 2);
    let n = count_in(&p, &s, Duration::from_secs(10)).await;
    // the whole fleet rate, not a share: 10/s
    assert!((99..=101).contains(&n), "{n} sends in 10 s at 10/s");
    assert_eq!(p.fleet_rate(), 10.0);
}

#[tokio::test(start_paused = true)]
async fn two_instances_sharing_a_schedule_never_share_a_slot() {
    let s = Arc::new(MemorySchedule::new());
    let a = pacer(1.0, 0.98, 2);
    let b = pacer(1.0, 0.98, 2);
    let take = |p: &'static Pacer, s: Arc<MemorySchedule>| async move {
        let mut slots = Vec::new();
        for _ in 0..10 {
            if let Slot::At { at, .. } = p.acquire(&s, None, &AtomicUsize::new(1)).await {
                slots.push(at);
            }
        }
        slots
    };
    let (a, b): (&'static Pacer, &'static Pacer) = (Box::leak(Box::new(a)), Box::leak(Box::new(b)));
    let (sa, sb) = tokio::join!(take(a, Arc::clone(&s)), take(b, Arc::clone(&s)));
    let mut all: Vec<Instant> = sa.into_iter().chain(sb).collect();
    all.sort();
    assert_eq!(all.len(), 20);
    for w in all.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            gap >= Duration::from_secs_f64(1.0 / 0.98) - Duration::from_micros(1),
            "slots {gap:?} apart at a fleet rate of 0.98/s"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_fast_fleet_reserves_blocks_not_single_slots() {
    let s = Arc::new(RoundTrip(MemorySchedule::new()));
    let p = Arc::new(pacer(200.0, 0.98, 2));
    // a batch of 800 sends, 32 at a time, as a batch's tasks do
    let wanted = Arc::new(AtomicUsize::new(800));
    let mut handles = Vec::new();
    for _ in 0..32 {
        let p = Arc::clone(&p);
        let s = Arc::clone(&s);
        let wanted = Arc::clone(&wanted);
        handles.push(tokio::spawn(async move {
            let mut n = 0;
            for _ in 0..25 {
                if let Slot::At { at, .. } = p.acquire(&s, None, &wanted).await {
                    tokio::time::sleep_until(at).await;
                    n += 1;
                }
            }
            n
        }));
    }
    let mut sent = 0;
    for h in handles {
        sent += h.await.unwrap();
    }
    assert_eq!(sent, 800);
    // about one reservation per 10 slots, not one per slot, and none wasted at the end
    let r = s.0.reservations();
    assert!((80..=100).contains(&r), "{r} reservations for 800 slots");
    assert_eq!(wanted.load(std::sync::atomic::Ordering::SeqCst), 0);
    let Slot::At { at, .. } = p.acquire(&s, None, &AtomicUsize::new(1)).await else {
        unreachable!()
    };
    assert!(
        at <= Instant::now() + Duration::from_millis(6),
        "the pool held no leftover slots"
    );
}

#[tokio::test(start_paused = true)]
async fn no_slot_is_reserved_past_the_latest_start() {
    let s = MemorySchedule::new();
    let p = pacer(1.0, 1.0, 2);
    let latest = Some(Instant::now() + Duration::from_millis(2500));
    let mut got = Vec::new();
    while let Slot::At { at, .. } = p.acquire(&s, latest, &AtomicUsize::new(1)).await {
        got.push(at);
    }
    // slots at 0, 1 s and 2 s; the one at 3 s is past the latest start and not taken
    assert_eq!(got.len(), 3);
    assert_eq!(s.reservations(), 3);
    let after = p.acquire(&s, None, &AtomicUsize::new(1)).await;
    assert_eq!(
        after,
        Slot::At {
            at: got[0] + Duration::from_secs(3),
            fallback: false
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_throttle_halves_this_instance_and_it_recovers_slowly() {
    let s = MemorySchedule::new();
    let p = pacer(20.0, 1.0, 1);
    p.on_throttle();
    assert_eq!(p.rate(), 10.0);
    // throttles of the same overload do not decrease again
    p.on_throttle();
    assert_eq!(p.rate(), 10.0);
    tokio::time::advance(Duration::from_secs(2)).await;
    assert!((p.rate() - 12.0).abs() < 1e-9, "{}", p.rate());
    for _ in 0..20 {
        tokio::time::advance(DECREASE_WINDOW).await;
        p.on_throttle();
    }
    assert!(p.rate() >= 1.0 - 1e-9, "never below 1/20: {}", p.rate());
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(p.rate(), 20.0);
    // after a throttle the reservations are wider: 4 s at 10/s recovering 1/s per s
    p.on_throttle();
    let n = count_in(&p, &s, Duration::from_secs(4)).await;
    assert!((44..=52).contains(&n), "{n}");
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_schedule_falls_back_to_the_instance_share_and_comes_back() {
    let s = MemorySchedule::new();
    s.set_unavailable(true);
    let p = pacer(10.0, 1.0, 2);
    let start = Instant::now();
    let mut slots = Vec::new();
    for _ in 0..5 {
        match p.acquire(&s, None, &AtomicUsize::new(1)).await {
            Slot::At { at, fallback } => {
                assert!(fallback);
                slots.push(at);
                tokio::time::sleep_until(at).await;
            }
            Slot::TooLate => unreachable!(),
        }
    }
    assert!(p.in_fallback());
    // half the fleet rate: 5/s, 200 ms apart
    assert_eq!(slots[4] - slots[0], Duration::from_millis(800));
    s.set_unavailable(false);
    tokio::time::sleep_until(start + SCHEDULE_RETRY).await;
    match p.acquire(&s, None, &AtomicUsize::new(1)).await {
        Slot::At { fallback, .. } => assert!(!fallback),
        Slot::TooLate => unreachable!(),
    }
    assert!(!p.in_fallback());
}

#[tokio::test(start_paused = true)]
async fn unlimited_never_waits_nor_reserves() {
    let s = MemorySchedule::new();
    let p = Pacer::new(0.98, 2);
    let start = Instant::now();
    for _ in 0..1000 {
        assert!(
            matches!(p.acquire(&s, None, &AtomicUsize::new(1)).await, Slot::At { at, .. } if at == start)
        );
    }
    assert_eq!(s.reservations(), 0);
    assert!(p.rate().is_infinite());
}

#[tokio::test(start_paused = true)]
async fn a_slot_given_back_is_the_next_one_taken() {
    let s = MemorySchedule::new();
    let p = pacer(1.0, 1.0, 1);
    let Slot::At { at: first, .. } = p.acquire(&s, None, &AtomicUsize::new(1)).await else {
        unreachable!()
    };
    let Slot::At { at: second, .. } = p.acquire(&s, None, &AtomicUsize::new(1)).await else {
        unreachable!()
    };
    p.give_back(second);
    assert_eq!(
        p.acquire(&s, None, &AtomicUsize::new(1)).await,
        Slot::At {
            at: second,
            fallback: false
        }
    );
    assert_eq!(second - first, Duration::from_secs(1));
    assert_eq!(s.reservations(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_block_is_contiguous_in_the_fleet_schedule_and_due_at_its_last_slot() {
    // two instances on one schedule at 10/s (utilisation 1: slots 100 ms apart)
    let schedule = MemorySchedule::new();
    let (a, b) = (pacer(10.0, 1.0, 2), pacer(10.0, 1.0, 2));
    let start = Instant::now();
    let at = |slot: Slot| match slot {
        Slot::At { at, fallback } => {
            assert!(!fallback);
            at.duration_since(start)
        }
        Slot::TooLate => panic!("no deadline given"),
    };
    // a's block of 5 takes slots 0..5 of a fresh schedule: due at its last
    let first = at(a.acquire_block(&schedule, 5, None).await);
    assert_eq!(first, Duration::from_millis(400));
    // b's block follows a's whole block, not interleaved with it
    let second = at(b.acquire_block(&schedule, 5, None).await);
    assert_eq!(second, first + Duration::from_millis(500));
    // a block whose last slot falls past `latest` is not reserved
    let latest = Some(start + second + Duration::from_millis(300));
    assert_eq!(a.acquire_block(&schedule, 5, latest).await, Slot::TooLate);
    assert!(matches!(
        a.acquire_block(&schedule, 3, latest).await,
        Slot::At { .. }
    ));
    // unpaced: now
    let u = Pacer::new(1.0, 1);
    assert_eq!(
        at(u.acquire_block(&schedule, 50, None).await),
        Duration::ZERO
    );
}
