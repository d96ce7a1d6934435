//! A small reader of the HCL `terraform fmt` writes, enough for the settings agreement test:
//! blocks and attributes, attribute values kept as source text, and literal values (numbers,
//! strings, booleans, null, lists, objects) parsed. Anything else (function calls, references,
//! interpolation) is "not a literal".

#![allow(dead_code)]

/// An attribute (`name = expression`) or a block (`kind "label" { ... }`).
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Attr {
        name: String,
        expr: String,
    },
    Block {
        kind: String,
        labels: Vec<String>,
        body: Vec<Item>,
    },
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    List(Vec<Value>),
    Object(Vec<(String, Value)>),
}

/// Parse a file's (or an object's) body.
pub fn parse(src: &str) -> Result<Vec<Item>, String> {
    let mut p = Parser {
        s: src.chars().collect(),
        i: 0,
    };
    let body = p.body()?;
    if p.i < p.s.len() {
        return Err(p.err("unexpected '}'"));
    }
    Ok(body)
}

/// The blocks `kind "label" ...` of `items`.
pub fn blocks<'a>(
    items: &'a [Item],
    kind: &'a str,
) -> impl Iterator<Item = (&'a [String], &'a [Item])> {
    items.iter().filter_map(move |it| match it {
        Item::Block {
            kind: k,
            labels,
            body,
        } if k == kind => Some((labels.as_slice(), body.as_slice())),
        _ => None,
    })
}

/// The block `kind "label"` of `items`.
pub fn block<'a>(items: &'a [Item], kind: &str, label: &str) -> Option<&'a [Item]> {
    labelled(items, kind, &[label])
}

/// The block `kind "label1" "label2" ...` of `items` (e.g. `resource "type" "name"`).
pub fn labelled<'a>(items: &'a [Item], kind: &str, want: &[&str]) -> Option<&'a [Item]> {
    items.iter().find_map(|it| match it {
        Item::Block {
            kind: k,
            labels,
            body,
        } if k == kind && labels.iter().map(String::as_str).eq(want.iter().copied()) => {
            Some(body.as_slice())
        }
        _ => None,
    })
}

/// The expression text of attribute `name` of `items`.
pub fn attr<'a>(items: &'a [Item], name: &str) -> Option<&'a str> {
    items.iter().find_map(|it| match it {
        Item::Attr { name: n, expr } if n == name => Some(expr.as_str()),
        _ => None,
    })
}

/// The attributes of an object expression `{ a = x \n b = y }`, in order.
pub fn object_attrs(expr: &str) -> Result<Vec<(String, String)>, String> {
    let inner = expr
        .trim()
        .strip_prefix('{')
        .and_then(|e| e.strip_suffix('}'))
        .ok_or_else(|| format!("not an object: {expr}"))?;
    parse(inner)?
        .into_iter()
        .map(|it| match it {
            Item::Attr { name, expr } => Ok((name, expr)),
            Item::Block { kind, .. } => Err(format!("block {kind} inside an object")),
        })
        .collect()
}

/// The literal value of an expression, or `None` when it is not a literal.
pub fn literal(expr: &str) -> Option<Value> {
    let mut p = Parser {
        s: expr.chars().collect(),
        i: 0,
    };
    let v = p.value()?;
    p.skip_space(true);
    (p.i == p.s.len()).then_some(v)
}

struct Parser {
    s: Vec<char>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn peek2(&self) -> Option<char> {
        self.s.get(self.i + 1).copied()
    }

    fn err(&self, what: &str) -> String {
        let line = self.s[..self.i.min(self.s.len())]
            .iter()
            .filter(|c| **c == '\n')
            .count()
            + 1;
        format!("line {line}: {what}")
    }

