//! The local engine: the DuckDB CLI (PyPI `duckdb-cli`) as a child process, fed a script on stdin.
//!
//! Script: `SET VARIABLE lake`, `sql/local/prelude.sql`, `sql/local/ses_events.sql`, the views of
//! `sql/views`, then per query two prepared statements, `DESCRIBE <query>` (column names and
//! types, also for an empty result) and the query itself, each run by `EXECUTE` with the
//! parameters bound (`EXECUTE q('run1', '2026-11-27', '2026-11-28')`): the query text is the file's,
//! unchanged. Output mode `-json`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::catalog::{Catalog, Query};
use crate::params::{Bound, QueryParams, bind, sql_literal};
use crate::range::{DtRange, parse_day};
use crate::runner::QueryRunner;
pub use crate::runner::ResultSet;
use crate::{Error, Result};

/// Runs saved queries over one local lake.
#[derive(Debug, Clone)]
pub struct Engine {
    pub duckdb: PathBuf,
    pub lake: PathBuf,
    pub catalog: Catalog,
    /// A query that runs longer is killed (default 300 s).
    pub timeout: Duration,
}

impl Engine {
    /// `lake` is `<data-dir>/lake` (it holds `ses_events/dt=.../hour=.../*.json`).
    pub fn new(duckdb: PathBuf, lake: PathBuf, catalog: Catalog) -> Self {
        Engine {
            duckdb,
            lake,
            catalog,
            timeout: Duration::from_secs(300),
        }
    }

    /// The `dt` partitions the lake holds (first and last), None when it has none.
    pub fn lake_range(&self) -> Option<DtRange> {
        let days: Vec<_> = std::fs::read_dir(self.lake.join("ses_events"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                parse_day(name.strip_prefix("dt=")?).ok()
            })
            .collect();
        let (from, to) = (days.iter().min()?, days.iter().max()?);
        DtRange::new(*from, *to).ok()
    }

    /// Run several queries in one DuckDB process. With more than one query the lake is read
    /// once into a temporary table that `ses_events` then points at.
    fn run_all(&self, queries: &[&Query], params: &QueryParams) -> Result<Vec<ResultSet>> {
        let names = queries
            .iter()
            .map(|q| q.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let bound = queries
            .iter()
            .map(|q| bind(q, params))
            .collect::<Result<Vec<_>>>()?;
        if !lake_has_events(&self.lake) {
            return Err(Error::EmptyLake {
                lake: self.lake.clone(),
            });
        }
        let script = self.script(&bound)?;
        let query = Query {
            name: names,
            sql: String::new(),
        };
        let mut child = Command::new(&self.duckdb)
            .args(["-no-init", "-bail", "-json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| Error::Spawn {
                program: self.duckdb.clone(),
                source,
            })?;
        // Write stdin and read stdout/stderr from threads so no pipe can fill up and deadlock.
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let writer = std::thread::spawn(move || stdin.write_all(script.as_bytes()));
        let mut out_pipe = child.stdout.take().expect("stdout is piped");
        let mut err_pipe = child.stderr.take().expect("stderr is piped");
        let out_reader = std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = out_pipe.read_to_end(&mut b);
            b
        });
        let err_reader = std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = err_pipe.read_to_end(&mut b);
            b
        });
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(Error::Engine {
                        query: query.name.clone(),
                        stderr: format!("timed out after {:?} (killed)", self.timeout),
                    });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(source) => {
                    return Err(Error::Spawn {
                        program: self.duckdb.clone(),
                        source,
                    });
                }
            }
        };
        let _ = writer.join();
        let stdout = out_reader.join().unwrap_or_default();
        let stderr = err_reader.join().unwrap_or_default();
        let out = std::process::Output {
            status,
            stdout,
            stderr,
        };
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        if !out.status.success() {
            return Err(Error::Engine {
                query: query.name.clone(),
                stderr: if stderr.is_empty() {
                    format!("exit status {}", out.status)
                } else {
                    stderr
                },
            });
        }
        parse_outputs(queries, &String::from_utf8_lossy(&out.stdout))
    }

    fn script(&self, queries: &[Bound]) -> Result<String> {
        let lake = self.lake.to_string_lossy();
        let mut s = String::new();
        s.push_str(&format!("SET VARIABLE lake = {};\n", sql_literal(&lake)?));
        s.push_str(&self.catalog.prelude);
        s.push('\n');
        s.push_str(&self.catalog.local_table);
        s.push('\n');
        if queries.len() > 1 {
            s.push_str(
                "CREATE TEMP TABLE sesload_events AS FROM ses_events;\n\
                 DROP VIEW ses_events;\n\
                 CREATE TEMP VIEW ses_events AS FROM sesload_events;\n",
            );
        }
        for v in &self.catalog.views {
            s.push_str(&v.sql);
            s.push('\n');
        }
        for (i, q) in queries.iter().enumerate() {
            // The statement text goes in unchanged; the values are bound by EXECUTE.
            let args = if q.values.is_empty() {
                String::new()
            } else {
                format!("({})", q.values.join(", "))
            };
            s.push_str(&format!(
                "PREPARE sesload_describe_{i} AS DESCRIBE\n{sql}\n;\nEXECUTE sesload_describe_{i}{args};\n\
                 PREPARE sesload_query_{i} AS\n{sql}\n;\nEXECUTE sesload_query_{i}{args};\n",
                sql = q.sql
            ));
        }
        Ok(s)
    }
}

