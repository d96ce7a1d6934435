//! Several poller instances at once: ledger fencing between attempts, and the fleet's pacing on
//! one shared send schedule against a mailer that enforces SES's token bucket. In-memory ports,
//! a small queue with SQS semantics, tokio paused time.

mod common;

use sesload_core::Held;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use sesload_core::memory::{
    Answer, LedgerEntry, MemoryCustomers, MemoryDeadLetters, MemoryLedger, MemoryMailer,
    MemorySchedule,
};
use sesload_core::*;
use tokio::time::Instant;

// ---------------------------------------------------------------- fencing

type SharedPorts = Ports<
    MemoryCustomers,
    InstanceLedger,
    MemoryMailer,
    MemoryDeadLetters,
    sesload_core::memory::MemoryVisibility,
    sesload_core::memory::MemoryParking,
    MemorySchedule,
    sesload_core::memory::MemoryCampaigns,
>;

/// The fleet's one ledger as one instance reaches it. `renews: false` is an instance whose
/// lease renewals never reach the ledger (a partition, a ledger throttling it): its claim
/// runs out while SES is slow, as it would without the heartbeat.
struct InstanceLedger {
    shared: Arc<MemoryLedger>,
    renews: bool,
}

impl Ledger for InstanceLedger {
    async fn claim(&self, code: &UniqueCode, lease: Duration) -> Result<Claim, PortError> {
        self.shared.claim(code, lease).await
    }
    async fn record_sent(&self, held: Held<'_>, id: &MessageId) -> Result<Recorded, PortError> {
        self.shared.record_sent(held, id).await
    }
    async fn release(&self, held: Held<'_>) -> Result<(), PortError> {
        self.shared.release(held).await
    }
    async fn extend(&self, held: Held<'_>, lease: Duration) -> Result<bool, PortError> {
        if !self.renews {
            return Err(PortError::new(
                "ledger.extend",
                format!("{}: unreachable from this instance", held.code),
            ));
        }
        self.shared.extend(held, lease).await
    }
}

fn instance(
    ledger: &Arc<MemoryLedger>,
    mailer: MemoryMailer,
    lease: Duration,
) -> BatchProcessor<SharedPorts> {
    instance_renewing(ledger, mailer, lease, true)
}

/// An instance on the fleet's ledger; `renews: false`: its lease renewals fail (see
/// [`InstanceLedger`]).
fn instance_renewing(
    ledger: &Arc<MemoryLedger>,
    mailer: MemoryMailer,
    lease: Duration,
    renews: bool,
) -> BatchProcessor<SharedPorts> {
    let p = ports(mailer);
    BatchProcessor::new(
        Ports {
            customers: p.customers,
            ledger: InstanceLedger {
                shared: Arc::clone(ledger),
                renews,
            },
            mailer: p.mailer,
            dead_letters: p.dead_letters,
            visibility: p.visibility,
            parking: p.parking,
            schedule: p.schedule,
            campaigns: p.campaigns,
        },
        ProcessorSettings {
            claim_lease: lease,
            ..settings()
        },
    )
}

