//! The port contracts against the in-memory adapters (paused tokio time: leases and
//! visibility delays pass as the contracts wait).

use std::sync::Mutex;
use std::time::Duration;

use sesload_core::contract::{self, ParkingProbe, QueueProbe, QueuedMessage};
use sesload_core::memory::{
    MemoryCustomers, MemoryDeadLetters, MemoryGuardCounters, MemoryLedger, MemoryMailer,
    MemoryParking, MemorySchedule, MemoryVisibility,
};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn memory_ledger_keeps_the_ledger_contract() {
    contract::ledger(&MemoryLedger::new()).await;
}

#[tokio::test(start_paused = true)]
async fn memory_guard_counters_keep_the_guard_counters_contract() {
    contract::guard_counters(&MemoryGuardCounters::new()).await;
}

#[tokio::test(start_paused = true)]
async fn memory_schedule_keeps_the_schedule_contract() {
    contract::send_schedule(|_| MemorySchedule::new()).await;
}

#[tokio::test(start_paused = true)]
async fn memory_customers_keep_the_customer_store_contract() {
    let store = MemoryCustomers::from_customers(contract::customer_fixture());
    contract::customer_store(&store).await;
}

#[tokio::test(start_paused = true)]
async fn memory_mailer_keeps_the_mailer_contract() {
    let mailer = MemoryMailer::new().with_templates(["SimpleEmail"]);
    contract::mailer(&mailer, "SimpleEmail").await;
}

#[tokio::test(start_paused = true)]
async fn memory_dead_letters_keep_the_dead_letter_contract() {
    let sink = MemoryDeadLetters::new();
    contract::dead_letter_sink(&sink, || async { sink.letters() }).await;
    let down = MemoryDeadLetters::new();
    down.set_unavailable(true);
    contract::unavailable_dead_letter_sink(&down).await;
    assert!(down.letters().is_empty());
}

/// A queue of received messages in front of a [`MemoryVisibility`]: each message is hidden
/// for 30 s from its receive, or until the visibility change made through its handle.
struct Probe<'a> {
    vis: &'a MemoryVisibility,
    received: Mutex<Vec<(String, String, Instant)>>,
}

impl QueueProbe for Probe<'_> {
    async fn receive_new(&self, body: &str) -> String {
        let mut received = self.received.lock().unwrap();
        let handle = format!("handle-{}", received.len());
        self.vis.issue(&handle);
        received.push((body.to_string(), handle.clone(), Instant::now()));
        handle
    }

    async fn receive_visible(&self) -> Vec<String> {
        let now = Instant::now();
        let mut received = self.received.lock().unwrap();
        let mut visible = Vec::new();
        for (body, handle, at) in received.iter_mut() {
            let hidden_until = self
                .vis
                .hidden_until(handle)
                .unwrap_or(*at + Duration::from_secs(30));
            if hidden_until <= now {
                visible.push(body.clone());
                // received again: hidden for the default timeout under a new handle
                *handle = format!("{handle}-again");
                *at = now;
                self.vis.issue(handle);
            }
        }
        visible
    }
}

#[tokio::test(start_paused = true)]
async fn memory_visibility_keeps_the_visibility_contract() {
    let vis = MemoryVisibility::issued_only();
    let probe = Probe {
        vis: &vis,
        received: Mutex::new(Vec::new()),
    };
    contract::visibility_control(&vis, &probe).await;
    assert_eq!(vis.changes().len(), 2);
}

/// A source queue in front of a [`MemoryParking`]: the originals the probe received (hidden for
/// [`contract::ORIGINAL_HIDDEN`], deleted when acknowledged) and the parked copies, each due
/// its delay after its park.
struct ParkingQueue<'a> {
    parking: &'a MemoryParking,
    state: Mutex<ParkingQueueState>,
}

#[derive(Default)]
struct ParkingQueueState {
    /// (message id, body, current receipt handle, hidden until, deleted)
    originals: Vec<(String, String, String, Instant, bool)>,
    /// Parked copies already received: hidden until.
    copies_hidden_until: Vec<Option<Instant>>,
}

impl ParkingProbe for ParkingQueue<'_> {
    async fn receive_new(&self, bodies: &[String]) -> Vec<(String, String)> {
        let mut st = self.state.lock().unwrap();
        let hidden_until = Instant::now() + contract::ORIGINAL_HIDDEN;
        bodies
            .iter()
            .map(|body| {
                let n = st.originals.len();
                let (id, handle) = (format!("original-{n}"), format!("handle-{n}"));
                st.originals.push((
                    id.clone(),
                    body.clone(),
                    handle.clone(),
                    hidden_until,
                    false,
                ));
                (id, handle)
            })
            .collect()
    }

    async fn acknowledge(&self, receipt_handle: &str) {
        let mut st = self.state.lock().unwrap();
        for o in st.originals.iter_mut().filter(|o| o.2 == receipt_handle) {
            o.4 = true;
        }
    }

    async fn receive_visible(&self) -> Vec<QueuedMessage> {
        let now = Instant::now();
        let again = now + Duration::from_secs(30);
        let mut st = self.state.lock().unwrap();
        let mut out = Vec::new();
        for (id, body, handle, hidden_until, deleted) in st.originals.iter_mut() {
            if !*deleted && *hidden_until <= now {
                out.push(QueuedMessage {
                    message_id: id.clone(),
                    body: body.clone(),
                    park_reason: None,
                    park_count: 0,
                });
                *handle = format!("{handle}-again");
                *hidden_until = again;
            }
        }
        let parked = self.parking.parked_at();
        st.copies_hidden_until.resize(parked.len(), None);
        for (i, (r, at)) in parked.into_iter().enumerate() {
            let hidden_until = st.copies_hidden_until[i].unwrap_or(at + r.delay);
            if hidden_until <= now {
                out.push(QueuedMessage {
                    message_id: format!("copy-{i}"),
                    body: r.body,
                    park_reason: Some(r.reason.code().to_string()),
                    park_count: r.park_count,
                });
                st.copies_hidden_until[i] = Some(again);
            }
        }
        out
    }
}

#[tokio::test(start_paused = true)]
async fn memory_parking_keeps_the_parking_contract() {
    let parking = MemoryParking::new();
    let queue = ParkingQueue {
        parking: &parking,
        state: Mutex::default(),
    };
    contract::parking(&parking, &queue).await;
    assert_eq!(parking.parked().len(), contract::PARKED_RECORDS);

    let down = MemoryParking::new();
    down.set_unavailable(true);
    contract::unavailable_parking(&down).await;
    assert!(down.parked().is_empty());
}
