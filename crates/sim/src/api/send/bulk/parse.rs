//! Step 1 of SendBulkEmail: parse and validate the request into a [`BulkRequest`].
//!
//! What is wrong with the request as a whole — its shape, a limit, a bad value in the part
//! every entry shares (`FromEmailAddress`, `ReplyToAddresses`, `DefaultEmailTags`,
//! `DefaultContent.Template` and its `TemplateData` and `Headers`) — is a 400
//! `BadRequestException` for the call. A bad value inside one entry (a recipient address, its
//! `ReplacementTags`, `ReplacementTemplateData` or `ReplacementHeaders`) fails only that
//! entry, with `INVALID_PARAMETER` and the message saying what was wrong.

use serde_json::{Map, Value};

use super::super::content::{TemplateRef, template_ref};
use super::super::parse::{Recipients, RecipientsError, validate_tags};
use crate::api::MAX_BULK_ENTRIES;
use crate::api::shapes::{
    BulkEmailEntryIn, MessageHeaderIn, MessageTag, SendBulkEmailRequest, TemplateIn,
};
use crate::api::wire::{Reply, bare_address, parse_body};
use crate::render::parse_template_data;

/// Most headers in `Template.Headers` or one entry's `ReplacementHeaders` (`MessageHeaderList`,
/// max 15, in the SES v2 service model).
pub(crate) const MAX_HEADERS: usize = 15;

/// A SendBulkEmail request whose shared part is valid.
pub(crate) struct BulkRequest {
    /// `FromEmailAddress` as given.
    pub from: String,
    /// Its bare address.
    pub from_addr: String,
    /// `FromEmailAddressIdentityArn`.
    pub identity_arn: Option<String>,
    pub set_name: Option<String>,
    /// `DefaultContent.Template` (IAM reads the stored template it names).
    pub template: TemplateIn,
    /// The checked template reference.
    pub source: TemplateRef,
    /// The entries in request order: `Err` is the `INVALID_PARAMETER` message of an entry.
    pub entries: Vec<Result<Entry, String>>,
}

/// One valid entry, with the shared defaults merged in.
pub(crate) struct Entry {
    pub rcpt: Recipients,
    /// `DefaultEmailTags` without the names the entry replaces, then `ReplacementTags`.
    pub tags: Vec<MessageTag>,
    /// `TemplateData` with the entry's `ReplacementTemplateData` merged over it.
    pub data: Value,
    /// `Reply-To`, then `Template.Headers` with the entry's `ReplacementHeaders` applied.
    pub headers: Vec<(String, String)>,
}

/// Parses and validates the body of a SendBulkEmail call.
pub(crate) fn parse_bulk(body: &[u8]) -> Result<BulkRequest, Reply> {
    let req: SendBulkEmailRequest = parse_body(body)?;
    let template = req
        .default_content
        .ok_or_else(|| Reply::bad_request("Missing required field DefaultContent."))?
        .template
        .ok_or_else(|| {
            Reply::bad_request("Missing required field DefaultContent.Template: SendBulkEmail sends templated email only.")
        })?;
    let entries = req
        .bulk_email_entries
        .ok_or_else(|| Reply::bad_request("Missing required field BulkEmailEntries."))?;
    if entries.is_empty() {
        return Err(Reply::bad_request(
            "BulkEmailEntries must contain at least one entry.",
        ));
    }
    if entries.len() > MAX_BULK_ENTRIES {
        return Err(Reply::bad_request(format!(
            "BulkEmailEntries has {} entries; at most {MAX_BULK_ENTRIES} are allowed in one call.",
            entries.len()
        )));
    }
    let from = req
        .from_email_address
        .ok_or_else(|| Reply::bad_request("Missing required field FromEmailAddress."))?;
    let from_addr = bare_address(&from).ok_or_else(|| {
        Reply::bad_request(format!("Illegal address in FromEmailAddress: {from:?}."))
    })?;
    let mut shared_headers = Vec::new();
    let reply_to = req.reply_to_addresses.unwrap_or_default();
    if let Some(bad) = reply_to.iter().find(|a| bare_address(a).is_none()) {
        return Err(Reply::bad_request(format!(
            "Illegal address in ReplyToAddresses: {bad:?}."
        )));
    }
    if !reply_to.is_empty() {
        shared_headers.push(("Reply-To".to_owned(), reply_to.join(", ")));
    }
    let default_tags = req.default_email_tags.unwrap_or_default();
    validate_tags(&default_tags)
        .map_err(|e| Reply::bad_request(format!("DefaultEmailTags: {e}")))?;
    let source = template_ref(&template)?;
    let default_data = match &template.template_data {
        Some(d) => match parse_template_data(d) {
            Ok(Value::Object(m)) => m,
            Ok(_) => Map::new(),
            Err(e) => return Err(Reply::bad_request(format!("DefaultContent.Template: {e}"))),
        },
        None => {
            return Err(Reply::bad_request(
                "Missing required field DefaultContent.Template.TemplateData.",
            ));
        }
    };
    let template_headers = template.headers.clone().unwrap_or_default();
    check_headers("DefaultContent.Template.Headers", &template_headers)
        .map_err(Reply::bad_request)?;
    let shared = Shared {
        tags: &default_tags,
        data: &default_data,
        headers: &template_headers,
        reply_to: &shared_headers,
    };
    let mut parsed = Vec::with_capacity(entries.len());
    for (i, e) in entries.into_iter().enumerate() {
        parsed.push(parse_entry(i, e, &shared)?);
    }
    Ok(BulkRequest {
        from,
        from_addr,
        identity_arn: req.from_email_address_identity_arn,
        set_name: req.configuration_set_name,
        template,
        source,
        entries: parsed,
    })
}

