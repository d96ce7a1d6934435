//! Everything that names a setting agrees with the settings table
//! (`sesload_core::config::settings::SETTINGS`): the Terraform variables (root and modules: names,
//! types, defaults), what the root module passes to its modules, the poller module's environment,
//! the env-var lists the Terraform tests assert, and `sesload.toml` (keys, values, sections).
//! `docs/configuration.md` is checked by `tests/docs.rs`. Each test lists every disagreement it
//! finds, not just the first.

#[path = "support/hcl.rs"]
mod hcl;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hcl::{Item, Value};
use sesload_core::config::settings::{Default, Function, Kind, Local, SETTINGS, Setting, by_name};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn parse(rel: &str) -> Vec<Item> {
    hcl::parse(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn assert_none(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} disagreement(s) with the settings table (crates/core/src/config/settings/table.rs):\n  - {}",
        problems.len(),
        problems.join("\n  - ")
    );
}

/// Does a literal equal the default `v` of a setting of kind `kind`?
fn hcl_equals(kind: Kind, value: &Value, v: &str) -> bool {
    match (kind, value) {
        (Kind::Bool, Value::Bool(b)) => b.to_string() == v,
        (Kind::Int { .. } | Kind::Fraction | Kind::Rate, Value::Number(n)) => {
            v.parse::<f64>() == Ok(*n)
        }
        (Kind::Text | Kind::Choice(_), Value::Str(s)) => s == v,
        (Kind::Domains, Value::List(items)) => {
            let parts: Option<Vec<&str>> = items
                .iter()
                .map(|i| match i {
                    Value::Str(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect();
            parts.is_some_and(|p| p.join(",") == v)
        }
        _ => false,
    }
}

fn toml_equals(kind: Kind, value: &toml::Value, v: &str) -> bool {
    match (kind, value) {
        (Kind::Bool, toml::Value::Boolean(b)) => b.to_string() == v,
        (Kind::Int { .. }, toml::Value::Integer(n)) => v.parse::<i64>() == Ok(*n),
        (Kind::Fraction | Kind::Rate, toml::Value::Float(f)) => v.parse::<f64>() == Ok(*f),
        (Kind::Fraction | Kind::Rate, toml::Value::Integer(n)) => v.parse::<f64>() == Ok(*n as f64),
        (Kind::Text | Kind::Choice(_), toml::Value::String(s)) => s == v,
        (Kind::Domains, toml::Value::Array(items)) => {
            let parts: Option<Vec<&str>> = items.iter().map(toml::Value::as_str).collect();
            parts.is_some_and(|p| p.join(",") == v)
        }
        _ => false,
    }
}

/// A Terraform variable: its type and default expression (`None` = no default).
struct Var {
    ty: Option<String>,
    default: Option<String>,
}

fn variables(rel: &str) -> BTreeMap<String, Var> {
    hcl::blocks(&parse(rel), "variable")
        .map(|(labels, body)| {
            (
                labels[0].clone(),
                Var {
                    ty: hcl::attr(body, "type").map(str::to_string),
                    default: hcl::attr(body, "default").map(str::to_string),
                },
            )
        })
        .collect()
}

/// `(place, file)`: the root module and every module directory.
fn terraform_places() -> Vec<(String, String)> {
    let mut places = vec![("root".to_string(), "terraform/variables.tf".to_string())];
    let mut modules: Vec<String> = std::fs::read_dir(repo().join("terraform/modules"))
        .expect("terraform/modules")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    modules.sort();
    for m in modules {
        places.push((m.clone(), format!("terraform/modules/{m}/variables.tf")));
    }
    places
}

fn places_of(s: &Setting) -> Vec<&'static str> {
    let mut p: Vec<&str> = s.modules.to_vec();
    if s.root {
        p.insert(0, "root");
    }
    p
}

/// The problems of one Terraform variable file against the table.
fn check_variables(place: &str, file: &str, vars: &BTreeMap<String, Var>) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, var) in vars {
        let Some(s) = by_name(name) else { continue };
        if !places_of(s).contains(&place) {
            problems.push(format!(
                "{file} declares `{name}`, which the settings table does not list for {place}"
            ));
            continue;
        }
        let want = s.kind.terraform_type();
        if var.ty.as_deref() != Some(want) {
            problems.push(format!(
                "{file}: `{name}` has type {:?}, the table's kind needs {want}",
                var.ty
            ));
        }
        let ok = match (&var.default, s.default) {
            // A module input the root module always sets needs no default.
            (None, _) if place != "root" => true,
            (None, Default::Required) => true,
            (Some(expr), Default::Unset) => hcl::literal(expr) == Some(Value::Null),
            (Some(expr), Default::Value(v)) => {
                hcl::literal(expr).is_some_and(|l| hcl_equals(s.kind, &l, v))
            }
            _ => false,
        };
        if !ok {
            problems.push(format!(
                "{file}: `{name}` has default {:?}, the table's is {:?}",
                var.default.as_deref().unwrap_or("(none)"),
                s.default
            ));
        }
    }
    problems
}

