//! Rendering a [`ResultSet`] as a text table, CSV or JSON.

use serde_json::Value;

use crate::engine::ResultSet;

/// Output formats of `sesload query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

pub fn render(rs: &ResultSet, format: Format) -> String {
    match format {
        Format::Table => table(rs),
        Format::Json => json(rs),
        Format::Csv => csv(rs),
    }
}

/// A cell as text: strings bare, NULL as `NULL`, numbers and nested values as JSON.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() => format_float(f),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn format_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        let s = format!("{f:.3}");
        let s = s.trim_end_matches('0');
        s.trim_end_matches('.').to_owned()
    }
}

/// Aligned text table; numbers right-aligned.
pub fn table(rs: &ResultSet) -> String {
    if rs.columns.is_empty() {
        return "(no columns)\n".into();
    }
    let cells: Vec<Vec<String>> = rs
        .rows
        .iter()
        .map(|r| r.iter().map(cell).collect())
        .collect();
    let widths: Vec<usize> = rs
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([c.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric: Vec<bool> = (0..rs.columns.len())
        .map(|i| rs.rows.iter().all(|r| r[i].is_number() || r[i].is_null()))
        .collect();
    let mut out = String::new();
    let line = |out: &mut String, vals: &[String]| {
        let parts: Vec<String> = vals
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if numeric[i] {
                    format!("{v:>w$}", w = widths[i])
                } else {
                    format!("{v:<w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(parts.join(" | ").trim_end());
        out.push('\n');
    };
    line(&mut out, &rs.columns);
    out.push_str(
        &widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-+-"),
    );
    out.push('\n');
    for r in &cells {
        line(&mut out, r);
    }
    out.push_str(&format!(
        "({} row{})\n",
        rs.rows.len(),
        if rs.rows.len() == 1 { "" } else { "s" }
    ));
    out
}

/// A JSON array of objects, keys in column order.
pub fn json(rs: &ResultSet) -> String {
    let mut out = String::from("[");
    for (n, r) in rs.rows.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str("\n  {");
        for (i, (c, v)) in rs.columns.iter().zip(r).enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&Value::from(c.as_str()).to_string());
            out.push_str(": ");
            out.push_str(&v.to_string());
        }
        out.push('}');
    }
    out.push_str(if rs.rows.is_empty() { "]\n" } else { "\n]\n" });
    out
}

/// RFC 4180 CSV with a header line; NULL is an empty field.
pub fn csv(rs: &ResultSet) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    let mut out = String::new();
    out.push_str(
        &rs.columns
            .iter()
            .map(|c| field(c))
            .collect::<Vec<_>>()
            .join(","),
    );
    out.push_str("\r\n");
    for r in &rs.rows {
        let vals: Vec<String> = r
            .iter()
            .map(|v| match v {
                Value::Null => String::new(),
                Value::String(s) => field(s),
                other => field(&other.to_string()),
            })
            .collect();
        out.push_str(&vals.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs() -> ResultSet {
        ResultSet {
            columns: vec!["name".into(), "n".into()],
            types: vec!["VARCHAR".into(), "BIGINT".into()],
            rows: vec![
                vec![Value::from("a,\"b\""), Value::from(12)],
                vec![Value::Null, Value::from(1.5)],
            ],
        }
    }

    #[test]
    fn csv_quotes_and_nulls() {
        assert_eq!(csv(&rs()), "name,n\r\n\"a,\"\"b\"\"\",12\r\n,1.5\r\n");
    }

    #[test]
    fn json_keeps_column_order_and_types() {
        let j = json(&rs());
        let v: Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v[0]["n"], 12);
        assert!(v[1]["name"].is_null());
        assert!(j.find("\"name\"").unwrap() < j.find("\"n\"").unwrap());
    }

    #[test]
    fn table_aligns_numbers_right() {
        let t = table(&rs());
        assert!(t.contains("|  12\n"), "{t}");
        assert!(t.ends_with("(2 rows)\n"));
    }
}
