//! Account-level operations: GetAccount.

use serde_json::json;

use super::SimState;
use super::wire::Reply;

impl SimState {
    /// Recipients counted against `Max24HourSend` in the current window.
    pub(crate) fn sent_in_window(&self) -> u64 {
        super::wire::lock(&self.quota).sent_in_window()
    }

    pub(crate) fn get_account(&self) -> Reply {
        Reply::ok(json!({
            "DedicatedIpAutoWarmupEnabled": false,
            "EnforcementStatus": "HEALTHY",
            "ProductionAccessEnabled": !self.config.sandbox,
            "SendingEnabled": true,
            "SendQuota": {
                "Max24HourSend": self.daily as f64,
                "MaxSendRate": self.rate,
                "SentLast24Hours": self.sent_in_window() as f64,
            },
            "SuppressionAttributes": { "SuppressedReasons": [] },
        }))
    }
}