#[test]
fn terraform_variables_have_the_tables_names_types_and_defaults() {
    let mut problems = Vec::new();
    let mut declared: BTreeMap<String, BTreeMap<String, Var>> = BTreeMap::new();
    for (place, file) in terraform_places() {
        let vars = variables(&file);
        problems.extend(check_variables(&place, &file, &vars));
        declared.insert(place, vars);
    }
    for s in SETTINGS {
        for place in places_of(s) {
            let has = declared.get(place).is_some_and(|v| v.contains_key(s.name));
            if !has {
                problems.push(format!(
                    "the table lists `{}` for Terraform {place}, which has no such variable",
                    s.name
                ));
            }
        }
    }
    assert_none(problems);
}

#[test]
fn root_module_passes_each_setting_to_its_modules() {
    let main = parse("terraform/main.tf");
    let mut problems = Vec::new();
    for s in SETTINGS.iter().filter(|s| s.root) {
        for m in s.modules {
            let Some(body) = hcl::block(&main, "module", m) else {
                problems.push(format!("terraform/main.tf has no module \"{m}\""));
                continue;
            };
            match hcl::attr(body, s.name) {
                None => problems.push(format!("terraform/main.tf: module \"{m}\" does not set `{}`", s.name)),
                Some(expr) if expr.starts_with("var.") && expr != format!("var.{}", s.name) => problems.push(format!(
                    "terraform/main.tf: module \"{m}\" sets `{} = {expr}`, not the root variable of the same name",
                    s.name
                )),
                Some(_) => {}
            }
        }
    }
    assert_none(problems);
}

