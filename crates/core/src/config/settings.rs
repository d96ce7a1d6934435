//! The settings table: every setting of the poller and of the local stack, once.
//!
//! A setting can live in three places: the poller's environment (set by the Terraform `poller`
//! module on AWS and by the local stack on one machine), `sesload.toml` (the local stack) and
//! Terraform (`terraform/variables.tf` and the modules' `variables.tf`). [`SETTINGS`] names each
//! place and holds the one default. The poller's defaults ([`super::PollerConfig::from_lookup`]),
//! the local stack's defaults (`sesload_local::LocalConfig::default`) and the reference in
//! `docs/configuration.md` ([`reference_markdown`]) come from it; a test
//! (`crates/core/tests/settings.rs`) checks that the Terraform variables, the poller module's
//! environment, `sesload.toml` and the document agree with it.

/// What values a setting takes; the poller and the local stack check the same rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `true` or `false`.
    Bool,
    /// A whole number in `min..=max`.
    Int { min: u64, max: u64 },
    /// A number in (0, 1].
    Fraction,
    /// A positive number of emails per second, or unset.
    Rate,
    /// Free text (a name, a URL, a path).
    Text,
    /// One or more domain names: a comma-separated list in the environment, a list in
    /// `sesload.toml` and Terraform.
    Domains,
    /// One of these words.
    Choice(&'static [&'static str]),
}

impl Kind {
    /// The Terraform type of a variable holding this setting.
    pub fn terraform_type(self) -> &'static str {
        match self {
            Kind::Bool => "bool",
            Kind::Int { .. } | Kind::Fraction | Kind::Rate => "number",
            Kind::Text | Kind::Choice(_) => "string",
            Kind::Domains => "list(string)",
        }
    }

    /// One line for the reference: the values the code accepts.
    pub fn summary(self) -> String {
        match self {
            Kind::Bool => "`true` / `false`".into(),
            Kind::Int { min, max } => format!("whole number {}–{}", group(min), group(max)),
            Kind::Fraction => "number in (0, 1]".into(),
            Kind::Rate => "number > 0, or unset".into(),
            Kind::Text => "text".into(),
            Kind::Domains => "list of domains (env: comma-separated)".into(),
            Kind::Choice(words) => words
                .iter()
                .map(|w| format!("`{w}`"))
                .collect::<Vec<_>>()
                .join(" / "),
        }
    }
}

/// `10000` → `10,000` (the reference's numbers read better grouped).
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The one default of a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    /// No default: the poller refuses to start without it; the Terraform variable has no
    /// `default` (the root module wires it or the user must set it).
    Required,
    /// Unset: an empty environment variable, Terraform `null`, a commented-out (absent)
    /// `sesload.toml` key. What unset means is in the setting's doc.
    Unset,
    /// A value, written as the environment variable holds it (a list comma-separated).
    Value(&'static str),
}

/// How the local stack (`sesload up`) gets a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    /// Not a local setting: the local poller runs with the default.
    Absent,
    /// The local stack sets the poller's variable to this value itself (its own queue, tables).
    Wired(&'static str),
    /// A `sesload.toml` key named like the setting, with the table's default.
    Key,
    /// A `sesload.toml` key whose local default differs from the AWS one on purpose.
    Override {
        value: &'static str,
        why: &'static str,
    },
}

/// A Lambda function of the deployment that reads settings from its environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// The poller (`lambdas/poller`): SQS batch → SES.
    Poller,
    /// The guard (`lambdas/guard`): SES events → campaign guardrails.
    Guard,
}

impl Function {
    /// Every function, in the reference's order.
    pub const ALL: [Function; 2] = [Function::Poller, Function::Guard];

    /// The function's name (`lambdas/<name>`, the Lambda `<name_prefix>-<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Function::Poller => "poller",
            Function::Guard => "guard",
        }
    }

    /// The Terraform module that creates it and sets its environment.
    pub fn module(self) -> &'static str {
        match self {
            Function::Poller => "poller",
            Function::Guard => "guardrail",
        }
    }
}

/// One setting: its name in every place, its default, its values and its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The setting's name: its `sesload.toml` key and its Terraform variable (root and modules).
    pub name: &'static str,
    /// The environment variable, if a Lambda function reads one ([`Setting::functions`]).
    pub env: Option<&'static str>,
    /// The functions that read [`Setting::env`] (the poller unless said otherwise).
    pub functions: &'static [Function],
    /// A former name of the environment variable the poller still accepts, with a warning.
    pub deprecated_env: Option<&'static str>,
    /// How the local stack gets it.
    pub local: Local,
    /// A variable named [`Setting::name`] in `terraform/variables.tf`.
    pub root: bool,
    /// Modules (`terraform/modules/<module>`) with a variable named [`Setting::name`].
    pub modules: &'static [&'static str],
    pub default: Default,
    pub kind: Kind,
    /// One line for the reference.
    pub doc: &'static str,
}

