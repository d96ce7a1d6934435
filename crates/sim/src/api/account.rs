//! Account-level operations: GetAccount, PutAccountSendingAttributes, and the simulator's own
//! switches `POST /_sim/account/sending` and `POST /_sim/account/suspension`.

use std::sync::atomic::Ordering as AO;

use serde_json::json;

use super::SimState;
use super::send::Refusal;
use super::shapes::{SendingEnabledRequest, SimSendingSwitch, SimSuspensionSwitch};
use super::wire::{Reply, lock, parse_body};

impl SimState {
    /// Recipients counted against `Max24HourSend` in the current window.
    pub(crate) fn sent_in_window(&self) -> u64 {
        lock(&self.quota).sent_in_window()
    }

    /// Whether the account may send: suspended first (the account may not send at all), then
    /// paused.
    pub(crate) fn account_refusal(&self) -> Result<(), Refusal> {
        if self.suspended.load(AO::Relaxed) {
            return Err(Refusal::AccountSuspended);
        }
        if !self.account_sending.load(AO::Relaxed) {
            return Err(Refusal::AccountPaused);
        }
        Ok(())
    }

    pub(crate) fn get_account(&self) -> Reply {
        let status = if self.suspended.load(AO::Relaxed) {
            "SHUTDOWN"
        } else {
            "HEALTHY"
        };
        Reply::ok(json!({
            "DedicatedIpAutoWarmupEnabled": false,
            "EnforcementStatus": status,
            "ProductionAccessEnabled": !self.config.sandbox,
            "SendingEnabled": self.account_sending.load(AO::Relaxed),
            "SendQuota": {
                "Max24HourSend": self.daily as f64,
                "MaxSendRate": self.rate,
                "SentLast24Hours": self.sent_in_window() as f64,
            },
            "SuppressionAttributes": { "SuppressedReasons": [] },
        }))
    }

    /// PutAccountSendingAttributes (`PUT /v2/email/account/sending`). It pauses or resumes the
    /// account; it does not lift a suspension.
    pub(crate) fn put_account_sending(&self, body: &[u8]) -> Reply {
        match parse_body::<SendingEnabledRequest>(body) {
            Ok(r) => {
                self.set_account_sending(r.sending_enabled.unwrap_or(false));
                Reply::empty()
            }
            Err(e) => e,
        }
    }

    /// `POST /_sim/account/sending {"enabled": bool}` → `{"enabled": bool}`.
    pub(crate) fn sim_account_sending(&self, body: &[u8]) -> Reply {
        match parse_body::<SimSendingSwitch>(body) {
            Ok(r) => {
                self.set_account_sending(r.enabled);
                Reply::ok(json!({ "enabled": r.enabled }))
            }
            Err(e) => e,
        }
    }

    /// `POST /_sim/account/suspension {"suspended": bool}` → `{"suspended": bool}`.
    pub(crate) fn sim_account_suspension(&self, body: &[u8]) -> Reply {
        match parse_body::<SimSuspensionSwitch>(body) {
            Ok(r) => {
                self.suspended.store(r.suspended, AO::Relaxed);
                tracing::info!(suspended = r.suspended, "account suspension changed");
                Reply::ok(json!({ "suspended": r.suspended }))
            }
            Err(e) => e,
        }
    }

    fn set_account_sending(&self, enabled: bool) {
        self.account_sending.store(enabled, AO::Relaxed);
        tracing::info!(enabled, "account sending changed");
    }
}