/// The defaults every entry starts from.
struct Shared<'a> {
    tags: &'a [MessageTag],
    data: &'a Map<String, Value>,
    headers: &'a [MessageHeaderIn],
    reply_to: &'a [(String, String)],
}

/// `Err`: the entry breaks a limit (400 for the call). `Ok(Err(msg))`: it is invalid on its
/// own (`INVALID_PARAMETER`).
fn parse_entry(
    i: usize,
    e: BulkEmailEntryIn,
    shared: &Shared<'_>,
) -> Result<Result<Entry, String>, Reply> {
    let at = format!("BulkEmailEntries[{i}]");
    let dest = e
        .destination
        .ok_or_else(|| Reply::bad_request(format!("Missing required field {at}.Destination.")))?;
    let rcpt = Recipients::new(
        dest.to_addresses.unwrap_or_default(),
        dest.cc_addresses.unwrap_or_default(),
        dest.bcc_addresses.unwrap_or_default(),
    );
    let rcpt = match rcpt {
        Err(RecipientsError::Count(m)) => return Err(Reply::bad_request(format!("{at}: {m}"))),
        other => other.map_err(|e| format!("{at}: {}", e.message())),
    };
    let replacement_headers = e.replacement_headers.unwrap_or_default();
    if replacement_headers.len() > MAX_HEADERS {
        return Err(Reply::bad_request(format!(
            "{at}.ReplacementHeaders has {} headers; at most {MAX_HEADERS} are allowed.",
            replacement_headers.len()
        )));
    }
    let replacement_data = e
        .replacement_email_content
        .and_then(|c| c.replacement_template)
        .and_then(|t| t.replacement_template_data);
    let replacement_tags = e.replacement_tags.unwrap_or_default();
    let entry = || -> Result<Entry, String> {
        let rcpt = rcpt?;
        validate_tags(&replacement_tags).map_err(|m| format!("{at}.ReplacementTags: {m}"))?;
        check_headers(&format!("{at}.ReplacementHeaders"), &replacement_headers)?;
        let data = match &replacement_data {
            None => Value::Object(shared.data.clone()),
            Some(d) => {
                let v = parse_template_data(d)
                    .map_err(|m| format!("{at}.ReplacementTemplateData: {m}"))?;
                merge_data(shared.data, v)
            }
        };
        Ok(Entry {
            rcpt,
            tags: merge_tags(shared.tags, &replacement_tags),
            data,
            headers: merge_headers(shared.reply_to, shared.headers, &replacement_headers),
        })
    };
    Ok(entry())
}

/// The entry's template data: the default `TemplateData` with each top-level key of the
/// entry's `ReplacementTemplateData` replacing the default of the same name (a shallow merge:
/// a nested object the entry gives replaces the default's object whole).
pub(crate) fn merge_data(defaults: &Map<String, Value>, replacement: Value) -> Value {
    let mut out = defaults.clone();
    if let Value::Object(m) = replacement {
        out.extend(m);
    }
    Value::Object(out)
}

