//! The port every query engine implements: run saved queries with their parameters bound and give
//! back rows. The report and `sesload query` are written against [`QueryRunner`]; the DuckDB CLI
//! over the local lake ([`crate::Engine`]) and Athena (`sesload_aws::athena::AthenaRunner`, in the
//! AWS adapter crate) implement it.

use serde_json::Value;

use crate::Result;
use crate::catalog::Query;
use crate::params::QueryParams;
use crate::range::DtRange;

/// A query result: columns in order, their types (DuckDB's spelling: `BIGINT`, `VARCHAR`,
/// `DOUBLE`, ...), and rows aligned with the columns. Integers are JSON integers, fractional and
/// decimal numbers JSON floats, NULL is `null`, text is a string.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultSet {
    pub columns: Vec<String>,
    pub types: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl ResultSet {
    /// Index of a column.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Value of `name` in row `row` (Null when absent).
    pub fn get(&self, row: usize, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        match (self.rows.get(row), self.col(name)) {
            (Some(r), Some(i)) => r.get(i).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    pub fn f64(&self, row: usize, name: &str) -> Option<f64> {
        self.get(row, name).as_f64()
    }

    pub fn u64(&self, row: usize, name: &str) -> u64 {
        let v = self.get(row, name);
        v.as_u64()
            .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .unwrap_or(0)
    }

    pub fn str(&self, row: usize, name: &str) -> Option<&str> {
        self.get(row, name).as_str()
    }
}

/// Runs saved queries. Each implementation binds [`QueryParams`] as real parameters (see
/// [`crate::params::bind`]), never by editing the query text.
pub trait QueryRunner {
    /// Where the queries run, for messages and the report (e.g. `DuckDB over .sesload/lake`).
    fn describe(&self) -> String;

    /// The `dt` range to read when neither the command line nor the campaign's span gives one.
    fn default_range(&self) -> DtRange;

    /// What the queries run so far cost, when the engine bills for them (Athena: bytes scanned).
    fn usage(&self) -> Option<String> {
        None
    }

    /// Run `queries` with every one's `?` bound to `params`; results in the same order.
    fn run_many(&self, queries: &[&Query], params: &QueryParams) -> Result<Vec<ResultSet>>;

    /// Run one query.
    fn run(&self, query: &Query, params: &QueryParams) -> Result<ResultSet> {
        let mut v = self.run_many(&[query], params)?;
        Ok(if v.is_empty() {
            ResultSet::default()
        } else {
            v.remove(0)
        })
    }
}