fn mentions_var(expr: &str, name: &str) -> bool {
    let needle = format!("var.{name}");
    expr.match_indices(&needle).any(|(i, _)| {
        !expr[i + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[test]
fn each_functions_environment_is_exactly_the_tables_env_vars() {
    let mut problems = Vec::new();
    for f in Function::ALL {
        let (module, name) = (f.module(), f.name());
        let file = format!("terraform/modules/{module}/main.tf");
        let main = parse(&file);
        let Some((_, locals)) =
            hcl::blocks(&main, "locals").find(|(_, body)| hcl::attr(body, "environment").is_some())
        else {
            problems.push(format!("{file}: no locals {{ environment = {{ ... }} }}"));
            continue;
        };
        let env: BTreeMap<String, String> =
            hcl::object_attrs(hcl::attr(locals, "environment").unwrap())
                .expect("environment is an object")
                .into_iter()
                .collect();
        let table: BTreeSet<&str> = SETTINGS
            .iter()
            .filter(|s| s.read_by_function(f))
            .filter_map(|s| s.env)
            .collect();
        for var in env.keys().filter(|k| !table.contains(k.as_str())) {
            problems.push(format!(
                "modules/{module} sets {var}, which the {name} function does not read"
            ));
        }
        for s in SETTINGS.iter().filter(|s| s.read_by_function(f)) {
            let var = s.env.expect("read_by_function implies an env var");
            match env.get(var) {
                None => problems.push(format!("modules/{module} does not set {var}")),
                Some(expr) if !mentions_var(expr, s.name) => problems.push(format!(
                    "modules/{module} sets {var} = {expr}, not from var.{}",
                    s.name
                )),
                Some(_) => {}
            }
        }
        // The function's environment is that map, not a second hand-written one: the module
        // passes it to the function's modules/lambda_function call.
        let Some((_, function)) = hcl::blocks(&main, "module")
            .find(|(_, body)| hcl::attr(body, "source") == Some("\"../lambda_function\""))
        else {
            problems.push(format!(
                "{file}: no module \"...\" {{ source = \"../lambda_function\" }} (the {name} function)"
            ));
            continue;
        };
        let environment = hcl::attr(function, "environment");
        if environment != Some("local.environment") {
            problems.push(format!(
                "{file}: the {name} function's environment is {environment:?}, not local.environment"
            ));
        }
    }
    assert_none(problems);
}

/// The env-var lists a `.tftest.hcl` asserts: every `toset([...])` / `sort([...])` holding
/// `"<marker>"`.
fn tftest_env_lists(text: &str, marker: &str) -> Vec<Vec<String>> {
    text.match_indices(&format!("\"{marker}\""))
        .filter_map(|(i, _)| {
            let open = text[..i].rfind('[')?;
            let before = &text[..open];
            if !(before.ends_with("toset(") || before.ends_with("sort(")) {
                return None;
            }
            let close = i + text[i..].find(']')?;
            let names = text[open + 1..close]
                .split(',')
                .map(|n| n.trim().trim_matches('"').to_string())
                .filter(|n| !n.is_empty())
                .collect();
            Some(names)
        })
        .collect()
}

#[test]
fn terraform_tests_assert_the_tables_env_vars() {
    let mut problems = Vec::new();
    // Each function's lists are told apart by a variable only that function reads.
    let checks: [(Function, &str, &[&str]); 2] = [
        (
            Function::Poller,
            "QUEUE_URL",
            &[
                "terraform/tests/poller.tftest.hcl",
                "terraform/tests/root.tftest.hcl",
            ],
        ),
        (
            Function::Guard,
            "GUARDRAIL_BOUNCE_RATE",
            &["terraform/tests/guardrail.tftest.hcl"],
        ),
    ];
    for (f, marker, files) in checks {
        let table: BTreeSet<String> = SETTINGS
            .iter()
            .filter(|s| s.read_by_function(f))
            .filter_map(|s| s.env.map(str::to_string))
            .collect();
        for file in files {
            let lists = tftest_env_lists(&read(file), marker);
            if lists.is_empty() {
                problems.push(format!(
                    "{file} asserts no env-var list of the {} function",
                    f.name()
                ));
            }
            for names in lists {
                let got: BTreeSet<String> = names.into_iter().collect();
                if got != table {
                    problems.push(format!(
                        "{file} asserts a stale env-var list of the {} function: missing {:?}, extra {:?}",
                        f.name(),
                        table.difference(&got).collect::<Vec<_>>(),
                        got.difference(&table).collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    assert_none(problems);
}

#[test]
fn tfvars_example_shows_the_tables_defaults() {
    let file = "terraform/terraform.tfvars.example";
    let items = parse(file);
    let mut problems = Vec::new();
    let mut checked = 0;
    for item in &items {
        let Item::Attr { name, expr } = item else {
            continue;
        };
        let Some(s) = by_name(name) else { continue };
        checked += 1;
        if !s.root {
            problems.push(format!(
                "{file} sets `{name}`, which is not a root variable"
            ));
            continue;
        }
        let ok = match (hcl::literal(expr), s.default) {
            (Some(Value::Null), Default::Unset) => true,
            (Some(l), Default::Value(v)) => hcl_equals(s.kind, &l, v),
            // A required variable's example value is the user's to choose.
            (Some(_), Default::Required) => true,
            _ => false,
        };
        if !ok {
            problems.push(format!(
                "{file}: `{name} = {expr}`, the default is {:?}",
                s.default
            ));
        }
    }
    assert!(checked >= 10, "only {checked} settings found in {file}");
    assert_none(problems);
}

/// The line of `sesload.toml` that starts the local-only keys.
const LOCAL_ONLY_MARKER: &str = "# --- the local stack only";

#[test]
fn sesload_toml_holds_the_tables_keys_and_local_defaults() {
    let text = read("sesload.toml");
    let parsed: toml::Table = text.parse().expect("sesload.toml parses");
    let mut problems = Vec::new();

    // Top-level keys in file order, set or commented out, and on which side of the marker.
    let mut seen: BTreeMap<String, (bool, bool)> = BTreeMap::new(); // key -> (set, after marker)
    let mut after_marker = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            break;
        }
        if t.starts_with(LOCAL_ONLY_MARKER) {
            after_marker = true;
            continue;
        }
        let (commented, rest) = match t.strip_prefix('#') {
            Some(r) => (true, r.trim_start()),
            None => (false, t),
        };
        let Some((key, _)) = rest.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            continue;
        }
        if commented && by_name(key).is_none() {
            continue; // prose in a comment
        }
        seen.entry(key.to_string())
            .or_insert((!commented, after_marker));
    }
    if !after_marker {
        problems.push(format!("sesload.toml has no `{LOCAL_ONLY_MARKER}` section"));
    }

    for (key, value) in &parsed {
        if key == "sim" {
            continue;
        }
        let Some(s) = by_name(key).filter(|s| s.toml_key().is_some()) else {
            problems.push(format!(
                "sesload.toml sets `{key}`, which is not a local key of the table"
            ));
            continue;
        };
        match s.local_default() {
            Default::Value(v) if toml_equals(s.kind, value, v) => {}
            d => problems.push(format!(
                "sesload.toml: `{key} = {value}`, the table's local default is {d:?}{}",
                if matches!(s.local, Local::Override { .. }) {
                    " (a documented local override)"
                } else {
                    ""
                }
            )),
        }
    }
    for s in SETTINGS {
        let Some(key) = s.toml_key() else { continue };
        match seen.get(key) {
            None => problems.push(format!("sesload.toml does not show `{key}` (set it, or comment it out when unset)")),
            Some((set, _)) if !*set && s.local_default() != Default::Unset => {
                problems.push(format!("sesload.toml comments out `{key}`, which has a default"))
            }
            Some((_, after)) if *after == s.root => problems.push(format!(
                "sesload.toml: `{key}` is {} the local-only section, but it {} a Terraform root variable",
                if *after { "in" } else { "above" },
                if s.root { "is" } else { "is not" }
            )),
            Some(_) => {}
        }
    }
    assert_none(problems);
}

#[test]
fn the_hcl_reader_reads_this_repositorys_terraform() {
    // Every .tf file parses, so a check above never passes because a file was skipped.
    let mut files = vec![repo().join("terraform")];
    let mut n = 0;
    while let Some(dir) = files.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if !p.ends_with("fixtures") && !p.ends_with(".terraform") {
                    files.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "tf" || x == "hcl") {
                let text = std::fs::read_to_string(&p).unwrap();
                hcl::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                n += 1;
            }
        }
    }
    assert!(n >= 30, "only {n} Terraform files found");
}
