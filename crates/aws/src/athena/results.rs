//! Athena's `GetQueryResults` pages → the [`ResultSet`] the DuckDB runner produces.
//!
//! Athena gives every cell as text (`VarCharValue`, absent for NULL) and the column types in
//! `ResultSetMetadata.ColumnInfo`; the first row of the first page repeats the column names.
//! Integers become JSON integers, `double`/`real`/`decimal` JSON floats, `boolean` JSON
//! booleans, everything else stays text; type names take DuckDB's spelling (`bigint` →
//! `BIGINT`, `decimal` → `DECIMAL(p,s)`), so the report cannot tell the engines apart.

use aws_sdk_athena::types::{ColumnInfo, Row};
use serde_json::Value;
use sesload_analytics::ResultSet;

use super::AthenaError;

/// Collects the pages of one query's results.
#[derive(Debug, Default)]
pub struct Pages {
    result: ResultSet,
    kinds: Vec<Kind>,
    started: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Float,
    Boolean,
    Text,
}

impl Pages {
    /// Add one page: `columns` is its `ColumnInfo` (the same on every page), `rows` its rows.
    pub fn push(
        &mut self,
        query: &str,
        columns: &[ColumnInfo],
        rows: &[Row],
    ) -> Result<(), AthenaError> {
        let mut rows = rows.iter();
        if !self.started {
            self.started = true;
            self.result.columns = columns.iter().map(|c| c.name().to_owned()).collect();
            self.result.types = columns.iter().map(duckdb_type).collect();
            self.kinds = columns.iter().map(|c| kind(c.r#type())).collect();
            // The header row: the column names again (only on the first page of a SELECT).
            if let Some(first) = rows.as_slice().first()
                && first.data().len() == columns.len()
                && first
                    .data()
                    .iter()
                    .zip(columns)
                    .all(|(d, c)| d.var_char_value() == Some(c.label().unwrap_or(c.name())))
            {
                rows.next();
            }
        }
        for row in rows {
            let data = row.data();
            if data.len() != self.kinds.len() {
                return Err(AthenaError::Result {
                    query: query.to_owned(),
                    detail: format!(
                        "a row has {} values for {} columns",
                        data.len(),
                        self.kinds.len()
                    ),
                });
            }
            let values = data
                .iter()
                .zip(&self.kinds)
                .zip(&self.result.columns)
                .map(|((d, k), col)| value(query, col, *k, d.var_char_value()))
                .collect::<Result<Vec<_>, _>>()?;
            self.result.rows.push(values);
        }
        Ok(())
    }

    pub fn finish(self) -> ResultSet {
        self.result
    }
}

fn kind(athena_type: &str) -> Kind {
    match athena_type.to_ascii_lowercase().as_str() {
        "tinyint" | "smallint" | "integer" | "int" | "bigint" => Kind::Integer,
        "double" | "real" | "float" | "decimal" => Kind::Float,
        "boolean" => Kind::Boolean,
        _ => Kind::Text,
    }
}

/// Athena's type name in DuckDB's spelling.
fn duckdb_type(c: &ColumnInfo) -> String {
    match c.r#type().to_ascii_lowercase().as_str() {
        "varchar" | "char" | "string" => "VARCHAR".into(),
        "integer" | "int" => "INTEGER".into(),
        "real" | "float" => "FLOAT".into(),
        "decimal" => format!("DECIMAL({},{})", c.precision(), c.scale()),
        other => other.to_ascii_uppercase(),
    }
}

fn value(query: &str, column: &str, kind: Kind, text: Option<&str>) -> Result<Value, AthenaError> {
    let Some(text) = text else {
        return Ok(Value::Null);
    };
    let bad = || AthenaError::Result {
        query: query.to_owned(),
        detail: format!("column {column}: {text:?} is not a {kind:?}"),
    };
    Ok(match kind {
        Kind::Text => Value::String(text.to_owned()),
        Kind::Integer => text.parse::<i64>().map(Value::from).map_err(|_| bad())?,
        Kind::Float => {
            let f = text.parse::<f64>().map_err(|_| bad())?;
            // NaN and infinities have no JSON number; keep Athena's text.
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(text.to_owned()))
        }
        Kind::Boolean => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_athena::types::Datum;

    fn col(name: &str, ty: &str) -> ColumnInfo {
        ColumnInfo::builder()
            .name(name)
            .label(name)
            .r#type(ty)
            .precision(10)
            .scale(2)
            .build()
            .unwrap()
    }

    fn row(cells: &[Option<&str>]) -> Row {
        Row::builder()
            .set_data(Some(
                cells
                    .iter()
                    .map(|c| {
                        Datum::builder()
                            .set_var_char_value(c.map(str::to_owned))
                            .build()
                    })
                    .collect(),
            ))
            .build()
    }

    #[test]
    fn header_is_skipped_and_cells_take_their_types() {
        let cols = [
            col("campaign", "varchar"),
            col("sends", "bigint"),
            col("rate", "double"),
            col("ok", "boolean"),
            col("amount", "decimal"),
        ];
        let mut p = Pages::default();
        p.push(
            "q",
            &cols,
            &[
                row(&[
                    Some("campaign"),
                    Some("sends"),
                    Some("rate"),
                    Some("ok"),
                    Some("amount"),
                ]),
                row(&[
                    Some("run1"),
                    Some("42"),
                    Some("13.5"),
                    Some("true"),
                    Some("1.25"),
                ]),
                row(&[None, Some("0"), None, Some("false"), Some("NaN")]),
            ],
        )
        .unwrap();
        // A second page has no header.
        p.push(
            "q",
            &cols,
            &[row(&[
                Some("campaign"),
                Some("1"),
                Some("1"),
                Some("true"),
                Some("0"),
            ])],
        )
        .unwrap();
        let rs = p.finish();
        assert_eq!(rs.columns, ["campaign", "sends", "rate", "ok", "amount"]);
        assert_eq!(
            rs.types,
            ["VARCHAR", "BIGINT", "DOUBLE", "BOOLEAN", "DECIMAL(10,2)"]
        );
        assert_eq!(rs.rows.len(), 3);
        assert_eq!(rs.get(0, "sends"), &Value::from(42));
        assert_eq!(rs.f64(0, "rate"), Some(13.5));
        assert_eq!(rs.get(1, "campaign"), &Value::Null);
        assert_eq!(rs.get(1, "amount"), &Value::from("NaN"));
        assert_eq!(rs.get(2, "campaign"), &Value::from("campaign"));
    }

    #[test]
    fn an_empty_result_keeps_its_columns() {
        let mut p = Pages::default();
        p.push("q", &[col("a", "bigint")], &[row(&[Some("a")])])
            .unwrap();
        let rs = p.finish();
        assert_eq!(rs.columns, ["a"]);
        assert!(rs.rows.is_empty());
    }

    #[test]
    fn bad_values_name_the_query_and_column() {
        let mut p = Pages::default();
        let err = p
            .push(
                "04_latency",
                &[col("samples", "bigint")],
                &[row(&[Some("samples")]), row(&[Some("x")])],
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("04_latency") && err.contains("samples") && err.contains("\"x\""),
            "{err}"
        );
    }
}
