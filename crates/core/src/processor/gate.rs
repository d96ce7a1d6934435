//! The regime gate: whether this instance may call SES now, and if not, why.
//!
//! Two scopes close it: the **account** (the daily quota is used up, or sending is paused for
//! the account) and a **configuration set** (sending paused for that set). While a scope is
//! closed no `SendEmail` is made in it; the records are parked with the scope's reason. It
//! closes on the first SES answer that says so (`LimitExceededException`,
//! `SendingPausedException`), and before any answer when a `GetAccount` answer shows
//! `SendingEnabled = false` or `SentLast24Hours` + this instance's sends since that answer
//! reaching `Max24HourSend` (counting recipients outside the mailbox simulator only, as SES
//! does). It reopens after a probe: a `GetAccount` for the account scope (at the start of a
//! batch, at most once per probe interval), one real send for a configuration set.
//!
//! Per instance: other instances find out from their own answers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::model::{OutgoingEmail, ParkReason};
use crate::ports::SendQuota;
use crate::request::is_mailbox_simulator;

/// What the gate says about one email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admission {
    /// Send it. `counted`: one unit of the daily budget was taken for it (given back if the
    /// send certainly did not happen). `probe`: this send probes a paused configuration set.
    Send { counted: bool, probe: bool },
    /// Do not call SES: park the record for this reason.
    Park(ParkReason),
}

#[derive(Debug)]
struct Closed {
    reason: ParkReason,
    next_probe: Instant,
    /// A probe send is under way (configuration sets only).
    probing: bool,
    /// Closed by this instance's own count reaching the daily budget (not by an SES answer):
    /// the sends admitted before, each holding its unit, still go out.
    by_budget: bool,
}

#[derive(Debug, Default)]
struct State {
    account: Option<Closed>,
    /// Paused configuration sets (`None`: requests without one).
    sets: HashMap<Option<String>, Closed>,
    /// Recipients the daily quota still allows, from the last `GetAccount` answer minus this
    /// instance's counted sends since (`None`: unlimited or not known yet).
    budget: Option<f64>,
}

#[derive(Debug)]
pub(super) struct Gate {
    probe_interval: Duration,
    state: Mutex<State>,
    account_check: AtomicBool,
}