impl QueryRunner for Engine {
    fn describe(&self) -> String {
        format!("DuckDB over {}", self.lake.display())
    }

    /// The whole lake: it is on this disk and reading it costs nothing (the last 7 days when it
    /// has no partitions, which then fails as an empty lake).
    fn default_range(&self) -> DtRange {
        self.lake_range().unwrap_or_else(DtRange::recent)
    }

    fn run_many(&self, queries: &[&Query], params: &QueryParams) -> Result<Vec<ResultSet>> {
        self.run_all(queries, params)
    }
}

/// True when the lake holds at least one `ses_events/dt=*/hour=*/*.json` file.
pub fn lake_has_events(lake: &Path) -> bool {
    let dirs = |p: &Path, prefix: &'static str| -> Vec<PathBuf> {
        std::fs::read_dir(p)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_dir()
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
            })
            .collect()
    };
    dirs(&lake.join("ses_events"), "dt=")
        .iter()
        .flat_map(|d| dirs(d, "hour="))
        .any(|h| {
            std::fs::read_dir(h)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| {
                    let p = e.path();
                    p.is_file() && p.extension().is_some_and(|x| x == "json")
                })
        })
}

/// Find the DuckDB CLI: `$SESLOAD_DUCKDB`, then `.venv/bin/duckdb` in the current directory or an
/// ancestor, then `duckdb` on `PATH`.
pub fn locate_duckdb() -> Result<PathBuf> {
    let mut looked = Vec::new();
    if let Some(p) = std::env::var_os("SESLOAD_DUCKDB") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        looked.push(format!("$SESLOAD_DUCKDB={}", p.display()));
    }
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            let p = dir.join(".venv/bin/duckdb");
            if p.is_file() {
                return Ok(p);
            }
        }
        looked.push(format!(
            "{}/.venv/bin/duckdb and its ancestors",
            cwd.display()
        ));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("duckdb");
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    looked.push("PATH".into());
    Err(Error::DuckdbMissing {
        looked: looked.join(", "),
    })
}

