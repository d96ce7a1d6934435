//! The port contracts against the in-memory adapters (paused tokio time: leases and
//! visibility delays pass as the contracts wait).

use std::sync::Mutex;
use std::time::Duration;

use sesload_core::contract::{self, QueueProbe};
use sesload_core::memory::{
    MemoryCustomers, MemoryDeadLetters, MemoryLedger, MemoryMailer, MemorySchedule,
    MemoryVisibility,
};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn memory_ledger_keeps_the_ledger_contract() {
    contract::ledger(&MemoryLedger::new()).await;
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
