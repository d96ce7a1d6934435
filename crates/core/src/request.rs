//! Parsing and validating a queue message body into a [`SendRequest`].
//!
//! The rules are those of `schemas/send-request.schema.json` (the one schema shared with the
//! API Gateway model and the local ingest), checked by hand so that the core needs no JSON
//! Schema engine, plus the poller's own policy (recipient allow-list). Every rejection names
//! the field and the bad value.

use serde_json::{Map, Value};

use crate::model::{DlqReason, SendRequest, Tag, UniqueCode, UserId};

/// What the poller accepts beyond the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Lower-case recipient domains the poller may send to (exact match of the part after `@`).
    pub allowed_recipient_domains: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            allowed_recipient_domains: vec!["simulator.amazonses.com".to_string()],
        }
    }
}

impl Policy {
    pub fn new<I, S>(domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            allowed_recipient_domains: domains
                .into_iter()
                .map(|d| d.as_ref().trim().to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
        }
    }

    /// Whether `address` (already syntactically valid) may receive mail.
    pub fn allows_recipient(&self, address: &str) -> bool {
        match address.rsplit_once('@') {
            Some((_, domain)) => {
                let domain = domain.to_ascii_lowercase();
                self.allowed_recipient_domains.contains(&domain)
            }
            None => false,
        }
    }
}

/// The domain of the SES mailbox simulator: its recipients count against the sending rate but
/// not against the daily quota.
pub const MAILBOX_SIMULATOR_DOMAIN: &str = "simulator.amazonses.com";

/// Whether `address` is a mailbox-simulator recipient (`success@simulator.amazonses.com`, any
/// case, `+label` allowed).
pub fn is_mailbox_simulator(address: &str) -> bool {
    address
        .rsplit_once('@')
        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(MAILBOX_SIMULATOR_DOMAIN))
}

/// Why a body was refused: a permanent failure that goes to the DLQ with `reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct Rejection {
    pub reason: DlqReason,
    /// Names the field and the bad value.
    pub detail: String,
}

impl Rejection {
    pub fn new(reason: DlqReason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }
}

impl From<Rejection> for (DlqReason, String) {
    fn from(r: Rejection) -> Self {
        (r.reason, r.detail)
    }
}

const FIELDS: [&str; 7] = [
    "from",
    "to",
    "template_name",
    "user_id",
    "config_set",
    "tags",
    "unique_code",
];

fn schema(detail: String) -> Rejection {
    Rejection::new(DlqReason::SchemaViolation, detail)
}

/// Shorten a value for an error message.
fn show(v: &str) -> String {
    if v.chars().count() <= 80 {
        format!("{v:?}")
    } else {
        let s: String = v.chars().take(77).collect();
        format!("{s:?}...")
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn is_code_char(c: char) -> bool {
    is_name_char(c) || c == '.' || c == ':'
}

/// `\s` as JSON Schema (ECMA-262) defines it, which is what API Gateway and the local ingest
/// apply: WhiteSpace and LineTerminator. Unlike `char::is_whitespace` it excludes U+0085 (NEL)
/// and includes U+FEFF, so the poller never rejects a body the edge accepted.
fn is_ecma_space(c: char) -> bool {
    matches!(
        c,
        '\u{0009}'..='\u{000D}'
            | '\u{0020}'
            | '\u{00A0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200A}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202F}'
            | '\u{205F}'
            | '\u{3000}'
            | '\u{FEFF}'
    )
}

/// `^[^@\s]+@[^@\s]+\.[^@\s]+$`
fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    let ok = |s: &str| !s.is_empty() && !s.chars().any(|c| c == '@' || is_ecma_space(c));
    if !ok(local) || !ok(domain) {
        return false;
    }
    // at least one dot with non-empty text on both sides (the regex can match any dot)
    domain
        .char_indices()
        .any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len())
}

/// Whether SES accepts `v` as a message tag name or value: ASCII letters, digits, `_`, `-`,
/// 1 to 256 characters.
pub fn is_valid_tag_text(v: &str) -> bool {
    !v.is_empty() && v.len() <= 256 && v.chars().all(is_name_char)
}

