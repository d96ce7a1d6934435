//! Step 1 of SendEmail: parse and validate the request body into a [`SendRequest`] (sender,
//! recipients, tags, configuration set name, content), reading a Raw message's headers when
//! the request leaves sender or recipients out. Nothing here looks at the simulator's state.

use crate::api::MAX_RECIPIENTS;
use crate::api::shapes::{EmailContent, MessageTag, SendEmailRequest};
use crate::api::wire::{Reply, bare_address, base64_decode, parse_body};

/// A syntactically valid SendEmail request.
#[derive(Debug)]
pub(crate) struct SendRequest {
    /// `FromEmailAddress` as given (may have a display name).
    pub from: String,
    /// The bare sender address.
    pub from_addr: String,
    pub rcpt: Recipients,
    pub tags: Vec<MessageTag>,
    pub set_name: Option<String>,
    /// Exactly one of Simple, Raw, Template.
    pub content: EmailContent,
    /// The headers of a Raw message.
    pub raw_headers: Option<RawHeaders>,
    /// Headers the message carries besides From/To/Cc/Subject (`Reply-To`, the headers of a
    /// bulk template and entry), in order; they appear in `mail.headers` of its events.
    pub extra_headers: Vec<(String, String)>,
}

/// The recipients of one message.
#[derive(Debug, Clone)]
pub(crate) struct Recipients {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    /// To, Cc and Bcc as given, in that order.
    pub all: Vec<String>,
    /// The bare addresses of `all`, same order.
    pub bare: Vec<String>,
}

impl Recipients {
    /// Checks the count (1 to [`MAX_RECIPIENTS`]), then every address. `Err` is SendEmail's
    /// message.
    pub(crate) fn new(
        to: Vec<String>,
        cc: Vec<String>,
        bcc: Vec<String>,
    ) -> Result<Self, RecipientsError> {
        let all: Vec<String> = to.iter().chain(&cc).chain(&bcc).cloned().collect();
        if all.is_empty() {
            return Err(RecipientsError::Count(
                "Missing required field Destination: at least one recipient is required.".into(),
            ));
        }
        if all.len() > MAX_RECIPIENTS {
            return Err(RecipientsError::Count(format!(
                "Recipient count exceeds {MAX_RECIPIENTS}: the message has {} recipients.",
                all.len()
            )));
        }
        let mut bare = Vec::with_capacity(all.len());
        for a in &all {
            let b = bare_address(a)
                .ok_or_else(|| RecipientsError::Address(format!("Illegal address: {a:?}.")))?;
            bare.push(b);
        }
        Ok(Self {
            to,
            cc,
            bcc,
            all,
            bare,
        })
    }
}

/// Why a message's recipients are refused.
pub(crate) enum RecipientsError {
    /// None, or more than [`MAX_RECIPIENTS`].
    Count(String),
    /// An address that is not `local@domain.tld`.
    Address(String),
}

impl RecipientsError {
    pub(crate) fn message(self) -> String {
        match self {
            Self::Count(m) | Self::Address(m) => m,
        }
    }
}

/// The headers of a Raw message that SendEmail uses.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawHeaders {
    pub from: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: Option<String>,
    /// Decoded size in bytes.
    pub size: usize,
}

/// Parses and validates the body of a SendEmail call.
pub(crate) fn parse_request(body: &[u8]) -> Result<SendRequest, Reply> {
    let req: SendEmailRequest = parse_body(body)?;
    let content = req
        .content
        .ok_or_else(|| Reply::bad_request("Missing required field Content."))?;
    let kinds = [
        content.simple.is_some(),
        content.raw.is_some(),
        content.template.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if kinds != 1 {
        return Err(Reply::bad_request(
            "Content must contain exactly one of Simple, Raw or Template.",
        ));
    }
    // Raw: recipients and sender may come from the MIME headers.
    let raw_headers = match &content.raw {
        Some(raw) => Some(parse_raw(&raw.data)?),
        None => None,
    };
    let from = req
        .from_email_address
        .or_else(|| raw_headers.as_ref().and_then(|h| h.from.clone()))
        .ok_or_else(|| Reply::bad_request("Missing required field FromEmailAddress."))?;
    let from_addr = bare_address(&from).ok_or_else(|| {
        Reply::bad_request(format!("Illegal address in FromEmailAddress: {from:?}."))
    })?;
    let dest = req.destination.unwrap_or_default();
    let mut to = dest.to_addresses.unwrap_or_default();
    let mut cc = dest.cc_addresses.unwrap_or_default();
    let bcc = dest.bcc_addresses.unwrap_or_default();
    if to.is_empty()
        && cc.is_empty()
        && bcc.is_empty()
        && let Some(h) = &raw_headers
    {
        to = h.to.clone();
        cc = h.cc.clone();
    }
    let rcpt = Recipients::new(to, cc, bcc).map_err(|e| Reply::bad_request(e.message()))?;
    let tags = req.email_tags.unwrap_or_default();
    validate_tags(&tags).map_err(Reply::bad_request)?;
    Ok(SendRequest {
        from,
        from_addr,
        rcpt,
        tags,
        set_name: req.configuration_set_name,
        content,
        raw_headers,
        extra_headers: Vec::new(),
    })
}

/// Checks message tags as SES does; `Err` is the message naming the bad name or value.
pub(super) fn validate_tags(tags: &[MessageTag]) -> Result<(), String> {
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 256
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    for t in tags {
        if !ok(&t.name) {
            return Err(format!(
                "Invalid tag name <{}>: only ASCII letters, numbers, underscores or dashes are allowed, at most 256 characters.",
                t.name
            ));
        }
        if !ok(&t.value) {
            return Err(format!(
                "Invalid tag value <{}> of tag {}: only ASCII letters, numbers, underscores or dashes are allowed, at most 256 characters.",
                t.value, t.name
            ));
        }
        if t.name.to_ascii_lowercase().starts_with("ses:") {
            return Err(format!("Tag name <{}> is reserved.", t.name));
        }
    }
    Ok(())
}

/// Decodes the base64 raw message and reads its From/To/Cc/Subject headers.
fn parse_raw(b64: &str) -> Result<RawHeaders, Reply> {
    let bytes =
        base64_decode(b64).ok_or_else(|| Reply::bad_request("Raw.Data is not valid base64."))?;
    if bytes.is_empty() {
        return Err(Reply::bad_request("Raw.Data is empty."));
    }
    let text = String::from_utf8_lossy(&bytes);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let head = head.split("\n\n").next().unwrap_or("");
    let mut h = RawHeaders {
        size: bytes.len(),
        ..Default::default()
    };
    for line in head.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        let list = || {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        };
        match k.trim().to_ascii_lowercase().as_str() {
            "from" => h.from = Some(v.to_owned()),
            "to" => h.to = list(),
            "cc" => h.cc = list(),
            "subject" => h.subject = Some(v.to_owned()),
            _ => {}
        }
    }
    Ok(h)
}
