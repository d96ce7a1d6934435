//! [`MemoryParking`] and [`MemorySchedule`]: the waiting room and the fleet's send schedule in
//! memory.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::lock;
use crate::clock::micros;
use crate::model::ParkedRecord;
use crate::ports::{Parking, PortError, Reservation, SendSchedule};

/// [`Parking`] keeping every parked record (with the time it was parked). It can refuse to park,
/// like a queue that cannot be reached, and then reports the records back as the real adapters
/// do.
#[derive(Debug, Default)]
pub struct MemoryParking {
    parked: Mutex<Vec<(ParkedRecord, Instant)>>,
    unavailable: AtomicBool,
}

impl MemoryParking {
    pub fn new() -> Self {
        Self::default()
    }

    /// While `true`, every park fails.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// Every record parked, in order.
    pub fn parked(&self) -> Vec<ParkedRecord> {
        lock(&self.parked).iter().map(|(r, _)| r.clone()).collect()
    }

    /// Every record parked, in order, with the time it was parked (its copy is due `delay`
    /// later).
    pub fn parked_at(&self) -> Vec<(ParkedRecord, Instant)> {
        lock(&self.parked).clone()
    }
}

impl Parking for MemoryParking {
    async fn park(&self, records: &[ParkedRecord]) -> Vec<String> {
        if self.unavailable.load(Ordering::SeqCst) {
            return records
                .iter()
                .map(|r| r.source_message_id.clone())
                .collect();
        }
        let now = Instant::now();
        lock(&self.parked).extend(records.iter().map(|r| (r.clone(), now)));
        Vec::new()
    }
}

/// [`SendSchedule`] on tokio time: one `next_slot` shared by every processor given the same
/// schedule (wrap it in an `Arc` and hand a clone to each, as instances share one table).
#[derive(Debug)]
pub struct MemorySchedule {
    /// The schedule's clock starts here (its microseconds count from `origin`).
    origin: Instant,
    next_free_us: Mutex<Option<i64>>,
    unavailable: AtomicBool,
    reservations: AtomicUsize,
}

impl Default for MemorySchedule {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
            next_free_us: Mutex::new(None),
            unavailable: AtomicBool::new(false),
            reservations: AtomicUsize::new(0),
        }
    }
}

impl MemorySchedule {
    pub fn new() -> Self {
        Self::default()
    }

    /// While `true`, every reservation fails.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// Number of reservations made so far (calls that reserved something).
    pub fn reservations(&self) -> usize {
        self.reservations.load(Ordering::SeqCst)
    }
}

impl SendSchedule for MemorySchedule {
    async fn reserve(&self, request: Reservation) -> Result<Option<Duration>, PortError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(PortError::new(
                "schedule.reserve",
                "in-memory schedule made unavailable",
            ));
        }
        let now_us = micros(Instant::now().saturating_duration_since(self.origin));
        let mut next_free = lock(&self.next_free_us);
        let Some(placed) = request.place(*next_free, now_us) else {
            return Ok(None);
        };
        *next_free = Some(placed.next_free_us);
        self.reservations.fetch_add(1, Ordering::SeqCst);
        let wait = u64::try_from(placed.first_us - now_us).unwrap_or(0);
        Ok(Some(Duration::from_micros(wait)))
    }
}