fn string_field<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    required: bool,
) -> Result<Option<&'a str>, Rejection> {
    match obj.get(name) {
        None if required => Err(schema(format!("required field `{name}` is missing"))),
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(schema(format!(
            "`{name}` must be a string, got {}",
            type_name(other)
        ))),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_len(name: &str, v: &str, min: usize, max: usize) -> Result<(), Rejection> {
    let n = v.chars().count();
    if n < min || n > max {
        return Err(schema(format!(
            "`{name}` must be {min} to {max} characters long, got {n}: {}",
            show(v)
        )));
    }
    Ok(())
}

fn check_chars(name: &str, v: &str, ok: fn(char) -> bool, allowed: &str) -> Result<(), Rejection> {
    if let Some(bad) = v.chars().find(|c| !ok(*c)) {
        return Err(schema(format!(
            "`{name}` may only contain {allowed}; {} has {bad:?}",
            show(v)
        )));
    }
    Ok(())
}

fn email_field(obj: &Map<String, Value>, name: &str) -> Result<String, Rejection> {
    let v = string_field(obj, name, true)?.unwrap_or_default();
    check_len(name, v, 3, 320)?;
    if !is_email(v) {
        return Err(schema(format!(
            "`{name}` is not an email address: {}",
            show(v)
        )));
    }
    Ok(v.to_string())
}

impl SendRequest {
    /// Parse and validate a message body.
    ///
    /// Errors: [`DlqReason::InvalidJson`] (not JSON), [`DlqReason::SchemaViolation`]
    /// (structure, types, lengths, characters; the field is named),
    /// [`DlqReason::InvalidTag`] (a tag name or value SES would reject),
    /// [`DlqReason::RecipientNotAllowed`] (recipient domain not in the policy).
    pub fn parse(body: &str, policy: &Policy) -> Result<SendRequest, Rejection> {
        let value: Value = serde_json::from_str(body).map_err(|e| {
            Rejection::new(
                DlqReason::InvalidJson,
                format!("body is not JSON ({e}): {}", show(body)),
            )
        })?;
        let Value::Object(obj) = value else {
            return Err(schema(format!(
                "body must be a JSON object, got {}",
                type_name(&value)
            )));
        };
        if let Some(extra) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(schema(format!("unknown field `{extra}`")));
        }

        let from = email_field(&obj, "from")?;
        let to = email_field(&obj, "to")?;

        let template_name = string_field(&obj, "template_name", true)?.unwrap_or_default();
        check_len("template_name", template_name, 1, 64)?;
        check_chars(
            "template_name",
            template_name,
            is_name_char,
            "letters, digits, `_` and `-`",
        )?;

        let user_id = match obj.get("user_id") {
            None => return Err(schema("required field `user_id` is missing".into())),
            Some(Value::String(s)) => {
                check_len("user_id", s, 1, 64)?;
                check_chars("user_id", s, is_name_char, "letters, digits, `_` and `-`")?;
                s.clone()
            }
            Some(Value::Number(n)) => match n.as_u64() {
                Some(u) => u.to_string(),
                None => {
                    return Err(schema(format!(
                        "`user_id` must be a non-negative integer or a string, got {n}"
                    )));
                }
            },
            Some(other) => {
                return Err(schema(format!(
                    "`user_id` must be a string or an integer, got {}",
                    type_name(other)
                )));
            }
        };

        let config_set = match string_field(&obj, "config_set", false)? {
            None => None,
            Some(c) => {
                check_len("config_set", c, 1, 64)?;
                check_chars(
                    "config_set",
                    c,
                    is_name_char,
                    "letters, digits, `_` and `-`",
                )?;
                Some(c.to_string())
            }
        };

        let tags = match obj.get("tags") {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                if items.len() > 50 {
                    return Err(schema(format!(
                        "`tags` may have at most 50 items, got {}",
                        items.len()
                    )));
                }
                let mut tags = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    tags.push(parse_tag(i, item)?);
                }
                tags
            }
            Some(other) => {
                return Err(schema(format!(
                    "`tags` must be an array, got {}",
                    type_name(other)
                )));
            }
        };

        let unique_code = string_field(&obj, "unique_code", true)?.unwrap_or_default();
        check_len("unique_code", unique_code, 1, 128)?;
        check_chars(
            "unique_code",
            unique_code,
            is_code_char,
            "letters, digits, `_`, `-`, `.` and `:`",
        )?;

        if !policy.allows_recipient(&to) {
            let domain = to.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
            return Err(Rejection::new(
                DlqReason::RecipientNotAllowed,
                format!(
                    "recipient domain {:?} is not allowed (allowed: {})",
                    domain,
                    policy.allowed_recipient_domains.join(", ")
                ),
            ));
        }

        Ok(SendRequest {
            from,
            to,
            template_name: template_name.to_string(),
            user_id: UserId(user_id),
            config_set,
            tags,
            unique_code: UniqueCode(unique_code.to_string()),
        })
    }

    /// The message tags to send: the request's tags plus `unique_code` when SES accepts the
    /// code as a tag value (codes with `.` or `:` are not valid tag values and are left out)
    /// and the request does not already carry a `unique_code` tag.
    pub fn email_tags(&self) -> Vec<Tag> {
        let mut tags = self.tags.clone();
        if is_valid_tag_text(&self.unique_code.0) && !tags.iter().any(|t| t.name == "unique_code") {
            tags.push(Tag {
                name: "unique_code".into(),
                value: self.unique_code.0.clone(),
            });
        }
        tags
    }
}

