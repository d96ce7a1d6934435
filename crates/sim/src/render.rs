//! Handlebars rendering the way SES does it: strict (a variable missing from the data is a
//! rendering failure with SES's message), HTML part escaped, subject and text part not.

use handlebars::{Handlebars, RenderErrorReason};
use serde_json::Value;

/// The three parts of a template, compiled once.
#[derive(Debug, Clone)]
pub struct TemplateSet {
    plain: Handlebars<'static>,
    html_hb: Handlebars<'static>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

impl TemplateSet {
    /// Compiles the parts; a syntax error names the part and the problem.
    pub fn compile(subject: &str, text: Option<&str>, html: Option<&str>) -> Result<Self, String> {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        hb.register_escape_fn(handlebars::no_escape);
        let mut hb_html = Handlebars::new();
        hb_html.set_strict_mode(true);
        hb.register_template_string("subject", subject)
            .map_err(|e| format!("Subject: {}", e.reason()))?;
        if let Some(t) = text {
            hb.register_template_string("text", t)
                .map_err(|e| format!("Text part: {}", e.reason()))?;
        }
        if let Some(h) = html {
            hb_html
                .register_template_string("html", h)
                .map_err(|e| format!("Html part: {}", e.reason()))?;
        }
        Ok(Self {
            plain: hb,
            html_hb: hb_html,
            subject: subject.to_owned(),
            text: text.map(str::to_owned),
            html: html.map(str::to_owned),
        })
    }

    /// Renders with `data`. `Err` is SES's rendering-failure message, e.g.
    /// `Attribute 'first_name' is not present in the rendering data.`
    pub fn render(&self, data: &Value) -> Result<Rendered, String> {
        let subject = self.part("subject", data, false)?;
        let text = match self.text {
            Some(_) => Some(self.part("text", data, false)?),
            None => None,
        };
        let html = match self.html {
            Some(_) => Some(self.part("html", data, true)?),
            None => None,
        };
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }

    fn part(&self, name: &str, data: &Value, escape: bool) -> Result<String, String> {
        let out = if escape {
            self.html_hb.render(name, data)
        } else {
            self.plain.render(name, data)
        };
        out.map_err(|e| match e.reason() {
            RenderErrorReason::MissingVariable(Some(path)) => {
                format!("Attribute '{path}' is not present in the rendering data.")
            }
            RenderErrorReason::MissingVariable(None) => {
                "An attribute is not present in the rendering data.".to_owned()
            }
            other => format!("Rendering error in template part {name}: {other}"),
        })
    }
}

/// Parses `TemplateData`: must be a JSON object. `Err` is the `BadRequestException` message.
pub fn parse_template_data(data: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(data) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("Template data must be a JSON object.".to_owned()),
        Err(e) => Err(format!("Invalid JSON in TemplateData: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_variables_if_and_each_and_escapes_html_only() {
        let t = TemplateSet::compile(
            "Hi {{first_name}}",
            Some("{{#if vip}}VIP {{/if}}{{first_name}} <{{code}}>{{#each items}} [{{this}}]{{/each}}"),
            Some("<p>{{first_name}}</p>"),
        )
        .unwrap();
        let r = t
            .render(&json!({"first_name": "A&B", "vip": true, "code": "x", "items": [1, 2]}))
            .unwrap();
        assert_eq!(r.subject, "Hi A&B");
        assert_eq!(r.text.unwrap(), "VIP A&B <x> [1] [2]");
        assert_eq!(r.html.unwrap(), "<p>A&amp;B</p>");
    }

    #[test]
    fn missing_variable_is_ses_rendering_failure_text() {
        let t = TemplateSet::compile("Hi {{first_name}}", None, None).unwrap();
        let e = t.render(&json!({})).unwrap_err();
        assert_eq!(
            e,
            "Attribute 'first_name' is not present in the rendering data."
        );
    }

    #[test]
    fn syntax_error_and_bad_data() {
        assert!(TemplateSet::compile("Hi {{#if}}", None, None).is_err());
        assert!(parse_template_data("{not json").is_err());
        assert!(parse_template_data("[1]").is_err());
        assert!(parse_template_data("{\"a\":1}").is_ok());
    }
}
