//! Wire helpers shared by every operation: the [`Reply`] type and SES's error replies, request
//! body parsing, percent/base64 decoding, query parameters, address parsing, name validation and
//! poison-tolerant lock helpers.

use std::sync::{Mutex, RwLock};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::SIMULATOR_DOMAIN;

/// A response, before the transport writes it.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// `x-amzn-ErrorType` header value (error code) for errors.
    pub error_type: Option<&'static str>,
    pub body: String,
    /// Latency to apply before answering (latency model + slow faults).
    pub delay: Duration,
    /// Close the connection instead of writing the reply (the drop-after-accept fault).
    pub drop_connection: bool,
}

impl Reply {
    pub(crate) fn ok(body: Value) -> Self {
        Self {
            status: 200,
            error_type: None,
            body: body.to_string(),
            delay: Duration::ZERO,
            drop_connection: false,
        }
    }
    pub(crate) fn empty() -> Self {
        Self::ok(json!({}))
    }
    /// An SES error: status, `x-amzn-ErrorType: <code>`, body `{"message": ...}`.
    pub fn error(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status,
            error_type: Some(code),
            body: json!({ "message": message }).to_string(),
            delay: Duration::ZERO,
            drop_connection: false,
        }
    }
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::error(400, "BadRequestException", message)
    }
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::error(404, "NotFoundException", message)
    }
    pub(crate) fn already_exists(message: impl Into<String>) -> Self {
        Self::error(400, "AlreadyExistsException", message)
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
pub(crate) fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|p| p.into_inner())
}
pub(crate) fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|p| p.into_inner())
}

/// Parses a JSON body into `T`; an empty body is `{}`. Errors are `BadRequestException`s that
/// say what was wrong (serde's message names the field and the expected type).
pub(crate) fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Reply> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| Reply::bad_request(format!("The request body is not valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(Reply::bad_request(
            "The request body must be a JSON object.",
        ));
    }
    serde_json::from_value(v).map_err(|e| Reply::bad_request(format!("Invalid request: {e}")))
}

/// Names of templates, configuration sets and event destinations: 1-64 ASCII letters, digits,
/// `_` and `-`.
pub(crate) fn validate_name(field: &str, name: &str) -> Result<(), Reply> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Reply::bad_request(format!(
            "Invalid {field} {name:?}: use 1 to 64 ASCII letters, numbers, underscores or dashes."
        )));
    }
    Ok(())
}

/// `Name <a@b.c>` or `a@b.c` → `a@b.c`, if it looks like an address.
pub(crate) fn bare_address(s: &str) -> Option<String> {
    let s = s.trim();
    let addr = match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    let (local, domain) = addr.rsplit_once('@')?;
    let bad = |p: &str| {
        p.is_empty()
            || p.chars()
                .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',' || c.is_control())
    };
    if bad(local)
        || bad(domain)
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || local.len() > 64
        || addr.len() > 320
    {
        return None;
    }
    Some(addr.to_owned())
}

/// Whether `addr` is a mailbox-simulator address.
pub(crate) fn is_simulator(addr: &str) -> bool {
    addr.rsplit_once('@')
        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(SIMULATOR_DOMAIN))
}

/// The SigV4 access key id of the `Authorization` header (`anonymous` without one).
pub(crate) fn caller_identity(auth: Option<&str>) -> String {
    auth.and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').next())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| "anonymous".to_owned())
}

/// Cuts `s` to at most `max` bytes, on a character boundary.
pub(crate) fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// Standard or URL-safe base64, padding and line breaks ignored; `None` on a foreign byte.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// `%XX` → byte; a malformed escape stays as it is; invalid UTF-8 is replaced.
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded value of `key` in a query string.
pub(crate) fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (percent_decode(k) == key).then(|| percent_decode(&v.replace('+', " ")))
    })
}

/// `PageSize` (1-100, default 10) and `NextToken` of a list query.
pub(crate) fn page_query(query: &str) -> (Result<usize, Reply>, Option<String>) {
    let size = match query_param(query, "PageSize") {
        None => Ok(10),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n as usize),
            _ => Err(Reply::bad_request(format!(
                "PageSize must be an integer between 1 and 100, got {v:?}."
            ))),
        },
    };
    (
        size,
        query_param(query, "NextToken").filter(|t| !t.is_empty()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            bare_address("Sender <s@example.com>").as_deref(),
            Some("s@example.com")
        );
        assert_eq!(
            bare_address("s@example.com").as_deref(),
            Some("s@example.com")
        );
        assert!(bare_address("nope").is_none());
        assert!(bare_address("a b@example.com").is_none());
        assert!(bare_address("a@localhost").is_none());
    }

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%2Fb%zz%"), "a/b%zz%");
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert!(base64_decode("a*").is_none());
        assert_eq!(
            query_param("PageSize=5&NextToken=a%20b", "NextToken").as_deref(),
            Some("a b")
        );
        assert_eq!(
            caller_identity(Some(
                "AWS4-HMAC-SHA256 Credential=AKIDTEST/20240101/us-east-1/ses/aws4_request, SignedHeaders=host"
            )),
            "AKIDTEST"
        );
    }
}