fn parse_tag(i: usize, item: &Value) -> Result<Tag, Rejection> {
    let Value::Object(obj) = item else {
        return Err(schema(format!(
            "`tags[{i}]` must be an object with Name and Value, got {}",
            type_name(item)
        )));
    };
    if let Some(extra) = obj.keys().find(|k| *k != "Name" && *k != "Value") {
        return Err(schema(format!("`tags[{i}]` has unknown field `{extra}`")));
    }
    let get = |key: &str| -> Result<String, Rejection> {
        match obj.get(key) {
            None => Err(schema(format!("`tags[{i}].{key}` is missing"))),
            Some(Value::String(s)) => {
                if !is_valid_tag_text(s) {
                    Err(Rejection::new(
                        DlqReason::InvalidTag,
                        format!(
                            "`tags[{i}].{key}` {} is not a valid SES tag {}: 1 to 256 of letters, digits, `_` and `-`",
                            show(s),
                            key.to_ascii_lowercase()
                        ),
                    ))
                } else {
                    Ok(s.clone())
                }
            }
            Some(other) => Err(schema(format!(
                "`tags[{i}].{key}` must be a string, got {}",
                type_name(other)
            ))),
        }
    };
    let name = get("Name")?;
    let value = get("Value")?;
    Ok(Tag { name, value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn good() -> Value {
        json!({
            "from": "sender@example.com",
            "to": "success+7@simulator.amazonses.com",
            "template_name": "SimpleEmail",
            "user_id": "42",
            "config_set": "load-test-config",
            "tags": [{"Name": "campaign", "Value": "run-1"}],
            "unique_code": "abc-123"
        })
    }

    fn parse(v: &Value) -> Result<SendRequest, Rejection> {
        SendRequest::parse(&v.to_string(), &Policy::default())
    }

    fn with(key: &str, val: Value) -> Value {
        let mut v = good();
        v[key] = val;
        v
    }

    #[test]
    fn email_whitespace_is_the_json_schema_one() {
        // U+0085 is not `\s` in ECMA-262: the edge accepts it, so the poller must too.
        assert!(is_email("a\u{85}b@example.com"));
        // U+FEFF and U+00A0 are `\s` in ECMA-262 although Rust disagrees on U+FEFF.
        assert!(!is_email("a\u{FEFF}b@example.com"));
        assert!(!is_email("a\u{A0}b@example.com"));
        assert!(!is_email("a b@example.com"));
    }

    fn without(key: &str) -> Value {
        let mut v = good();
        v.as_object_mut().unwrap().remove(key);
        v
    }

    #[test]
    fn accepts_the_artillery_payload() {
        let r = parse(&good()).unwrap();
        assert_eq!(r.user_id, UserId("42".into()));
        assert_eq!(r.to, "success+7@simulator.amazonses.com");
        assert_eq!(r.config_set.as_deref(), Some("load-test-config"));
        assert_eq!(r.tags.len(), 1);
        assert_eq!(r.unique_code, UniqueCode("abc-123".into()));
    }

    #[test]
    fn user_id_may_be_an_integer() {
        let r = parse(&with("user_id", json!(9999))).unwrap();
        assert_eq!(r.user_id, UserId("9999".into()));
        let e = parse(&with("user_id", json!(-1))).unwrap_err();
        assert_eq!(e.reason, DlqReason::SchemaViolation);
        let e = parse(&with("user_id", json!(1.5))).unwrap_err();
        assert_eq!(e.reason, DlqReason::SchemaViolation);
        let e = parse(&with("user_id", json!(true))).unwrap_err();
        assert!(e.detail.contains("user_id"), "{e}");
    }

    #[test]
    fn optional_fields_may_be_absent() {
        let mut v = without("config_set");
        v.as_object_mut().unwrap().remove("tags");
        let r = parse(&v).unwrap();
        assert_eq!(r.config_set, None);
        assert!(r.tags.is_empty());
    }

    #[test]
    fn bad_json_is_invalid_json() {
        let e = SendRequest::parse("{not json", &Policy::default()).unwrap_err();
        assert_eq!(e.reason, DlqReason::InvalidJson);
        assert!(e.detail.contains("{not json"), "{e}");
    }

    #[test]
    fn schema_violations_name_the_field() {
        for (v, field) in [
            (without("from"), "from"),
            (without("to"), "to"),
            (without("template_name"), "template_name"),
            (without("user_id"), "user_id"),
            (without("unique_code"), "unique_code"),
            (with("to", json!("not-an-address")), "to"),
            (with("from", json!(17)), "from"),
            (with("template_name", json!("has space")), "template_name"),
            (with("template_name", json!("")), "template_name"),
            (with("user_id", json!("")), "user_id"),
            (with("config_set", json!("a/b")), "config_set"),
            (with("unique_code", json!("x".repeat(129))), "unique_code"),
            (with("unique_code", json!("a b")), "unique_code"),
            (with("tags", json!("campaign")), "tags"),
            (with("tags", json!([{"Name": "a"}])), "tags[0].Value"),
            (
                with("tags", json!([{"Name": "a", "Value": "b", "X": 1}])),
                "tags[0]",
            ),
            (with("extra", json!(1)), "extra"),
        ] {
            let e = parse(&v).unwrap_err();
            assert_eq!(e.reason, DlqReason::SchemaViolation, "{v}: {e}");
            assert!(e.detail.contains(field), "{field} not named in {e}");
        }
        let e = SendRequest::parse("[1,2]", &Policy::default()).unwrap_err();
        assert_eq!(e.reason, DlqReason::SchemaViolation);
    }

    #[test]
    fn tags_ses_would_reject_are_invalid_tag() {
        for tags in [
            json!([{"Name": "campaign", "Value": "has space"}]),
            json!([{"Name": "camp@ign", "Value": "x"}]),
            json!([{"Name": "campaign", "Value": ""}]),
            json!([{"Name": "campaign", "Value": "x".repeat(257)}]),
        ] {
            let e = parse(&with("tags", tags.clone())).unwrap_err();
            assert_eq!(e.reason, DlqReason::InvalidTag, "{tags}: {e}");
            assert!(e.detail.contains("tags[0]"), "{e}");
        }
    }

    #[test]
    fn recipient_domain_must_be_allowed() {
        let e = parse(&with("to", json!("someone@gmail.com"))).unwrap_err();
        assert_eq!(e.reason, DlqReason::RecipientNotAllowed);
        assert!(e.detail.contains("gmail.com"), "{e}");
        // case-insensitive, exact domain
        assert!(parse(&with("to", json!("bounce@Simulator.AmazonSES.com"))).is_ok());
        let e = parse(&with(
            "to",
            json!("x@evil-simulator.amazonses.com.attacker.io"),
        ))
        .unwrap_err();
        assert_eq!(e.reason, DlqReason::RecipientNotAllowed);
        let p = Policy::new(["example.org", " Simulator.amazonses.com "]);
        assert!(SendRequest::parse(&with("to", json!("a@example.org")).to_string(), &p).is_ok());
    }

    #[test]
    fn unique_code_tag_is_added_only_when_valid() {
        let r = parse(&good()).unwrap();
        let tags = r.email_tags();
        assert!(tags.contains(&Tag {
            name: "unique_code".into(),
            value: "abc-123".into()
        }));
        let r = parse(&with("unique_code", json!("run:1.2"))).unwrap();
        assert!(!r.email_tags().iter().any(|t| t.name == "unique_code"));
        assert_eq!(r.email_tags().len(), 1);
    }
}
