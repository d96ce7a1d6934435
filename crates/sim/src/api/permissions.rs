//! IAM as it would scope the caller's role: `ses:SendEmail` and `ses:SendBulkEmail` are
//! authorised against the ARNs of the sending identity, the configuration set and the stored
//! template a call names (`[sim.permissions]`, one set of lists for both actions). A resource
//! outside its list answers HTTP 403 `AccessDeniedException` with IAM's wording, before SES
//! looks at anything else.

use crate::config::PermissionsConfig;

/// `[sim.permissions]`, ready to match.
#[derive(Debug, Clone)]
pub(crate) struct Permissions {
    identities: Option<Vec<String>>,
    templates: Option<Vec<String>>,
    configuration_sets: Option<Vec<String>>,
    principal: Option<String>,
}

/// A resource a call acts on: its kind (`identity`, `template`, `configuration-set`), name and
/// ARN.
pub(crate) struct Resource {
    pub kind: &'static str,
    pub name: String,
    pub arn: String,
}

impl Permissions {
    pub(crate) fn new(c: &PermissionsConfig) -> Self {
        let lower = |v: &Vec<String>| v.iter().map(|s| s.to_ascii_lowercase()).collect();
        Self {
            // SES identities are case-insensitive.
            identities: c.identities.as_ref().map(lower),
            templates: c.templates.clone(),
            configuration_sets: c.configuration_sets.clone(),
            principal: c.principal.clone(),
        }
    }

    /// Whether every resource of this kind is allowed (no list configured).
    pub(crate) fn allows_all(&self) -> bool {
        self.identities.is_none() && self.templates.is_none() && self.configuration_sets.is_none()
    }

    /// Whether sending is allowed on `r`.
    pub(crate) fn allows(&self, r: &Resource) -> bool {
        let (list, name, arn) = match r.kind {
            "identity" => (
                &self.identities,
                r.name.to_ascii_lowercase(),
                r.arn.to_ascii_lowercase(),
            ),
            "template" => (&self.templates, r.name.clone(), r.arn.clone()),
            _ => (&self.configuration_sets, r.name.clone(), r.arn.clone()),
        };
        let Some(list) = list else {
            return true;
        };
        list.iter().any(|p| {
            if p.starts_with("arn:") {
                glob(p, &arn)
            } else {
                glob(p, &name)
            }
        })
    }

    /// IAM's denial message of `action` (`ses:SendEmail`) on `resource`; `access_key` names
    /// the caller when no principal is configured.
    pub(crate) fn denial(
        &self,
        account_id: &str,
        access_key: &str,
        action: &str,
        resource: &str,
    ) -> String {
        let principal = self.principal.clone().unwrap_or_else(|| {
            format!("arn:aws:sts::{account_id}:assumed-role/sesload-sim/{access_key}")
        });
        format!(
            "User: {principal} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action"
        )
    }
}

/// IAM-style wildcard match: `*` any run of characters, `?` exactly one.
fn glob(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut i, mut j) = (0, 0);
    // Position after the last `*` in the pattern and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i + 1, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_iam() {
        assert!(glob("abc", "abc"));
        assert!(!glob("abc", "abcd"));
        assert!(glob("a*", "abcd"));
        assert!(glob("*", ""));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("a*c*e", "abcdf"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(glob(
            "arn:aws:ses:*:123456789012:template/Promo*",
            "arn:aws:ses:us-east-1:123456789012:template/Promo2"
        ));
    }

    #[test]
    fn absent_list_allows_all_and_empty_list_none() {
        let p = Permissions::new(&PermissionsConfig {
            identities: Some(vec!["Example.com".into()]),
            templates: Some(vec![]),
            ..Default::default()
        });
        let r = |kind, name: &str| Resource {
            kind,
            name: name.to_owned(),
            arn: format!("arn:aws:ses:us-east-1:1:{kind}/{name}"),
        };
        assert!(p.allows(&r("identity", "example.COM")));
        assert!(!p.allows(&r("identity", "other.org")));
        assert!(!p.allows(&r("template", "T")));
        assert!(p.allows(&r("configuration-set", "any")));
        assert!(!p.allows_all());
        assert!(Permissions::new(&PermissionsConfig::default()).allows_all());
    }
}