#[tokio::test(start_paused = true)]
async fn a_send_slower_than_its_lease_keeps_its_claim_and_the_redelivery_never_sends() {
    let ledger = Arc::new(MemoryLedger::new());
    let lease = Duration::from_secs(5);
    // SES answers the first attempt after 8 s, beyond its 5 s lease: the heartbeat renews it
    let slow = instance(&ledger, mailer(8_000), lease);
    let fast = instance(&ledger, mailer(50), lease);
    let r = vec![rec("m", body("success", 1, "renewed"))];
    let first = tokio::spawn({
        let slow = slow.clone();
        let r = r.clone();
        async move { slow.process(r, None).await }
    });
    // redelivered at 6 s: the claim is still live (renewed), so the copy is parked, not sent
    tokio::time::sleep(Duration::from_secs(6)).await;
    let second = fast.process(r.clone(), None).await;
    assert_eq!(parked(&second, "m"), Some(ParkReason::ClaimInFlight));
    assert!(fast.mailer().sent().is_empty());
    let first = first.await.unwrap();
    assert_eq!(first.report.emails_sent, 1);
    assert_eq!(first.report.ambiguous_retries, 0);
    // the parked copy comes back: skipped as a duplicate, nothing more goes out
    let third = fast.process(r, None).await;
    assert_eq!(third.report.duplicates_skipped, 1);
    assert_eq!(slow.mailer().sent().len() + fast.mailer().sent().len(), 1);
    assert_eq!(
        (
            third.report.ambiguous_retries,
            second.report.ambiguous_retries
        ),
        (0, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn the_heartbeat_writes_only_for_sends_slower_than_a_third_of_the_lease() {
    let lease = Duration::from_secs(3);
    // 50 ms: claim + record, no renewal
    let ledger = Arc::new(MemoryLedger::new());
    let fast = instance(&ledger, mailer(50), lease);
    let out = fast
        .process(vec![rec("m", body("success", 1, "fast"))], None)
        .await;
    assert_eq!(out.report.emails_sent, 1);
    assert_eq!(ledger.calls(), 2);
    // 3.5 s with renewals every 1 s: renewed at 1, 2 and 3 s; the lease then runs to 6 s
    let ledger = Arc::new(MemoryLedger::new());
    let slow = instance(&ledger, mailer(3_500), lease);
    let t0 = Instant::now();
    let out = slow
        .process(vec![rec("m", body("success", 1, "slow"))], None)
        .await;
    assert_eq!(out.report.emails_sent, 1);
    assert_eq!(ledger.calls(), 2 + 3);
    assert!(t0.elapsed() >= Duration::from_millis(3_500));
}

#[tokio::test(start_paused = true)]
async fn a_renewal_refused_stops_the_heartbeat_and_the_send_still_counts() {
    let ledger = Arc::new(MemoryLedger::new());
    let lease = Duration::from_secs(3);
    let slow = instance(&ledger, mailer(8_000), lease);
    let r = vec![rec("m", body("success", 1, "lost"))];
    let first = tokio::spawn({
        let (p, r) = (slow.clone(), r.clone());
        async move { p.process(r, None).await }
    });
    // at 1.5 s another attempt re-takes the code as if the lease had run out (an operator
    // clearing it, a clock jump): the next renewal finds the claim not ours and stops
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    ledger.insert("lost", LedgerEntry::leased_until(Instant::now()));
    let calls_then = ledger.calls();
    let first = first.await.unwrap();
    // one refused renewal (at 2 s), no more; the record finds the claim superseded
    assert_eq!(ledger.calls(), calls_then + 1 + 1);
    assert_eq!(first.report.emails_sent, 1);
    assert_eq!(first.report.ambiguous_retries, 1);
}

#[tokio::test(start_paused = true)]
async fn a_slow_first_attempt_and_the_one_that_re_took_it_both_count_and_no_third_sends() {
    let ledger = Arc::new(MemoryLedger::new());
    let lease = Duration::from_secs(5);
    // SES answers the first attempt after 8 s, beyond its 5 s lease, and its renewals never
    // reach the ledger
    let slow = instance_renewing(&ledger, mailer(8_000), lease, false);
    let fast = instance(&ledger, mailer(50), lease);
    let r = vec![rec("m", body("success", 1, "fenced"))];
    let first = tokio::spawn({
        let slow = slow.clone();
        let r = r.clone();
        async move { slow.process(r, None).await }
    });
    // redelivered at 6 s (the first attempt's lease expired at 5 s): re-taken, sent, ambiguous
    tokio::time::sleep(Duration::from_secs(6)).await;
    let second = fast.process(r.clone(), None).await;
    assert_eq!(second.report.emails_sent, 1);
    assert_eq!(second.report.ambiguous_retries, 1);
    // the first attempt's answer comes at 8 s: its claim was superseded, so it counts too
    let first = first.await.unwrap();
    assert_eq!(first.report.emails_sent, 1);
    assert_eq!(first.report.ambiguous_retries, 1);
    // a third delivery finds the code sent: nothing more goes out
    let third = fast.process(r, None).await;
    assert_eq!(third.report.duplicates_skipped, 1);
    assert_eq!(slow.mailer().sent().len() + fast.mailer().sent().len(), 2);
    // the message id recorded first stays
    assert_eq!(
        ledger.entry("fenced").unwrap().message_id,
        fast.mailer().message_id_for("fenced")
    );
}

#[tokio::test(start_paused = true)]
async fn a_late_failure_cannot_release_the_claim_of_the_attempt_that_re_took_it() {
    let ledger = Arc::new(MemoryLedger::new());
    let lease = Duration::from_secs(5);
    // the first attempt fails (500, certainly not sent) after 8 s and releases "its" claim
    // (its renewals never reached the ledger, so the claim had run out at 5 s)
    let slow = instance_renewing(
        &ledger,
        mailer(8_000).with_rule(|_, _| Answer::error("InternalFailure", 500)),
        lease,
        false,
    );
    // the second, which re-took the claim at 6 s, is still sending at 9 s
    let second = instance(&ledger, mailer(4_000), lease);
    let third = instance(&ledger, mailer(50), lease);
    let r = vec![rec("m", body("success", 1, "fenced"))];
    let first = tokio::spawn({
        let (p, r) = (slow.clone(), r.clone());
        async move { p.process(r, None).await }
    });
    tokio::time::sleep(Duration::from_secs(6)).await;
    let second_run = tokio::spawn({
        let (p, r) = (second.clone(), r.clone());
        async move { p.process(r, None).await }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let first = first.await.unwrap();
    assert_eq!(first.batch_item_failures, vec!["m"]);
    // at 9 s: the second attempt's claim is still live; a third attempt must not send
    let out = third.process(r.clone(), None).await;
    assert_eq!(parked(&out, "m"), Some(ParkReason::ClaimInFlight));
    assert!(third.mailer().sent().is_empty());
    let second_out = second_run.await.unwrap();
    assert_eq!(second_out.report.emails_sent, 1);
    assert_eq!(second_out.report.ambiguous_retries, 1);
    assert_eq!(
        slow.mailer().sent().len() + second.mailer().sent().len() + third.mailer().sent().len(),
        1
    );
}

// ---------------------------------------------------------------- fleet pacing

/// One queue with SQS semantics: receive with a visibility timeout, delete, change visibility,
/// park (delete the original and queue a copy with a delay), in tokio time.
#[derive(Default, Clone)]
struct Queue {
    messages: Arc<Mutex<Vec<Message>>>,
    next: Arc<Mutex<u64>>,
}

#[derive(Clone)]
struct Message {
    id: String,
    body: String,
    visible_at: Instant,
    receive_count: u32,
    park_count: u32,
}

const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(180);

impl Queue {
    fn send(&self, body: String, delay: Duration, park_count: u32) {
        let mut n = self.next.lock().unwrap();
        *n += 1;
        self.messages.lock().unwrap().push(Message {
            id: format!("q{n}"),
            body,
            visible_at: Instant::now() + delay,
            receive_count: 0,
            park_count,
        });
    }

    fn receive(&self, max: usize) -> Vec<InboundRecord> {
        let now = Instant::now();
        let mut out = Vec::new();
        for m in self.messages.lock().unwrap().iter_mut() {
            if out.len() == max {
                break;
            }
            if m.visible_at <= now {
                m.visible_at = now + VISIBILITY_TIMEOUT;
                m.receive_count += 1;
                out.push(InboundRecord {
                    message_id: m.id.clone(),
                    receipt_handle: m.id.clone(),
                    body: m.body.clone(),
                    receive_count: m.receive_count,
                    park_count: m.park_count,
                });
            }
        }
        out
    }

    fn delete(&self, id: &str) {
        self.messages.lock().unwrap().retain(|m| m.id != id);
    }

    fn is_empty(&self) -> bool {
        self.messages.lock().unwrap().is_empty()
    }
}

impl Parking for Queue {
    async fn park(&self, records: &[ParkedRecord]) -> Vec<String> {
        for r in records {
            self.delete(&r.source_message_id);
            self.send(r.body.clone(), r.delay, r.park_count);
        }
        Vec::new()
    }
}

impl VisibilityControl for Queue {
    async fn delay(&self, receipt_handle: &str, delay: Duration) -> Result<(), PortError> {
        for m in self.messages.lock().unwrap().iter_mut() {
            if m.id == receipt_handle {
                m.visible_at = Instant::now() + delay;
            }
        }
        Ok(())
    }
}

/// SES's sending rate: a bucket of one second of `rate` tokens, refilled continuously.
fn bucket_mailer(rate: f64) -> MemoryMailer {
    let bucket = Mutex::new((rate, Instant::now()));
    let m = MemoryMailer::new()
        .with_latency(Duration::from_millis(50))
        .with_rule(move |_, _| {
            let mut b = bucket.lock().unwrap();
            let now = Instant::now();
            b.0 = (b.0 + (now - b.1).as_secs_f64() * rate).min(rate);
            b.1 = now;
            if b.0 >= 1.0 - 1e-9 {
                b.0 -= 1.0;
                Answer::Accept
            } else {
                Answer::throttled()
            }
        });
    m.set_quota(Ok(SendQuota {
        max_send_rate: rate,
        max_24_hour_send: None,
        sent_last_24_hours: 0.0,
        sending_enabled: true,
    }));
    m
}

type FleetPorts = Ports<
    MemoryCustomers,
    Arc<MemoryLedger>,
    Arc<MemoryMailer>,
    MemoryDeadLetters,
    Queue,
    Queue,
    Arc<MemorySchedule>,
    sesload_core::memory::MemoryCampaigns,
>;

/// What a fleet run measured.
#[derive(Debug)]
struct Run {
    sent: usize,
    calls: usize,
    utilisation: f64,
    throttled_ratio: f64,
    overruns: usize,
    invocations: usize,
}

/// `instances` pollers with `batch`-record invocations of `timeout` drain `messages` through one
/// queue, one ledger, one schedule and one SES account at `rate`/s.
async fn run_fleet(
    rate: f64,
    messages: usize,
    batch: usize,
    timeout: Duration,
    instances: u32,
) -> Run {
    let queue = Queue::default();
    for i in 0..messages {
        queue.send(
            body("success", (i % 1000) as u32 + 1, &format!("f{i}")),
            Duration::ZERO,
            0,
        );
    }
    let ledger = Arc::new(MemoryLedger::new());
    let mailer = Arc::new(bucket_mailer(rate));
    let schedule = Arc::new(MemorySchedule::new());
    let settings = ProcessorSettings {
        rate_source: RateSource::Account,
        maximum_concurrency: instances,
        ..ProcessorSettings::default()
    };
    let overruns = Arc::new(Mutex::new((0usize, 0usize)));
    let mut handles = Vec::new();
    for _ in 0..instances {
        let p: BatchProcessor<FleetPorts> = BatchProcessor::new(
            Ports {
                customers: customers(),
                ledger: Arc::clone(&ledger),
                mailer: Arc::clone(&mailer),
                dead_letters: MemoryDeadLetters::new(),
                visibility: queue.clone(),
                parking: queue.clone(),
                schedule: Arc::clone(&schedule),
                campaigns: sesload_core::memory::MemoryCampaigns::new(),
            },
            settings.clone(),
        );
        let queue = queue.clone();
        let overruns = Arc::clone(&overruns);
        handles.push(tokio::spawn(async move {
            let give_up = Instant::now() + Duration::from_secs(3600);
            while !queue.is_empty() && Instant::now() < give_up {
                let records = queue.receive(batch);
                if records.is_empty() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                let deadline = Instant::now() + timeout;
                let out = p.process(records, Some(deadline)).await;
                {
                    let mut o = overruns.lock().unwrap();
                    o.1 += 1;
                    if Instant::now() > deadline {
                        o.0 += 1;
                    }
                }
                for (id, o) in &out.report.outcomes {
                    match o {
                        RecordOutcome::Sent { .. }
                        | RecordOutcome::DuplicateSkipped { .. }
                        | RecordOutcome::DeadLettered { .. }
                        | RecordOutcome::Cancelled { .. } => queue.delete(id),
                        RecordOutcome::Parked { .. } | RecordOutcome::Retry { .. } => {}
                    }
                }
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    assert!(queue.is_empty(), "the fleet drained the queue");
    let sent = mailer.sent();
    let mut codes: HashMap<String, usize> = HashMap::new();
    for s in &sent {
        *codes.entry(s.email.unique_code.0.clone()).or_default() += 1;
    }
    assert_eq!(codes.len(), messages, "every message sent");
    assert!(codes.values().all(|n| *n == 1), "none sent twice");
    let first = sent.iter().map(|s| s.at).min().unwrap();
    let last = sent.iter().map(|s| s.at).max().unwrap();
    let achieved = (sent.len() - 1) as f64 / (last - first).as_secs_f64();
    let calls = mailer.calls();
    let (overruns, invocations) = *overruns.lock().unwrap();
    Run {
        sent: sent.len(),
        calls,
        utilisation: achieved / rate,
        throttled_ratio: (calls - sent.len()) as f64 / calls as f64,
        overruns,
        invocations,
    }
}

async fn assert_fleet(rate: f64, messages: usize) {
    let run = run_fleet(rate, messages, 20, Duration::from_secs(30), 2).await;
    assert!(
        run.utilisation >= 0.95,
        "{rate}/s: utilisation {:.3} ({run:?})",
        run.utilisation
    );
    assert!(
        run.throttled_ratio <= 0.01,
        "{rate}/s: {:.2} % of {} calls throttled ({run:?})",
        run.throttled_ratio * 100.0,
        run.calls
    );
    assert_eq!(
        run.overruns, 0,
        "{rate}/s: invocations past their deadline ({run:?})"
    );
}

#[tokio::test(start_paused = true)]
async fn two_instances_fill_a_sandbox_account_at_1_per_second() {
    assert_fleet(1.0, 60).await;
}

#[tokio::test(start_paused = true)]
async fn two_instances_fill_the_account_at_2_per_second() {
    assert_fleet(2.0, 120).await;
}

#[tokio::test(start_paused = true)]
async fn two_instances_fill_the_account_at_5_per_second() {
    assert_fleet(5.0, 300).await;
}

#[tokio::test(start_paused = true)]
async fn two_instances_fill_the_production_default_of_14_per_second() {
    assert_fleet(14.0, 840).await;
}

#[tokio::test(start_paused = true)]
async fn a_function_timeout_shorter_than_a_batch_needs_still_drains_everything() {
    // 1/s, batch 20, 5 s: each invocation sends two or three and parks the rest (deadline)
    let run = run_fleet(1.0, 30, 20, Duration::from_secs(5), 2).await;
    assert_eq!(run.overruns, 0, "{run:?}");
    assert_eq!(run.sent, 30);
    assert!(run.throttled_ratio <= 0.01, "{run:?}");
    assert!(run.invocations > 10, "{run:?}");
}
