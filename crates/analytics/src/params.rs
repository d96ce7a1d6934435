//! The one parameter convention of `sql/queries`: three positional `?`, in this order, the
//! campaign, then the first and last `dt` partition to read:
//!
//! ```sql
//! WHERE element_at(element_at(mail.tags, 'campaign'), 1) = ? AND dt BETWEEN ? AND ?
//! ```
//!
//! [`bind`] checks a query against it and gives the statement (without its final `;`) and the
//! values as SQL literals (`'run1'`, `'2026-11-27'`, `'2026-11-28'`), which is what both runners
//! bind: Athena as `ExecutionParameters`, DuckDB in `EXECUTE query(...)` of a prepared statement.
//! The query text is never rewritten. A campaign must be a valid SES tag value (ASCII letters,
//! digits, `_` and `-`, at most 256 characters), which a campaign tag always is, and a literal
//! doubles its quotes anyway.

use crate::catalog::Query;
use crate::range::DtRange;
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

/// Placeholders of a saved query: the campaign, the first `dt`, the last `dt`.
pub const PARAMETERS: usize = 3;

/// What a query's placeholders are bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParams {
    /// Required by a query with placeholders.
    pub campaign: Option<String>,
    pub range: DtRange,
}

impl QueryParams {
    pub fn new(campaign: Option<&str>, range: DtRange) -> Self {
        QueryParams {
            campaign: campaign.map(str::to_owned),
            range,
        }
    }
}

/// A query ready for a runner: its one statement and the literals for its `?`, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub name: String,
    /// The query text up to its final `;` (unchanged otherwise).
    pub sql: String,
    /// SQL literals, one per `?`: none, or the campaign, first dt and last dt.
    pub values: Vec<String>,
}

/// Check a query (one statement; no `?` or exactly [`PARAMETERS`]) and bind `params` to it.
pub fn bind(query: &Query, params: &QueryParams) -> Result<Bound> {
    let name = query.name.as_str();
    let sql = query.sql.as_str();
    let scan = scan(name, sql)?;
    // One statement: a `;` may only be followed by whitespace and comments.
    if let Some(&first) = scan.semicolons.first() {
        let rest = &sql[first + 1..];
        if scan.semicolons.len() > 1 || !is_blank_or_comments(rest) {
            return Err(Error::MultipleStatements {
                query: name.to_owned(),
            });
        }
    }
    let body_end = scan.semicolons.first().copied().unwrap_or(sql.len());
    let values = match scan.placeholders.len() {
        0 => Vec::new(),
        PARAMETERS => {
            let campaign = params
                .campaign
                .as_deref()
                .ok_or_else(|| Error::MissingCampaign {
                    query: name.to_owned(),
                })?;
            validate_campaign(campaign)?;
            let (from, to) = params.range.bounds();
            vec![
                sql_literal(campaign)?,
                sql_literal(&from)?,
                sql_literal(&to)?,
            ]
        }
        found => {
            return Err(Error::Placeholders {
                query: name.to_owned(),
                found,
            });
        }
    };
    Ok(Bound {
        name: name.to_owned(),
        sql: sql[..body_end].to_owned(),
        values,
    })
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
    use time::macros::date;

    fn params(campaign: Option<&str>) -> QueryParams {
        QueryParams::new(
            campaign,
            DtRange::new(date!(2026 - 11 - 27), date!(2026 - 11 - 28)).unwrap(),
        )
    }

    fn q(sql: &str) -> Query {
        Query {
            name: "q".into(),
            sql: sql.into(),
        }
    }

    #[test]
    fn binds_campaign_then_range_and_leaves_the_text_alone() {
        let sql = "-- is it ? no\nSELECT '?', \"a?\", x /* ? */ FROM t WHERE c = ? AND dt BETWEEN ? AND ?;\n-- end";
        let b = bind(&q(sql), &params(Some("run-1"))).unwrap();
        assert_eq!(b.sql, &sql[..sql.find(';').unwrap()]);
        assert_eq!(b.values, ["'run-1'", "'2026-11-27'", "'2026-11-28'"]);
    }

    #[test]
    fn rejects_values_that_are_not_tag_values() {
        for bad in ["", "a'b", "x; DROP TABLE t", "é", &"a".repeat(257)] {
            let err = bind(&q("SELECT ?, ?, ?"), &params(Some(bad))).unwrap_err();
            assert!(matches!(err, Error::InvalidCampaign { .. }), "{bad}: {err}");
        }
        assert_eq!(sql_literal("o'brien").unwrap(), "'o''brien'");
        assert!(sql_literal("a\nb").is_err());
    }

    #[test]
    fn requires_a_campaign_only_when_there_are_placeholders() {
        assert!(matches!(
            bind(&q("SELECT ?, ?, ?"), &params(None)),
            Err(Error::MissingCampaign { .. })
        ));
        let b = bind(&q("SELECT 1;"), &params(None)).unwrap();
        assert_eq!((b.sql.as_str(), b.values.len()), ("SELECT 1", 0));
    }

    #[test]
    fn a_query_with_another_number_of_placeholders_is_refused() {
        for sql in ["SELECT ?", "SELECT ?, ?", "SELECT ?, ?, ?, ?"] {
            let err = bind(&q(sql), &params(Some("c"))).unwrap_err().to_string();
            assert!(
                err.contains("the campaign, then the first and last dt"),
                "{err}"
            );
        }
    }

    #[test]
    fn one_statement_only() {
        assert!(matches!(
            bind(&q("SELECT 1; SELECT 2"), &params(None)),
            Err(Error::MultipleStatements { .. })
        ));
        assert!(matches!(
            bind(&q("SELECT 'a"), &params(None)),
            Err(Error::Unterminated { .. })
        ));
    }

    #[test]
    fn every_saved_query_takes_campaign_then_dt_range() {
        // Athena binds ExecutionParameters by position: the three `?` of every saved query must be
        // the campaign, then `dt BETWEEN ? AND ?`, in that order.
        for query in crate::Catalog::embedded().queries {
            let s = scan(&query.name, &query.sql).unwrap();
            assert_eq!(s.placeholders.len(), PARAMETERS, "{}", query.name);
            let before = |i: usize| query.sql[..s.placeholders[i]].trim_end();
            assert!(
                before(0).ends_with('='),
                "{}: first ? is not `= ?`",
                query.name
            );
            assert!(
                before(1).ends_with("dt BETWEEN"),
                "{}: the 2nd ? is not `dt BETWEEN ?`",
                query.name
            );
            assert_eq!(
                &query.sql[s.placeholders[1]..=s.placeholders[2]],
                "? AND ?",
                "{}",
                query.name
            );
            bind(&query, &params(Some("c"))).unwrap();
        }
    }
}
