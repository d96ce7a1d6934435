//! Step 2 of a send: resolve what the request names against the account — the configuration
//! set (exists, sending not paused, its IP pool exists), the sender identity (verified) and, in
//! sandbox mode, the recipients (verified or mailbox simulator). Each refusal is a
//! [`Refusal`], which SendEmail answers as an HTTP error and SendBulkEmail may give per entry.

use super::refusal::Refusal;
use crate::api::SimState;
use crate::api::config_sets::ConfigSet;
use crate::api::wire::is_simulator;

impl SimState {
    /// The configuration set named `name`, if any: it must exist, not be paused, and not send
    /// through a dedicated IP pool (the simulator has none, so any pool it names is missing).
    pub(super) fn resolve_config_set(
        &self,
        name: Option<&str>,
    ) -> Result<Option<ConfigSet>, Refusal> {
        let Some(n) = name else {
            return Ok(None);
        };
        let s = self
            .config_set(n)
            .ok_or_else(|| Refusal::ConfigSetNotFound(n.to_owned()))?;
        if !s.sending_enabled {
            return Err(Refusal::ConfigSetPaused(n.to_owned()));
        }
        if let Some(pool) = s.sending_pool() {
            return Err(Refusal::SendingPoolNotFound {
                set: n.to_owned(),
                pool: pool.to_owned(),
            });
        }
        Ok(Some(s))
    }

    /// The verified identity the sender `from_addr` sends as.
    pub(super) fn resolve_sender(&self, from_addr: &str) -> Result<String, Refusal> {
        self.verified_identity(from_addr)
            .ok_or_else(|| Refusal::SenderNotVerified(from_addr.to_owned()))
    }

    /// In sandbox mode, every recipient must be verified or a mailbox-simulator address.
    pub(super) fn check_sandbox(&self, recipients: &[String]) -> Result<(), Refusal> {
        if !self.config.sandbox {
            return Ok(());
        }
        let bad: Vec<String> = recipients
            .iter()
            .filter(|r| !is_simulator(r) && self.verified_identity(r).is_none())
            .cloned()
            .collect();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(Refusal::RecipientsNotVerified(bad))
        }
    }

    /// The identity (address or domain) that verifies `addr`, if any.
    pub(super) fn verified_identity(&self, addr: &str) -> Option<String> {
        let a = addr.to_ascii_lowercase();
        let domain = a.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        for v in &self.verified {
            if v == "*" {
                return Some(domain.to_owned());
            }
            if *v == a || (!v.contains('@') && v == domain) {
                return Some(v.clone());
            }
        }
        None
    }
}
