//! The SQL of `sql/`: one source for Athena (Terraform creates a named query per file) and for the
//! local engine. The files are embedded at build time so the binary works from any directory;
//! `--sql-dir` reads them from a checkout instead (to try an edited query without rebuilding).

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// A saved query: its name (the file stem, e.g. `01_campaign_summary`) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub name: String,
    pub sql: String,
}

macro_rules! embed {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../../sql/", $path)))),*]
    };
}

/// Every file under `sql/`, by path relative to `sql/`. A test checks this list against the
/// directory, so a new query file cannot be forgotten here.
pub const EMBEDDED: &[(&str, &str)] = embed!(
    "ddl/ses_events.sql",
    "views/email_events.sql",
    "views/email_status.sql",
    "local/prelude.sql",
    "local/ses_events.sql",
    "queries/01_campaign_summary.sql",
    "queries/02_duplicates.sql",
    "queries/03_throughput.sql",
    "queries/04_latency.sql",
    "queries/05_bounces_complaints.sql",
    "queries/06_reconciliation.sql",
    "queries/07_throughput_segments.sql",
    "queries/08_latency_histogram.sql",
);

/// The SQL needed to run saved queries locally.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// `sql/local/prelude.sql`: Trino compatibility macros for DuckDB.
    pub prelude: String,
    /// `sql/local/ses_events.sql`: the `ses_events` view over the JSON lake.
    pub local_table: String,
    /// `sql/views/*.sql` in name order (created after `ses_events`).
    pub views: Vec<Query>,
    /// `sql/queries/*.sql` in name order.
    pub queries: Vec<Query>,
}

impl Catalog {
    /// The files as they were when this binary was built.
    pub fn embedded() -> Self {
        let get = |p: &str| {
            EMBEDDED
                .iter()
                .find(|(path, _)| *path == p)
                .map(|(_, text)| (*text).to_owned())
                .unwrap_or_default()
        };
        let under = |dir: &str| -> Vec<Query> {
            let mut v: Vec<Query> = EMBEDDED
                .iter()
                .filter_map(|(path, text)| {
                    let rest = path.strip_prefix(dir)?.strip_prefix('/')?;
                    Some(Query {
                        name: rest.trim_end_matches(".sql").to_owned(),
                        sql: (*text).to_owned(),
                    })
                })
                .collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            v
        };
        Catalog {
            prelude: get("local/prelude.sql"),
            local_table: get("local/ses_events.sql"),
            views: under("views"),
            queries: under("queries"),
        }
    }

    /// Read the files from a `sql/` directory.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let read = |p: PathBuf| {
            std::fs::read_to_string(&p).map_err(|source| Error::Io { path: p, source })
        };
        let list = |sub: &str| -> Result<Vec<Query>> {
            let d = dir.join(sub);
            let entries = std::fs::read_dir(&d).map_err(|source| Error::Io {
                path: d.clone(),
                source,
            })?;
            let mut v = Vec::new();
            for e in entries {
                let e = e.map_err(|source| Error::Io {
                    path: d.clone(),
                    source,
                })?;
                let p = e.path();
                if p.extension().is_some_and(|x| x == "sql") {
                    let name = p
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    v.push(Query {
                        name,
                        sql: read(p)?,
                    });
                }
            }
            v.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(v)
        };
        Ok(Catalog {
            prelude: read(dir.join("local/prelude.sql"))?,
            local_table: read(dir.join("local/ses_events.sql"))?,
            views: list("views")?,
            queries: list("queries")?,
        })
    }

    /// Names of the saved queries, comma separated (for messages).
    pub fn names(&self) -> String {
        self.queries
            .iter()
            .map(|q| q.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Find a saved query by file path, full name (`02_duplicates`), name without its number
    /// (`duplicates`) or number (`02` or `2`).
    pub fn resolve(&self, spec: &str) -> Result<Query> {
        let path = Path::new(spec);
        if spec.ends_with(".sql") && path.is_file() {
            let sql = std::fs::read_to_string(path).map_err(|source| Error::Io {
                path: path.to_owned(),
                source,
            })?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| spec.to_owned());
            return Ok(Query { name, sql });
        }
        let key = spec.trim_end_matches(".sql");
        let key = key.rsplit('/').next().unwrap_or(key);
        let found = self.queries.iter().find(|q| {
            let (num, rest) = q.name.split_once('_').unwrap_or((q.name.as_str(), ""));
            q.name == key
                || rest == key
                || num == key
                || num
                    .parse::<u32>()
                    .ok()
                    .is_some_and(|n| key.parse::<u32>() == Ok(n))
        });
        found.cloned().ok_or_else(|| Error::UnknownQuery {
            spec: spec.to_owned(),
            available: self.names(),
        })
    }

    /// A saved query by exact name (used by the report).
    pub fn query(&self, name: &str) -> Result<&Query> {
        self.queries
            .iter()
            .find(|q| q.name == name)
            .ok_or_else(|| Error::UnknownQuery {
                spec: name.to_owned(),
                available: self.names(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sql")
    }

    #[test]
    fn embedded_list_matches_the_sql_directory() {
        let mut on_disk = Vec::new();
        for sub in ["ddl", "views", "local", "queries"] {
            for e in std::fs::read_dir(sql_dir().join(sub)).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "sql") {
                    on_disk.push(format!(
                        "{sub}/{}",
                        p.file_name().unwrap().to_string_lossy()
                    ));
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = EMBEDDED.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded, "update catalog::EMBEDDED");
    }

    #[test]
    fn embedded_equals_from_dir() {
        let a = Catalog::embedded();
        let b = Catalog::from_dir(&sql_dir()).unwrap();
        assert_eq!(a.queries, b.queries);
        assert_eq!(a.views, b.views);
        assert_eq!(a.prelude, b.prelude);
    }

    #[test]
    fn resolves_by_name_number_and_short_name() {
        let c = Catalog::embedded();
        assert_eq!(c.resolve("02_duplicates").unwrap().name, "02_duplicates");
        assert_eq!(c.resolve("duplicates").unwrap().name, "02_duplicates");
        assert_eq!(c.resolve("2").unwrap().name, "02_duplicates");
        assert_eq!(c.resolve("02").unwrap().name, "02_duplicates");
        assert_eq!(
            c.resolve("sql/queries/04_latency.sql").unwrap().name,
            "04_latency"
        );
        let err = c.resolve("nope").unwrap_err().to_string();
        assert!(
            err.contains("\"nope\"") && err.contains("01_campaign_summary"),
            "{err}"
        );
    }
}