/// Parse what the script prints: per query, the DESCRIBE rows then the result rows.
fn parse_outputs(queries: &[&Query], stdout: &str) -> Result<Vec<ResultSet>> {
    let all = queries
        .iter()
        .map(|q| q.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut arrays = Vec::new();
    for v in serde_json::Deserializer::from_str(stdout)
        .into_iter::<Vec<serde_json::Map<String, Value>>>()
    {
        arrays.push(v.map_err(|e| Error::Output {
            query: all.clone(),
            detail: format!("{e} in {:.200}", stdout),
        })?);
    }
    if arrays.len() != 2 * queries.len() {
        return Err(Error::Output {
            query: all,
            detail: format!(
                "expected {} JSON arrays (DESCRIBE and rows per query), got {}",
                2 * queries.len(),
                arrays.len()
            ),
        });
    }
    let mut it = arrays.into_iter();
    queries
        .iter()
        .map(|q| {
            let describe = it.next().unwrap_or_default();
            let rows = it.next().unwrap_or_default();
            to_result_set(&q.name, describe, rows)
        })
        .collect()
}

#[cfg(test)]
fn parse_output(query: &str, stdout: &str) -> Result<ResultSet> {
    let q = Query {
        name: query.to_owned(),
        sql: String::new(),
    };
    Ok(parse_outputs(&[&q], stdout)?.remove(0))
}

fn to_result_set(
    query: &str,
    describe: Vec<serde_json::Map<String, Value>>,
    rows: Vec<serde_json::Map<String, Value>>,
) -> Result<ResultSet> {
    let bad = |detail: String| Error::Output {
        query: query.to_owned(),
        detail,
    };
    let mut columns = Vec::new();
    let mut types = Vec::new();
    for d in &describe {
        let name = d
            .get("column_name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("DESCRIBE row without column_name".into()))?;
        columns.push(name.to_owned());
        types.push(
            d.get("column_type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        );
    }
    let rows = rows
        .into_iter()
        .map(|mut r| {
            columns
                .iter()
                .zip(&types)
                .map(|(c, t)| normalize(r.remove(c).unwrap_or(Value::Null), t))
                .collect()
        })
        .collect();
    Ok(ResultSet {
        columns,
        types,
        rows,
    })
}

/// DuckDB prints HUGEINT and DECIMAL values as JSON strings; give them back as numbers.
fn normalize(v: Value, ty: &str) -> Value {
    let numeric = ty.contains("HUGEINT") || ty.starts_with("DECIMAL");
    match v {
        Value::String(s) if numeric => s
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| s.parse::<f64>().map(Value::from))
            .unwrap_or(Value::String(s)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_describe_then_rows_in_column_order() {
        let out = r#"[{"column_name":"b","column_type":"HUGEINT"},{"column_name":"a","column_type":"VARCHAR"}]
[{"b":"12","a":"x"},
{"b":"3","a":null}]"#;
        let rs = parse_output("q", out).unwrap();
        assert_eq!(rs.columns, ["b", "a"]);
        assert_eq!(rs.rows[0], vec![Value::from(12), Value::from("x")]);
        assert_eq!(rs.u64(1, "b"), 3);
        assert_eq!(rs.get(1, "a"), &Value::Null);
    }

    #[test]
    fn empty_result_keeps_columns() {
        let out = r#"[{"column_name":"a","column_type":"BIGINT"}]
[]"#;
        let rs = parse_output("q", out).unwrap();
        assert_eq!(rs.columns, ["a"]);
        assert!(rs.rows.is_empty());
    }

    #[test]
    fn garbage_is_an_error_naming_the_query() {
        let err = parse_output("03_throughput", "oops")
            .unwrap_err()
            .to_string();
        assert!(err.contains("03_throughput"), "{err}");
    }

    #[test]
    fn empty_lake_is_detected() {
        let d = std::env::temp_dir().join(format!("sesload-empty-lake-{}", std::process::id()));
        std::fs::create_dir_all(d.join("ses_events/dt=2026-01-01/hour=00")).unwrap();
        assert!(!lake_has_events(&d));
        std::fs::write(d.join("ses_events/dt=2026-01-01/hour=00/a.json"), "{}\n").unwrap();
        assert!(lake_has_events(&d));
        std::fs::remove_dir_all(&d).unwrap();
    }
}

#[cfg(test)]
mod process_tests {
    use super::*;

    /// A stand-in "duckdb" that never answers: the engine must kill it at the timeout.
    #[test]
    fn a_hung_engine_is_killed_at_the_timeout() {
        let dir = std::env::temp_dir().join(format!("sesload-hung-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("lake/ses_events/dt=2026-01-01/hour=00")).unwrap();
        std::fs::write(
            dir.join("lake/ses_events/dt=2026-01-01/hour=00/a.json"),
            "{}\n",
        )
        .unwrap();
        let fake = dir.join("duckdb");
        std::fs::write(&fake, "#!/bin/sh\nexec sleep 30\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut e = Engine::new(fake, dir.join("lake"), Catalog::embedded());
        e.timeout = Duration::from_millis(300);
        let q = e.catalog.query("01_campaign_summary").unwrap().clone();
        let t = Instant::now();
        let params = QueryParams::new(Some("c"), e.default_range());
        let err = e.run(&q, &params).unwrap_err().to_string();
        assert!(err.contains("timed out"), "{err}");
        assert!(t.elapsed() < Duration::from_secs(10));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
