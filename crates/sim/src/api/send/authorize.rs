//! Step 2a of SendEmail: IAM. `ses:SendEmail` is checked against the ARN of every resource the
//! call names — the sending identity, the configuration set, the stored template — before SES
//! looks at anything else, so a denied call is 403 whether or not the resource exists.

use std::sync::atomic::Ordering as AO;

use super::parse::SendRequest;
use crate::api::SimState;
use crate::api::permissions::Resource;
use crate::api::wire::{Reply, caller_identity};

impl SimState {
    /// `Err`: HTTP 403 `AccessDeniedException` naming the first resource outside
    /// `[sim.permissions]` (identity, then configuration set, then template).
    pub(super) fn authorize(
        &self,
        req: &SendRequest,
        authorization: Option<&str>,
    ) -> Result<(), Reply> {
        if self.permissions.allows_all() {
            return Ok(());
        }
        for r in self.resources(req) {
            if !self.permissions.allows(&r) {
                self.counters.access_denied.fetch_add(1, AO::Relaxed);
                let message = self.permissions.denial(
                    &self.config.account_id,
                    &caller_identity(authorization),
                    &r.arn,
                );
                return Err(Reply::error(403, "AccessDeniedException", message));
            }
        }
        Ok(())
    }

    /// The resources a SendEmail acts on. The identity is the verified identity the sender
    /// sends as (its address, or its domain when only the domain is verified), or the sender's
    /// address when nothing verifies it.
    fn resources(&self, req: &SendRequest) -> Vec<Resource> {
        let identity = self
            .verified_identity(&req.from_addr)
            .unwrap_or_else(|| req.from_addr.to_ascii_lowercase());
        let mut out = vec![Resource {
            kind: "identity",
            arn: self.arn("identity", &identity),
            name: identity,
        }];
        if let Some(n) = &req.set_name {
            out.push(Resource {
                kind: "configuration-set",
                arn: self.arn("configuration-set", n),
                name: n.clone(),
            });
        }
        let template = req.content.template.as_ref();
        if let Some(t) = template.filter(|t| t.template_content.is_none()) {
            match (&t.template_name, &t.template_arn) {
                (Some(n), _) => out.push(Resource {
                    kind: "template",
                    arn: self.arn("template", n),
                    name: n.clone(),
                }),
                (None, Some(arn)) => out.push(Resource {
                    kind: "template",
                    name: arn
                        .rsplit_once(":template/")
                        .map_or(arn.as_str(), |(_, n)| n)
                        .to_owned(),
                    arn: arn.clone(),
                }),
                (None, None) => {}
            }
        }
        out
    }
}