    fn skip_comment(&mut self) -> bool {
        match (self.peek(), self.peek2()) {
            (Some('#'), _) | (Some('/'), Some('/')) => {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.i += 1;
                }
                true
            }
            (Some('/'), Some('*')) => {
                self.i += 2;
                while self.i < self.s.len()
                    && !(self.peek() == Some('*') && self.peek2() == Some('/'))
                {
                    self.i += 1;
                }
                self.i = (self.i + 2).min(self.s.len());
                true
            }
            _ => false,
        }
    }

    /// Skip blanks and comments; newlines too when `newlines`.
    fn skip_space(&mut self, newlines: bool) {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\r') => self.i += 1,
                Some('\n') if newlines => self.i += 1,
                _ if self.skip_comment() => {}
                _ => return,
            }
        }
    }

    fn ident(&mut self) -> Option<String> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            self.i += 1;
        }
        (self.i > start).then(|| self.s[start..self.i].iter().collect())
    }

    fn body(&mut self) -> Result<Vec<Item>, String> {
        let mut items = Vec::new();
        loop {
            self.skip_space(true);
            match self.peek() {
                None | Some('}') => return Ok(items),
                _ => {}
            }
            let name = self.ident().ok_or_else(|| self.err("expected a name"))?;
            self.skip_space(false);
            if self.peek() == Some('=') && self.peek2() != Some('=') {
                self.i += 1;
                let expr = self.expr_text()?;
                items.push(Item::Attr { name, expr });
                continue;
            }
            let mut labels = Vec::new();
            loop {
                self.skip_space(false);
                match self.peek() {
                    Some('"') => {
                        let raw = self.string_text()?;
                        labels.push(raw[1..raw.len() - 1].to_string());
                    }
                    Some('{') => break,
                    _ => labels.push(
                        self.ident()
                            .ok_or_else(|| self.err("expected a label or '{'"))?,
                    ),
                }
            }
            self.i += 1;
            let body = self.body()?;
            if self.peek() != Some('}') {
                return Err(self.err(&format!("block {name} is not closed")));
            }
            self.i += 1;
            items.push(Item::Block {
                kind: name,
                labels,
                body,
            });
        }
    }

    /// The source text of an expression: up to a newline outside brackets (comments dropped).
    fn expr_text(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let mut depth = 0usize;
        loop {
            if self.skip_comment() {
                continue;
            }
            match self.peek() {
                None => break,
                Some('\n') if depth == 0 => break,
                Some('"') => out.push_str(&self.string_text()?),
                Some(c @ ('(' | '[' | '{')) => {
                    depth += 1;
                    out.push(c);
                    self.i += 1;
                }
                Some(c @ (')' | ']' | '}')) => {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                    out.push(c);
                    self.i += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        Ok(out.trim().to_string())
    }

    /// A quoted string's source text, quotes included (interpolations may nest strings).
    fn string_text(&mut self) -> Result<String, String> {
        let start = self.i;
        self.i += 1;
        loop {
            match self.peek() {
                None | Some('\n') => return Err(self.err("unterminated string")),
                Some('\\') => self.i += 2,
                Some('"') => {
                    self.i += 1;
                    return Ok(self.s[start..self.i].iter().collect());
                }
                Some('$' | '%') if self.peek2() == Some('{') => {
                    self.i += 2;
                    let mut depth = 1;
                    while depth > 0 {
                        match self.peek() {
                            None => return Err(self.err("unterminated interpolation")),
                            Some('"') => {
                                self.string_text()?;
                            }
                            Some(c) => {
                                depth += usize::from(c == '{');
                                depth -= usize::from(c == '}');
                                self.i += 1;
                            }
                        }
                    }
                }
                Some(_) => self.i += 1,
            }
        }
    }

    fn value(&mut self) -> Option<Value> {
        self.skip_space(true);
        match self.peek()? {
            '"' => self.string_value().map(Value::Str),
            '[' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_space(true);
                    match self.peek()? {
                        ']' => {
                            self.i += 1;
                            return Some(Value::List(items));
                        }
                        ',' => self.i += 1,
                        _ => items.push(self.value()?),
                    }
                }
            }
            '{' => {
                self.i += 1;
                let mut entries = Vec::new();
                loop {
                    self.skip_space(true);
                    match self.peek()? {
                        '}' => {
                            self.i += 1;
                            return Some(Value::Object(entries));
                        }
                        ',' => self.i += 1,
                        '"' => {
                            let k = self.string_value()?;
                            entries.push((k, self.object_value()?));
                        }
                        _ => {
                            let k = self.ident()?;
                            entries.push((k, self.object_value()?));
                        }
                    }
                }
            }
            c if c == '-' || c.is_ascii_digit() => {
                let start = self.i;
                self.i += 1;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
                {
                    self.i += 1;
                }
                self.s[start..self.i]
                    .iter()
                    .collect::<String>()
                    .parse()
                    .ok()
                    .map(Value::Number)
            }
            _ => match self.ident()?.as_str() {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                "null" => Some(Value::Null),
                _ => None,
            },
        }
    }

    fn object_value(&mut self) -> Option<Value> {
        self.skip_space(false);
        match self.peek()? {
            '=' | ':' => self.i += 1,
            _ => return None,
        }
        self.value()
    }

    /// A quoted string without interpolation, unescaped.
    fn string_value(&mut self) -> Option<String> {
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek()? {
                '"' => {
                    self.i += 1;
                    return Some(out);
                }
                '\\' => {
                    let c = self.peek2()?;
                    self.i += 2;
                    out.push(match c {
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        other => other,
                    });
                }
                '$' | '%' if self.peek2() == Some('{') => {
                    // `$${` is a literal `${`; a bare `${` is an interpolation: not a literal.
                    return None;
                }
                '$' | '%'
                    if self.peek2() == Some(self.peek()?)
                        && self.s.get(self.i + 2) == Some(&'{') =>
                {
                    out.push(self.peek()?);
                    out.push('{');
                    self.i += 3;
                }
                c => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_variables_locals_and_literals() {
        let src = r#"
# a comment
variable "a" {
  description = "with \"quotes\" and ${var.x}"
  type        = list(string)
  default     = ["x", "y"] # trailing
  validation {
    condition     = length(var.a) > 0 && alltrue([for d in var.a : can(regex("^[a-z]+$", d))])
    error_message = "a."
  }
}

locals {
  environment = {
    A_B = tostring(var.b) // comment
    C   = var.c == null ? "" : tostring(var.c)
  }
}
"#;
        let items = parse(src).unwrap();
        let (labels, body) = blocks(&items, "variable").next().unwrap();
        assert_eq!(labels, ["a"]);
        assert_eq!(attr(body, "type"), Some("list(string)"));
        assert_eq!(
            literal(attr(body, "default").unwrap()),
            Some(Value::List(vec![
                Value::Str("x".into()),
                Value::Str("y".into())
            ]))
        );
        assert_eq!(literal(attr(body, "description").unwrap()), None);
        let (_, locals) = blocks(&items, "locals").next().unwrap();
        let env = object_attrs(attr(locals, "environment").unwrap()).unwrap();
        assert_eq!(
            env,
            vec![
                ("A_B".to_string(), "tostring(var.b)".to_string()),
                (
                    "C".to_string(),
                    "var.c == null ? \"\" : tostring(var.c)".to_string()
                ),
            ]
        );
        assert_eq!(literal("0.98"), Some(Value::Number(0.98)));
        assert_eq!(literal("null"), Some(Value::Null));
        assert_eq!(literal("\"a\\r\\nb\""), Some(Value::Str("a\r\nb".into())));
        assert_eq!(
            literal("{ project = \"sesload\" }"),
            Some(Value::Object(vec![(
                "project".into(),
                Value::Str("sesload".into())
            )]))
        );
        assert_eq!(literal("var.x"), None);
    }
}
