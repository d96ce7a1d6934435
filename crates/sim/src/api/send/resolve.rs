//! Step 2 of SendEmail: resolve what the request names against the account — the
//! configuration set (exists, sending not paused), the sender identity (verified) and, in
//! sandbox mode, the recipients (verified or mailbox simulator).

use std::sync::atomic::Ordering as AO;

use super::parse::SendRequest;
use crate::api::SimState;
use crate::api::config_sets::ConfigSet;
use crate::api::wire::{Reply, is_simulator};

impl SimState {
    /// The configuration set the request names, if any: it must exist and not be paused.
    pub(super) fn resolve_config_set(&self, req: &SendRequest) -> Result<Option<ConfigSet>, Reply> {
        let Some(n) = &req.set_name else {
            return Ok(None);
        };
        let s = self
            .config_set(n)
            .ok_or_else(|| Reply::not_found(format!("Configuration set <{n}> does not exist.")))?;
        if !s.sending_enabled {
            self.counters.sending_paused.fetch_add(1, AO::Relaxed);
            return Err(Reply::error(
                400,
                "SendingPausedException",
                format!("Sending is paused for configuration set {n}."),
            ));
        }
        Ok(Some(s))
    }

    /// The verified identity the sender sends as; in sandbox mode, every recipient must be
    /// verified or a mailbox-simulator address. Otherwise `MessageRejected` as SES words it.
    pub(super) fn resolve_identity(&self, req: &SendRequest) -> Result<String, Reply> {
        let Some(identity) = self.verified_identity(&req.from_addr) else {
            self.counters.rejected.fetch_add(1, AO::Relaxed);
            return Err(Reply::rejected(format!(
                "Email address is not verified. The following identities failed the check in region {}: {}",
                self.config.region.to_ascii_uppercase(),
                req.from_addr
            )));
        };
        if self.config.sandbox {
            let bad: Vec<&str> = req
                .recipients
                .iter()
                .filter(|r| !is_simulator(r) && self.verified_identity(r).is_none())
                .map(String::as_str)
                .collect();
            if !bad.is_empty() {
                self.counters.rejected.fetch_add(1, AO::Relaxed);
                return Err(Reply::rejected(format!(
                    "Email address is not verified. The following identities failed the check in region {}: {}",
                    self.config.region.to_ascii_uppercase(),
                    bad.join(", ")
                )));
            }
        }
        Ok(identity)
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
