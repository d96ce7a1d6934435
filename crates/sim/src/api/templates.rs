//! Email templates: Create/Get/Update/Delete/List EmailTemplate and TestRenderEmailTemplate.

use std::sync::Arc;

use serde_json::{Value, json};

use super::SimState;
use super::shapes::{CreateTemplateRequest, TemplateContentIn, TestRenderRequest};
use super::wire::{Reply, page_query, parse_body, read, validate_name, write};
use crate::render::{TemplateSet, parse_template_data};
use crate::util::{now_ms, rfc2822};

/// A stored template: compiled once, shared by every send that names it.
#[derive(Debug, Clone)]
pub(crate) struct TemplateEntry {
    pub set: Arc<TemplateSet>,
    /// Creation time, epoch seconds (`CreatedTimestamp`).
    pub created: f64,
}

impl TemplateEntry {
    pub(crate) fn new(set: TemplateSet) -> Self {
        Self {
            set: Arc::new(set),
            created: now_ms() as f64 / 1000.0,
        }
    }
}

/// Compiles the `TemplateContent` of a create or update; a missing content or a syntax error
/// is a `BadRequestException`.
fn compile_content(c: Option<&TemplateContentIn>) -> Result<TemplateSet, Reply> {
    let Some(c) = c else {
        return Err(Reply::bad_request(
            "Missing required field TemplateContent.",
        ));
    };
    let Some(subject) = &c.subject else {
        return Err(Reply::bad_request(
            "Missing required field TemplateContent.Subject.",
        ));
    };
    if c.text.is_none() && c.html.is_none() {
        return Err(Reply::bad_request(
            "TemplateContent must contain Text or Html.",
        ));
    }
    TemplateSet::compile(subject, c.text.as_deref(), c.html.as_deref())
        .map_err(|e| Reply::bad_request(format!("Template syntax error: {e}")))
}

impl SimState {
    /// The stored template `name`, if any.
    pub(crate) fn template(&self, name: &str) -> Option<TemplateEntry> {
        read(&self.templates).get(name).cloned()
    }

    pub(crate) fn create_template(&self, body: &[u8]) -> Reply {
        let req: CreateTemplateRequest = match parse_body(body) {
            Ok(r) => r,
            Err(e) => return e,
        };
        let Some(name) = req.template_name else {
            return Reply::bad_request("Missing required field TemplateName.");
        };
        if let Err(e) = validate_name("TemplateName", &name) {
            return e;
        }
        let set = match compile_content(req.template_content.as_ref()) {
            Ok(s) => s,
            Err(e) => return e,
        };
        let mut t = write(&self.templates);
        if t.contains_key(&name) {
            return Reply::already_exists(format!("Template {name} already exists."));
        }
        t.insert(name, TemplateEntry::new(set));
        Reply::empty()
    }

    pub(crate) fn update_template(&self, name: &str, body: &[u8]) -> Reply {
        let req: CreateTemplateRequest = match parse_body(body) {
            Ok(r) => r,
            Err(e) => return e,
        };
        let set = match compile_content(req.template_content.as_ref()) {
            Ok(s) => s,
            Err(e) => return e,
        };
        let mut t = write(&self.templates);
        match t.get_mut(name) {
            Some(e) => {
                e.set = Arc::new(set);
                Reply::empty()
            }
            None => Reply::not_found(format!("Template {name} does not exist.")),
        }
    }

    pub(crate) fn get_template(&self, name: &str) -> Reply {
        match read(&self.templates).get(name) {
            Some(e) => {
                let mut c = json!({ "Subject": e.set.subject });
                if let Some(t) = &e.set.text {
                    c["Text"] = json!(t);
                }
                if let Some(h) = &e.set.html {
                    c["Html"] = json!(h);
                }
                Reply::ok(json!({ "TemplateName": name, "TemplateContent": c, "Tags": [] }))
            }
            None => Reply::not_found(format!("Template {name} does not exist.")),
        }
    }

    pub(crate) fn delete_template(&self, name: &str) -> Reply {
        match write(&self.templates).remove(name) {
            Some(_) => Reply::empty(),
            None => Reply::not_found(format!("Template {name} does not exist.")),
        }
    }

    pub(crate) fn list_templates(&self, query: &str) -> Reply {
        let (size, token) = page_query(query);
        let size = match size {
            Ok(s) => s,
            Err(e) => return e,
        };
        let t = read(&self.templates);
        let mut items = Vec::new();
        let mut next = None;
        for (name, e) in t.range::<String, _>((
            match &token {
                Some(tok) => std::ops::Bound::Excluded(tok.clone()),
                None => std::ops::Bound::Unbounded,
            },
            std::ops::Bound::Unbounded,
        )) {
            if items.len() == size {
                next = items
                    .last()
                    .and_then(|v: &Value| v["TemplateName"].as_str().map(str::to_owned));
                break;
            }
            items.push(json!({ "TemplateName": name, "CreatedTimestamp": e.created }));
        }
        let mut out = json!({ "TemplatesMetadata": items });
        if let Some(n) = next {
            out["NextToken"] = json!(n);
        }
        Reply::ok(out)
    }

    pub(crate) fn test_render(&self, name: &str, body: &[u8]) -> Reply {
        let req: TestRenderRequest = match parse_body(body) {
            Ok(r) => r,
            Err(e) => return e,
        };
        let Some(data) = req.template_data else {
            return Reply::bad_request("Missing required field TemplateData.");
        };
        let data = match parse_template_data(&data) {
            Ok(d) => d,
            Err(e) => return Reply::bad_request(e),
        };
        let Some(e) = self.template(name) else {
            return Reply::not_found(format!("Template {name} does not exist."));
        };
        match e.set.render(&data) {
            Ok(r) => {
                let ms = now_ms();
                let mut mime = format!(
                    "Date: {}\r\nSubject: {}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; \r\n\tboundary=\"----=_Part_sesload\"\r\n\r\n",
                    rfc2822(ms),
                    r.subject
                );
                if let Some(t) = r.text {
                    mime.push_str(&format!(
                        "------=_Part_sesload\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{t}\r\n"
                    ));
                }
                if let Some(h) = r.html {
                    mime.push_str(&format!(
                        "------=_Part_sesload\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{h}\r\n"
                    ));
                }
                mime.push_str("------=_Part_sesload--\r\n");
                Reply::ok(json!({ "RenderedTemplate": mime }))
            }
            Err(msg) => Reply::bad_request(msg),
        }
    }
}