impl Gate {
    pub(super) fn new(probe_interval: Duration) -> Self {
        Self {
            probe_interval,
            state: Mutex::new(State::default()),
            account_check: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Why the account scope is closed, if it is.
    pub(super) fn account_closed(&self) -> Option<ParkReason> {
        self.lock().account.as_ref().map(|c| c.reason)
    }

    /// Whether the account scope is closed and its `GetAccount` probe is due.
    pub(super) fn account_probe_due(&self) -> bool {
        self.lock()
            .account
            .as_ref()
            .is_some_and(|c| Instant::now() >= c.next_probe)
    }

    /// The account probe could not be made (`GetAccount` failed): try again after the interval.
    pub(super) fn account_probe_failed(&self) {
        let next = Instant::now() + self.probe_interval;
        if let Some(c) = self.lock().account.as_mut() {
            c.next_probe = next;
        }
    }

    /// Whether `email` may be sent now; takes one unit of the daily budget if it counts.
    pub(super) fn admit(&self, email: &OutgoingEmail) -> Admission {
        let now = Instant::now();
        let mut s = self.lock();
        if let Some(c) = &s.account {
            return Admission::Park(c.reason);
        }
        let mut probe = false;
        if let Some(c) = s.sets.get_mut(&email.configuration_set) {
            if c.probing || now < c.next_probe {
                return Admission::Park(c.reason);
            }
            c.probing = true;
            probe = true;
        }
        let counted = !is_mailbox_simulator(&email.to);
        if counted && let Some(b) = s.budget.as_mut() {
            if *b < 1.0 {
                tracing::warn!(
                    "SES DAILY QUOTA REACHED (SentLast24Hours + this instance's sends since GetAccount): parking records until the window frees capacity"
                );
                s.account = Some(Closed {
                    by_budget: true,
                    ..self.closed(ParkReason::DailyQuota, now)
                });
                if probe && let Some(c) = s.sets.get_mut(&email.configuration_set) {
                    c.probing = false;
                }
                return Admission::Park(ParkReason::DailyQuota);
            }
            *b -= 1.0;
        }
        Admission::Send { counted, probe }
    }

    /// Just before the call (after waiting for the slot): `Some(reason)` if a scope of `email`
    /// closed meanwhile (the daily budget running out does not stop the sends admitted before).
    /// The caller then gives its admission back with [`not_sent`](Self::not_sent).
    pub(super) fn closed_for(&self, email: &OutgoingEmail, probe: bool) -> Option<ParkReason> {
        let s = self.lock();
        if let Some(c) = &s.account
            && !c.by_budget
        {
            return Some(c.reason);
        }
        match s.sets.get(&email.configuration_set) {
            Some(c) if !probe => Some(c.reason),
            _ => None,
        }
    }

    /// SES accepted `email`: a probe reopens its configuration set.
    pub(super) fn sent(&self, email: &OutgoingEmail, probe: bool) {
        if probe && self.lock().sets.remove(&email.configuration_set).is_some() {
            tracing::info!(configuration_set = ?email.configuration_set, "sending resumed for the configuration set");
        }
    }

    /// `email` was certainly not sent: its budget unit comes back; a probe that ended without an
    /// answer about the pause lets the next record probe.
    pub(super) fn not_sent(&self, email: &OutgoingEmail, counted: bool, probe: bool) {
        let mut s = self.lock();
        // Once the daily quota closed the account, the next GetAccount answer sets the budget.
        let daily_closed = s
            .account
            .as_ref()
            .is_some_and(|c| c.reason == ParkReason::DailyQuota);
        if counted
            && !daily_closed
            && let Some(b) = s.budget.as_mut()
        {
            *b += 1.0;
        }
        if probe && let Some(c) = s.sets.get_mut(&email.configuration_set) {
            c.probing = false;
        }
    }

    fn closed(&self, reason: ParkReason, now: Instant) -> Closed {
        Closed {
            reason,
            next_probe: now + self.probe_interval,
            probing: false,
            by_budget: false,
        }
    }

    /// SES answered `LimitExceededException`: the daily quota is used up.
    pub(super) fn close_daily(&self) {
        let now = Instant::now();
        let mut s = self.lock();
        s.budget = Some(0.0);
        match s.account.as_mut() {
            Some(c) => c.by_budget = false,
            None => {
                tracing::warn!(
                    "SES DAILY QUOTA REACHED (LimitExceededException): parking records until the window frees capacity"
                );
                s.account = Some(self.closed(ParkReason::DailyQuota, now));
            }
        }
    }

    /// SES answered `SendingPausedException` for `set`.
    pub(super) fn close_set(&self, set: Option<&str>) {
        let now = Instant::now();
        let mut s = self.lock();
        let key = set.map(str::to_string);
        if s.sets.get(&key).is_none_or(|c| c.probing) {
            if !s.sets.contains_key(&key) {
                tracing::warn!(configuration_set = ?set, "SES SENDING PAUSED (SendingPausedException): parking records of this configuration set");
            }
            s.sets
                .insert(key, self.closed(ParkReason::SendingPaused, now));
        }
    }

    /// Start the one account check (`GetAccount`) a pause answer asks for; `false` if one is
    /// already under way.
    pub(super) fn start_account_check(&self) -> bool {
        !self.account_check.swap(true, Ordering::SeqCst)
    }

    pub(super) fn end_account_check(&self) {
        self.account_check.store(false, Ordering::SeqCst);
    }

    /// A `GetAccount` answer: opens or closes the account scope and resets the daily budget.
    pub(super) fn apply_quota(&self, q: &SendQuota) {
        let now = Instant::now();
        let mut s = self.lock();
        s.budget = q.max_24_hour_send.map(|max| max - q.sent_last_24_hours);
        let reason = if !q.sending_enabled {
            Some(ParkReason::SendingPaused)
        } else if s.budget.is_some_and(|b| b < 1.0) {
            Some(ParkReason::DailyQuota)
        } else {
            None
        };
        match (reason, s.account.as_mut()) {
            (None, Some(c)) => {
                tracing::info!(reason = %c.reason, max_24_hour_send = ?q.max_24_hour_send,
                    sent_last_24_hours = q.sent_last_24_hours, "SES can send again (GetAccount); resuming");
                s.account = None;
            }
            (Some(r), Some(c)) => {
                c.reason = r;
                c.by_budget = false;
                c.next_probe = now + self.probe_interval;
            }
            (Some(r), None) => {
                tracing::warn!(reason = %r, sending_enabled = q.sending_enabled, max_24_hour_send = ?q.max_24_hour_send,
                    sent_last_24_hours = q.sent_last_24_hours, "SES CANNOT SEND (GetAccount): parking records");
                s.account = Some(self.closed(r, now));
            }
            (None, None) => {}
        }
        if reason == Some(ParkReason::SendingPaused) {
            // The account's pause explains the sets' answers; they reopen with the account.
            s.sets.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UniqueCode;

    fn email(to: &str, set: Option<&str>) -> OutgoingEmail {
        OutgoingEmail {
            from: "s@example.com".into(),
            to: to.into(),
            template_name: "T".into(),
            template_data: "{}".into(),
            configuration_set: set.map(str::to_string),
            tags: vec![],
            unique_code: UniqueCode("c".into()),
        }
    }

    fn quota(max: Option<f64>, sent: f64, enabled: bool) -> SendQuota {
        SendQuota {
            max_send_rate: 1.0,
            max_24_hour_send: max,
            sent_last_24_hours: sent,
            sending_enabled: enabled,
        }
    }

    const SEND: Admission = Admission::Send {
        counted: true,
        probe: false,
    };

    #[tokio::test(start_paused = true)]
    async fn the_daily_budget_counts_real_recipients_and_closes_before_ses_says_so() {
        let g = Gate::new(Duration::from_secs(10));
        g.apply_quota(&quota(Some(200.0), 198.0, true));
        let real = email("a@example.com", None);
        let sim = email("success@simulator.amazonses.com", None);
        assert_eq!(g.admit(&real), SEND);
        // mailbox-simulator recipients do not count against the daily quota
        for _ in 0..5 {
            assert!(matches!(
                g.admit(&sim),
                Admission::Send { counted: false, .. }
            ));
        }
        assert_eq!(g.admit(&real), SEND);
        // a send that certainly did not happen gives its unit back
        g.not_sent(&real, true, false);
        assert_eq!(g.admit(&real), SEND);
        assert_eq!(g.admit(&real), Admission::Park(ParkReason::DailyQuota));
        assert_eq!(g.account_closed(), Some(ParkReason::DailyQuota));
        // closed for everyone, simulator recipients too, until a probe
        assert_eq!(g.admit(&sim), Admission::Park(ParkReason::DailyQuota));
        assert!(!g.account_probe_due());
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(g.account_probe_due());
        g.apply_quota(&quota(Some(200.0), 200.0, true));
        assert!(!g.account_probe_due());
        g.apply_quota(&quota(Some(200.0), 150.0, true));
        assert_eq!(g.account_closed(), None);
        assert_eq!(g.admit(&real), SEND);
    }

    #[tokio::test(start_paused = true)]
    async fn an_account_pause_closes_everything_and_a_set_pause_only_its_set() {
        let g = Gate::new(Duration::from_secs(10));
        let a = email("x@simulator.amazonses.com", Some("a"));
        let b = email("x@simulator.amazonses.com", Some("b"));
        g.close_set(Some("a"));
        assert_eq!(g.admit(&a), Admission::Park(ParkReason::SendingPaused));
        assert!(matches!(g.admit(&b), Admission::Send { .. }));
        assert_eq!(g.closed_for(&a, false), Some(ParkReason::SendingPaused));
        // after the interval one record probes; the others still park
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(
            g.admit(&a),
            Admission::Send {
                counted: false,
                probe: true
            }
        );
        assert_eq!(g.closed_for(&a, true), None);
        assert_eq!(g.admit(&a), Admission::Park(ParkReason::SendingPaused));
        g.sent(&a, true);
        assert!(matches!(g.admit(&a), Admission::Send { probe: false, .. }));
        // the account: GetAccount says SendingEnabled = false
        g.close_set(Some("b"));
        g.apply_quota(&quota(None, 0.0, false));
        assert_eq!(g.account_closed(), Some(ParkReason::SendingPaused));
        assert_eq!(g.admit(&a), Admission::Park(ParkReason::SendingPaused));
        g.apply_quota(&quota(None, 0.0, true));
        // the set closed by the account's pause reopens with it
        assert!(matches!(g.admit(&b), Admission::Send { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn limit_exceeded_closes_the_account_until_get_account_shows_room() {
        let g = Gate::new(Duration::from_secs(10));
        g.close_daily();
        let e = email("x@example.com", None);
        assert_eq!(g.admit(&e), Admission::Park(ParkReason::DailyQuota));
        g.account_probe_failed();
        assert!(!g.account_probe_due());
        g.apply_quota(&quota(Some(100.0), 10.0, true));
        assert_eq!(g.admit(&e), SEND);
    }
}
