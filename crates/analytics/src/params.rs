//! The one parameter convention of `sql/queries`: each `?` is the campaign.
//!
//! In Athena the saved queries are parameterized queries: `?` placeholders filled from
//! `--execution-parameters` (or the console's parameter boxes), each given as a SQL literal
//! (`"'run1'"`). Locally [`bind_campaign`] does the same: every `?` outside string literals,
//! quoted identifiers and comments becomes the quoted literal of the campaign. The campaign must be
//! a valid SES tag value (ASCII letters, digits, `_` and `-`, at most 256 characters), which a
//! campaign tag always is; quotes are doubled anyway, so the substitution is safe on its own.

use crate::{Error, Result};

/// What the scanner found outside literals and comments.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Byte offsets of `?` placeholders.
    pub placeholders: Vec<usize>,
    /// Byte offsets of `;` statement separators.
    pub semicolons: Vec<usize>,
}

/// Scan SQL text, skipping `'...'` (with `''`), `"..."`, `` `...` ``, `-- ...` and `/* ... */`.
pub fn scan(query: &str, sql: &str) -> Result<Scan> {
    let b = sql.as_bytes();
    let mut out = Scan::default();
    let mut i = 0;
    let unterminated = |what| Error::Unterminated {
        query: query.to_owned(),
        what,
    };
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => {
                let q = b[i];
                i += 1;
                loop {
                    if i >= b.len() {
                        return Err(unterminated(match q {
                            b'\'' => "string literal",
                            _ => "quoted identifier",
                        }));
                    }
                    if b[i] == q {
                        if i + 1 < b.len() && b[i + 1] == q {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = sql[i + 2..]
                    .find("*/")
                    .ok_or_else(|| unterminated("block comment"))?;
                i += 2 + end + 2;
            }
            b'?' => {
                out.placeholders.push(i);
                i += 1;
            }
            b';' => {
                out.semicolons.push(i);
                i += 1;
            }
            _ => i += 1,
        }
    }
    Ok(out)
}

/// Check that a campaign is something a `campaign` message tag can hold.
pub fn validate_campaign(value: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidCampaign {
            value: value.to_owned(),
            reason,
        })
    };
    if value.is_empty() {
        return bad("empty");
    }
    if value.len() > 256 {
        return bad("longer than 256 characters (SES tag values are at most 256)");
    }
    if !value
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    {
        return bad("SES tag values contain only ASCII letters, digits, '_' and '-'");
    }
    Ok(())
}

/// SQL string literal for `value`: single quotes doubled, control characters rejected.
pub fn sql_literal(value: &str) -> Result<String> {
    if value.chars().any(char::is_control) {
        return Err(Error::InvalidCampaign {
            value: value.to_owned(),
            reason: "contains a control character",
        });
    }
    Ok(format!("'{}'", value.replace('\'', "''")))
}

/// Replace every `?` of a one-statement query by the campaign literal; strip the final `;`.
pub fn bind_campaign(query: &str, sql: &str, campaign: Option<&str>) -> Result<String> {
    let scan = scan(query, sql)?;
    // One statement: a `;` may only be followed by whitespace and comments.
    if let Some(&first) = scan.semicolons.first() {
        let rest = &sql[first + 1..];
        if scan.semicolons.len() > 1 || !is_blank_or_comments(rest) {
            return Err(Error::MultipleStatements {
                query: query.to_owned(),
            });
        }
    }
    let body_end = scan.semicolons.first().copied().unwrap_or(sql.len());
    if scan.placeholders.is_empty() {
        return Ok(sql[..body_end].to_owned());
    }
    let campaign = campaign.ok_or_else(|| Error::MissingCampaign {
        query: query.to_owned(),
    })?;
    validate_campaign(campaign)?;
    let lit = sql_literal(campaign)?;
    let mut out = String::with_capacity(sql.len() + lit.len() * scan.placeholders.len());
    let mut last = 0;
    for &p in &scan.placeholders {
        out.push_str(&sql[last..p]);
        out.push_str(&lit);
        last = p + 1;
    }
    out.push_str(&sql[last..body_end]);
    Ok(out)
}

fn is_blank_or_comments(s: &str) -> bool {
    let mut rest = s.trim_start();
    loop {
        if rest.is_empty() {
            return true;
        }
        if let Some(r) = rest.strip_prefix("--") {
            rest = r
                .split_once('\n')
                .map(|(_, r)| r)
                .unwrap_or("")
                .trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            match r.split_once("*/") {
                Some((_, r)) => rest = r.trim_start(),
                None => return false,
            }
        } else {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_placeholders_outside_literals_and_comments() {
        let sql =
            "-- is it ? no\nSELECT '?', \"a?\", x /* ? */ FROM t WHERE c = ? AND d = ?;\n-- end";
        let out = bind_campaign("q", sql, Some("run-1")).unwrap();
        assert_eq!(
            out,
            "-- is it ? no\nSELECT '?', \"a?\", x /* ? */ FROM t WHERE c = 'run-1' AND d = 'run-1'"
        );
    }

    #[test]
    fn rejects_values_that_are_not_tag_values() {
        for bad in ["", "a'b", "x; DROP TABLE t", "é", &"a".repeat(257)] {
            let err = bind_campaign("q", "SELECT ?", Some(bad)).unwrap_err();
            assert!(matches!(err, Error::InvalidCampaign { .. }), "{bad}: {err}");
        }
        assert_eq!(sql_literal("o'brien").unwrap(), "'o''brien'");
        assert!(sql_literal("a\nb").is_err());
    }

    #[test]
    fn requires_a_campaign_only_when_there_is_a_placeholder() {
        assert!(matches!(
            bind_campaign("q", "SELECT ?", None),
            Err(Error::MissingCampaign { .. })
        ));
        assert_eq!(bind_campaign("q", "SELECT 1;", None).unwrap(), "SELECT 1");
    }

    #[test]
    fn one_statement_only() {
        assert!(matches!(
            bind_campaign("q", "SELECT 1; SELECT 2", None),
            Err(Error::MultipleStatements { .. })
        ));
        assert!(matches!(
            bind_campaign("q", "SELECT 'a", None),
            Err(Error::Unterminated { .. })
        ));
    }

    #[test]
    fn every_saved_query_has_exactly_one_placeholder() {
        // Athena needs one execution parameter per `?`; one `?` per query keeps the CLI simple.
        for q in crate::Catalog::embedded().queries {
            let s = scan(&q.name, &q.sql).unwrap();
            assert_eq!(s.placeholders.len(), 1, "{}", q.name);
            bind_campaign(&q.name, &q.sql, Some("c")).unwrap();
        }
    }
}