impl Setting {
    const fn new(name: &'static str, kind: Kind, default: Default, doc: &'static str) -> Self {
        Self {
            name,
            env: None,
            functions: &[Function::Poller],
            deprecated_env: None,
            local: Local::Absent,
            root: false,
            modules: &[],
            default,
            kind,
            doc,
        }
    }
    /// The poller reads it from `env`.
    const fn env(mut self, env: &'static str) -> Self {
        self.env = Some(env);
        self
    }
    /// `functions` (instead of the poller alone) read it from its env var.
    const fn read_by(mut self, functions: &'static [Function]) -> Self {
        self.functions = functions;
        self
    }
    const fn deprecated_env(mut self, env: &'static str) -> Self {
        self.deprecated_env = Some(env);
        self
    }
    /// A root variable that is passed to `modules`.
    const fn terraform(mut self, modules: &'static [&'static str]) -> Self {
        self.root = true;
        self.modules = modules;
        self
    }
    /// Module variables only (resources the root module creates and wires in).
    const fn wired(mut self, modules: &'static [&'static str], local: &'static str) -> Self {
        self.modules = modules;
        self.local = Local::Wired(local);
        self
    }
    const fn key(mut self) -> Self {
        self.local = Local::Key;
        self
    }
    const fn local_override(mut self, value: &'static str, why: &'static str) -> Self {
        self.local = Local::Override { value, why };
        self
    }

    /// The `sesload.toml` key, if the local stack has one.
    pub fn toml_key(&self) -> Option<&'static str> {
        matches!(self.local, Local::Key | Local::Override { .. }).then_some(self.name)
    }

    /// Whether `function` reads this setting from its environment.
    pub fn read_by_function(&self, function: Function) -> bool {
        self.env.is_some() && self.functions.contains(&function)
    }

    /// The local stack's default: the override when there is one, else the table default.
    pub fn local_default(&self) -> Default {
        match self.local {
            Local::Override { value, .. } | Local::Wired(value) => Default::Value(value),
            Local::Key | Local::Absent => self.default,
        }
    }
}

/// SQS's largest `DelaySeconds`.
pub const MAX_DELAY_SECONDS: u64 = 900;

mod table;
pub use table::SETTINGS;

/// The setting read from environment variable `env` (current or deprecated name).
pub fn by_env(env: &str) -> Option<&'static Setting> {
    SETTINGS
        .iter()
        .find(|s| s.env == Some(env) || s.deprecated_env == Some(env))
}

/// The setting named `name`.
pub fn by_name(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// Every environment variable `function` reads, in table order.
pub fn env_vars(function: Function) -> impl Iterator<Item = &'static str> {
    SETTINGS
        .iter()
        .filter(move |s| s.read_by_function(function))
        .filter_map(|s| s.env)
}

fn show_default(d: Default) -> String {
    match d {
        Default::Required => "*required*".into(),
        Default::Unset => "*unset*".into(),
        Default::Value("") => "*(empty)*".into(),
        Default::Value(v) => format!("`{v}`"),
    }
}

fn code(v: Option<&str>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("`{v}`"))
}

/// The reference tables of `docs/configuration.md`, generated from [`SETTINGS`]; a test keeps
/// the document and this text identical.
pub fn reference_markdown() -> String {
    let mut s = String::from(
        "| Setting | Lambda env var | `sesload.toml` | Terraform | Default | Values | Meaning |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for st in SETTINGS {
        let local = match st.local {
            Local::Absent => "—".to_string(),
            Local::Wired(v) => format!("set by the stack: `{v}`"),
            Local::Key => "key".to_string(),
            Local::Override { value, .. } => format!("key, default `{value}`"),
        };
        let mut tf: Vec<String> = Vec::new();
        if st.root {
            tf.push("root".into());
        }
        tf.extend(st.modules.iter().map(|m| format!("`{m}`")));
        let tf = if tf.is_empty() {
            "—".to_string()
        } else {
            tf.join(", ")
        };
        let mut env = match (st.env, st.deprecated_env) {
            (Some(e), Some(old)) => format!("`{e}` (was `{old}`)"),
            (e, _) => code(e),
        };
        if st.env.is_some() && st.functions != [Function::Poller] {
            let names: Vec<&str> = st.functions.iter().map(|f| f.name()).collect();
            env.push_str(&format!(" ({})", names.join(", ")));
        }
        s.push_str(&format!(
            "| `{}` | {env} | {local} | {tf} | {} | {} | {} |\n",
            st.name,
            show_default(st.default),
            st.kind.summary(),
            st.doc
        ));
    }
    s.push_str(
        "\nLocal defaults that differ from the AWS (Terraform) ones on purpose:\n\n\
         | Setting | AWS default | Local default | Why |\n|---|---|---|---|\n",
    );
    for st in SETTINGS {
        if let Local::Override { value, why } = st.local {
            s.push_str(&format!(
                "| `{}` | {} | `{value}` | {why} |\n",
                st.name,
                show_default(st.default)
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_env_vars_are_unique() {
        let mut names: Vec<_> = SETTINGS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SETTINGS.len(), "duplicate setting name");
        let mut envs: Vec<_> = SETTINGS
            .iter()
            .flat_map(|s| s.env.into_iter().chain(s.deprecated_env))
            .collect();
        let n = envs.len();
        envs.sort_unstable();
        envs.dedup();
        assert_eq!(envs.len(), n, "duplicate environment variable");
    }

    #[test]
    fn every_setting_is_somewhere_and_env_vars_come_from_the_poller_module() {
        for s in SETTINGS {
            assert!(
                s.env.is_some() || s.toml_key().is_some() || s.root,
                "{} lives nowhere",
                s.name
            );
            for f in s.functions.iter().filter(|_| s.env.is_some()) {
                assert!(
                    s.modules.contains(&f.module()),
                    "{}: env var of the {} function without a `{}` module variable",
                    s.name,
                    f.name(),
                    f.module()
                );
            }
            if let Default::Value(v) = s.local_default()
                && let Kind::Int { min, max } = s.kind
            {
                let n: u64 = v.parse().unwrap();
                assert!(
                    (min..=max).contains(&n),
                    "{}: default {n} outside its range",
                    s.name
                );
            }
        }
    }

    #[test]
    fn grouped_numbers() {
        assert_eq!(group(0), "0");
        assert_eq!(group(900), "900");
        assert_eq!(group(10_000), "10,000");
        assert_eq!(group(10_000_000), "10,000,000");
    }
}
