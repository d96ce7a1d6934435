//! Step 3 of a send: resolve the content — a stored template (by name or ARN) or inline
//! template content rendered with `TemplateData`, a Simple message, or a Raw message. A
//! template that fails to render is not an error here: the send is accepted and becomes a
//! `Rendering Failure` (as SES does).

use std::sync::Arc;

use super::parse::SendRequest;
use super::refusal::Refusal;
use crate::api::SimState;
use crate::api::shapes::TemplateIn;
use crate::api::wire::Reply;
use crate::render::{Rendered, TemplateSet, parse_template_data};

/// The message body the send will carry.
pub(crate) enum Body {
    /// A template render (or its failure message) and the stored template's name.
    Rendered(Result<Rendered, String>, Option<String>),
    /// Subject, text, HTML.
    Simple(String, Option<String>, Option<String>),
    /// Subject and decoded size of a Raw message.
    Raw(String, usize),
}

impl Body {
    /// `Template`, `Simple` or `Raw` (`contentKind` in `/_sim/messages`).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Rendered(..) => "Template",
            Self::Simple(..) => "Simple",
            Self::Raw(..) => "Raw",
        }
    }
}

impl SimState {
    /// Resolves and renders the content of `req`. Errors are the caller's (bad template
    /// reference, unknown template, bad `TemplateData`, incomplete Simple message).
    pub(super) fn resolve_content(&self, req: &SendRequest) -> Result<Body, Reply> {
        let content = &req.content;
        if let Some(t) = &content.template {
            self.render_template(t)
        } else if let Some(s) = &content.simple {
            let subject = s
                .subject
                .as_ref()
                .map(|c| c.data.clone())
                .ok_or_else(|| Reply::bad_request("Missing required field Subject."))?;
            let b = s
                .body
                .clone()
                .ok_or_else(|| Reply::bad_request("Missing required field Body."))?;
            Ok(Body::Simple(
                subject,
                b.text.map(|c| c.data),
                b.html.map(|c| c.data),
            ))
        } else {
            let h = req.raw_headers.clone().unwrap_or_default();
            Ok(Body::Raw(h.subject.unwrap_or_default(), h.size))
        }
    }

    fn render_template(&self, t: &TemplateIn) -> Result<Body, Reply> {
        let source = template_ref(t)?;
        let (set, tname) = self.lookup_template(source).map_err(|r| self.refuse(r))?;
        let data = match &t.template_data {
            Some(d) => parse_template_data(d).map_err(Reply::bad_request)?,
            None => return Err(Reply::bad_request("Missing required field TemplateData.")),
        };
        Ok(Body::Rendered(set.render(&data), tname))
    }

    /// The compiled template `source` stands for, and the stored template's name.
    pub(super) fn lookup_template(
        &self,
        source: TemplateRef,
    ) -> Result<(Arc<TemplateSet>, Option<String>), Refusal> {
        match source {
            TemplateRef::Inline(set) => Ok((set, None)),
            TemplateRef::Stored(name) => match self.template(&name) {
                Some(entry) => Ok((entry.set, Some(name))),
                None => Err(Refusal::TemplateNotFound(name)),
            },
        }
    }
}

/// A valid reference to a template: inline content (compiled) or a stored template's name.
#[derive(Clone)]
pub(crate) enum TemplateRef {
    Inline(Arc<TemplateSet>),
    Stored(String),
}

/// Checks the reference of a `Template`: exactly one of `TemplateName`, `TemplateArn` (a
/// template ARN) or `TemplateContent` (which must compile). Errors are `BadRequestException`s.
pub(super) fn template_ref(t: &TemplateIn) -> Result<TemplateRef, Reply> {
    if let Some(tc) = &t.template_content {
        if t.template_name.is_some() || t.template_arn.is_some() {
            return Err(Reply::bad_request(
                "Template must contain exactly one of TemplateName, TemplateArn or TemplateContent.",
            ));
        }
        let subject = tc.subject.clone().unwrap_or_default();
        let s = TemplateSet::compile(&subject, tc.text.as_deref(), tc.html.as_deref())
            .map_err(|e| Reply::bad_request(format!("Invalid TemplateContent: {e}")))?;
        return Ok(TemplateRef::Inline(Arc::new(s)));
    }
    template_name(t).map(TemplateRef::Stored)
}

/// The stored template a `Template` names: `TemplateName`, or the name at the end of
/// `TemplateArn` (`arn:aws:ses:REGION:ACCOUNT:template/NAME`).
fn template_name(t: &TemplateIn) -> Result<String, Reply> {
    match (&t.template_name, &t.template_arn) {
        (Some(n), _) => Ok(n.clone()),
        (None, Some(arn)) => arn
            .rsplit_once(":template/")
            .map(|(_, n)| n.to_owned())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Reply::bad_request(format!("Invalid TemplateArn: {arn:?}."))),
        (None, None) => Err(Reply::bad_request(
            "Template must contain one of TemplateName, TemplateArn or TemplateContent.",
        )),
    }
}
