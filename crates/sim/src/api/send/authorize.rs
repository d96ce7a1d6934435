//! Step 2a of a send: IAM. The action (`ses:SendEmail`, `ses:SendBulkEmail`) is checked against
//! the ARN of every resource the call names — the sending identity, the configuration set, the
//! stored template — before SES looks at anything else, so a denied call is 403 whether or not
//! the resource exists.

use std::sync::atomic::Ordering as AO;

use crate::api::SimState;
use crate::api::permissions::Resource;
use crate::api::shapes::TemplateIn;
use crate::api::wire::{Reply, caller_identity};

/// What a send call names, as IAM sees it.
pub(super) struct Named<'a> {
    /// The bare sender address.
    pub from_addr: &'a str,
    /// `FromEmailAddressIdentityArn` (sending authorization), if given: the identity resource.
    pub identity_arn: Option<&'a str>,
    pub set_name: Option<&'a str>,
    pub template: Option<&'a TemplateIn>,
}

impl SimState {
    /// `Err`: HTTP 403 `AccessDeniedException` naming `action` and the first resource outside
    /// `[sim.permissions]` (identity, then configuration set, then template).
    pub(super) fn authorize(
        &self,
        action: &str,
        named: &Named<'_>,
        authorization: Option<&str>,
    ) -> Result<(), Reply> {
        if self.permissions.allows_all() {
            return Ok(());
        }
        for r in self.resources(named) {
            if !self.permissions.allows(&r) {
                self.counters.access_denied.fetch_add(1, AO::Relaxed);
                let message = self.permissions.denial(
                    &self.config.account_id,
                    &caller_identity(authorization),
                    action,
                    &r.arn,
                );
                return Err(Reply::error(403, "AccessDeniedException", message));
            }
        }
        Ok(())
    }

    /// The resources a send acts on. The identity is the one `FromEmailAddressIdentityArn`
    /// names, else the verified identity the sender sends as (its address, or its domain when
    /// only the domain is verified), or the sender's address when nothing verifies it.
    fn resources(&self, named: &Named<'_>) -> Vec<Resource> {
        let identity = match named.identity_arn {
            Some(arn) => Resource {
                kind: "identity",
                name: arn
                    .rsplit_once(":identity/")
                    .map_or(arn, |(_, n)| n)
                    .to_owned(),
                arn: arn.to_owned(),
            },
            None => {
                let name = self
                    .verified_identity(named.from_addr)
                    .unwrap_or_else(|| named.from_addr.to_ascii_lowercase());
                Resource {
                    kind: "identity",
                    arn: self.arn("identity", &name),
                    name,
                }
            }
        };
        let mut out = vec![identity];
        if let Some(n) = named.set_name {
            out.push(Resource {
                kind: "configuration-set",
                arn: self.arn("configuration-set", n),
                name: n.to_owned(),
            });
        }
        if let Some(t) = named.template.filter(|t| t.template_content.is_none()) {
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