/// `DefaultEmailTags` without the names the entry's `ReplacementTags` also give, then the
/// entry's tags.
pub(crate) fn merge_tags(defaults: &[MessageTag], replacement: &[MessageTag]) -> Vec<MessageTag> {
    defaults
        .iter()
        .filter(|d| !replacement.iter().any(|r| r.name == d.name))
        .chain(replacement)
        .cloned()
        .collect()
}

/// `Reply-To`, then the template's headers, with a replacement header of the same name
/// (case-insensitive) taking the template header's place and the others appended — as the
/// SES v2 reference describes `ReplacementHeaders`.
fn merge_headers(
    reply_to: &[(String, String)],
    template: &[MessageHeaderIn],
    replacement: &[MessageHeaderIn],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = reply_to.to_vec();
    for h in template {
        let v = replacement
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(&h.name))
            .unwrap_or(h);
        out.push((h.name.clone(), v.value.clone()));
    }
    for r in replacement {
        if !template
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case(&r.name))
        {
            out.push((r.name.clone(), r.value.clone()));
        }
    }
    out
}

/// Header names: 1-126 printable ASCII characters but `:`; values: 1-995 printable ASCII
/// characters; name and value together at most 996 (the SES v2 model's `MessageHeader`).
fn check_headers(field: &str, headers: &[MessageHeaderIn]) -> Result<(), String> {
    if headers.len() > MAX_HEADERS {
        return Err(format!(
            "{field} has {} headers; at most {MAX_HEADERS} are allowed.",
            headers.len()
        ));
    }
    for h in headers {
        let name_ok = (1..=126).contains(&h.name.len())
            && h.name.bytes().all(|b| (33..=126).contains(&b) && b != b':');
        if !name_ok {
            return Err(format!(
                "{field}: invalid header name {:?}: use 1 to 126 printable ASCII characters other than ':'.",
                h.name
            ));
        }
        let value_ok = (1..=995).contains(&h.value.len())
            && h.value.bytes().all(|b| (32..=126).contains(&b))
            && h.name.len() + h.value.len() <= 996;
        if !value_ok {
            return Err(format!(
                "{field}: invalid value of header {}: use 1 to 995 printable ASCII characters (996 with the name).",
                h.name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tag(n: &str, v: &str) -> MessageTag {
        MessageTag {
            name: n.into(),
            value: v.into(),
        }
    }

    #[test]
    fn entry_data_replaces_top_level_keys_only() {
        let d = json!({"name": "friend", "city": "Oslo", "offer": {"code": "A", "pct": 5}});
        let Value::Object(d) = d else { unreachable!() };
        let m = merge_data(&d, json!({"name": "Ann", "offer": {"code": "B"}}));
        assert_eq!(
            m,
            json!({"name": "Ann", "city": "Oslo", "offer": {"code": "B"}})
        );
    }

    #[test]
    fn entry_tags_win_on_a_name_clash() {
        let m = merge_tags(
            &[tag("campaign", "c1"), tag("kind", "promo")],
            &[tag("campaign", "c2"), tag("user", "u7")],
        );
        let pairs: Vec<(&str, &str)> = m
            .iter()
            .map(|t| (t.name.as_str(), t.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [("kind", "promo"), ("campaign", "c2"), ("user", "u7")]
        );
    }

    #[test]
    fn replacement_headers_replace_template_headers_by_name() {
        let h = |n: &str, v: &str| MessageHeaderIn {
            name: n.into(),
            value: v.into(),
        };
        let out = merge_headers(
            &[("Reply-To".into(), "r@example.com".into())],
            &[h("X-A", "1"), h("X-B", "2")],
            &[h("x-b", "3"), h("X-C", "4")],
        );
        assert_eq!(
            out,
            [
                ("Reply-To".to_owned(), "r@example.com".to_owned()),
                ("X-A".into(), "1".into()),
                ("X-B".into(), "3".into()),
                ("X-C".into(), "4".into()),
            ]
        );
        assert!(check_headers("H", &[h("Bad:Name", "v")]).is_err());
        assert!(check_headers("H", &[h("X-Ok", "")]).is_err());
        assert!(check_headers("H", &[h("X-Ok", "v")]).is_ok());
    }
}
