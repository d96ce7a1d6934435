//! The invocation's deadline and the limits derived from it.
//!
//! Rule: an invocation never outlives its deadline. From the deadline `D`:
//!
//! | limit | when | bounds |
//! |---|---|---|
//! | last send start | `D − DEADLINE_RESERVE` (3 s) | the quota refresh, the customer lookup, waiting for a send permit and a slot, the claim |
//! | send end | `D − SEND_END_MARGIN` (1 s) | each `SendEmail` call (a call cut by it may have reached SES: `maybe_sent`) |
//! | finish | `D − FINISH_MARGIN` (250 ms) | recording the send, releasing a claim, dead letters, parks, visibility changes |
//!
//! What is left then is returned as it stands; the handler answers before `D`.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// No send starts later than this before the deadline (the capacity planner's
/// `DEADLINE_RESERVE_SECONDS`).
pub const DEADLINE_RESERVE: Duration = Duration::from_secs(3);
/// Every `SendEmail` call ends at least this long before the deadline.
pub const SEND_END_MARGIN: Duration = Duration::from_secs(1);
/// The last store writes of a batch end at least this long before the deadline, leaving time
/// to answer.
pub const FINISH_MARGIN: Duration = Duration::from_millis(250);

/// The deadline of one invocation (`None`: no deadline, e.g. a benchmark).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deadline(pub Option<Instant>);

impl Deadline {
    fn before(&self, margin: Duration) -> Option<Instant> {
        self.0.map(|d| d.checked_sub(margin).unwrap_or(d))
    }

    /// The latest a send may start.
    pub fn last_send_start(&self) -> Option<Instant> {
        self.before(DEADLINE_RESERVE)
    }

    /// When every send must have ended.
    pub fn send_end(&self) -> Option<Instant> {
        self.before(SEND_END_MARGIN)
    }

    /// When the batch's last writes must have ended.
    pub fn finish(&self) -> Option<Instant> {
        self.before(FINISH_MARGIN)
    }

    /// Whether a send may still start now.
    pub fn may_start_send(&self) -> bool {
        self.last_send_start().is_none_or(|l| Instant::now() <= l)
    }
}

/// `f`, or `None` if it has not finished by `limit` (never `None` without a limit).
pub async fn within<F: Future>(limit: Option<Instant>, f: F) -> Option<F::Output> {
    match limit {
        Some(l) => tokio::time::timeout_at(l, f).await.ok(),
        None => Some(f.await),
    }
}

/// The farthest a real deadline lies ahead: Lambda's longest timeout (15 min) and a minute.
pub const LATEST_PLAUSIBLE_DEADLINE: Duration = Duration::from_secs(16 * 60);
/// The farthest a real deadline lies behind (an invocation that started late).
pub const EARLIEST_PLAUSIBLE_DEADLINE: Duration = Duration::from_secs(60);

/// A deadline given in milliseconds since the Unix epoch (`lambda_runtime::Context::deadline`,
/// the local emulator's `InvocationContext::deadline`) as a `tokio` instant. `None` when the
/// value cannot be an invocation's deadline — more than [`EARLIEST_PLAUSIBLE_DEADLINE`] in the
/// past or [`LATEST_PLAUSIBLE_DEADLINE`] in the future (e.g. an emulator that sends the timeout
/// itself, `600000`, rather than a time): the caller then processes without one and says so.
pub fn deadline_from_epoch_ms(deadline_ms: u64) -> Option<Instant> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let now = Instant::now();
    match deadline_ms.checked_sub(now_ms) {
        Some(left) => {
            let left = Duration::from_millis(left);
            (left <= LATEST_PLAUSIBLE_DEADLINE).then(|| now + left)
        }
        None => {
            let late = Duration::from_millis(now_ms - deadline_ms);
            (late <= EARLIEST_PLAUSIBLE_DEADLINE).then(|| now.checked_sub(late).unwrap_or(now))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn limits_follow_the_deadline() {
        let now = Instant::now();
        let d = Deadline(Some(now + Duration::from_secs(30)));
        assert_eq!(d.last_send_start(), Some(now + Duration::from_secs(27)));
        assert_eq!(d.send_end(), Some(now + Duration::from_secs(29)));
        assert_eq!(d.finish(), Some(now + Duration::from_millis(29_750)));
        assert!(d.may_start_send());
        tokio::time::advance(Duration::from_millis(27_001)).await;
        assert!(!d.may_start_send());
        assert!(Deadline(None).may_start_send());
        assert_eq!(within(None, async { 1 }).await, Some(1));
        let late = within(
            Some(Instant::now()),
            tokio::time::sleep(Duration::from_secs(1)),
        )
        .await;
        assert_eq!(late, None);
    }

    #[test]
    fn epoch_deadlines_become_instants() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let left = deadline_from_epoch_ms(now_ms + 30_000)
            .unwrap()
            .saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_secs(29) && left <= Duration::from_secs(30),
            "{left:?}"
        );
        let past = deadline_from_epoch_ms(now_ms.saturating_sub(5_000)).unwrap();
        assert!(past <= Instant::now());
        assert!(
            deadline_from_epoch_ms(now_ms + 900_000).is_some(),
            "15 min ahead"
        );
        // not an epoch time: a timeout in ms, or zero
        assert_eq!(deadline_from_epoch_ms(600_000), None);
        assert_eq!(deadline_from_epoch_ms(0), None);
        assert_eq!(deadline_from_epoch_ms(now_ms + 3_600_000), None);
    }
}
