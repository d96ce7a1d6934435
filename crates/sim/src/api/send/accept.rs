//! Steps 5 and 6 of a send (SendEmail, or one SendBulkEmail entry), once every check has passed: accept the message (message id,
//! counters, the `mail` object of its event records), publish its SES events according to the
//! configuration set, and remember it in the message log (`GET /_sim/messages`).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering as AO;

use super::content::Body;
use super::mailbox::{Outcome, simulator_outcome};
use super::parse::SendRequest;
use crate::api::config_sets::ConfigSet;
use crate::api::wire::{caller_identity, lock, truncate};
use crate::api::{EVENT_STREAM, RequestMeta, SentMessage, SimState};
use crate::events::{self, EventKind, MailInfo};
use crate::util::{iso_ms, message_id, mix, now_ms};

/// An accepted message.
pub(crate) struct Accepted {
    pub req: SendRequest,
    pub mail: MailInfo,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    /// The rendering failure message, if the template did not render.
    pub failure: Option<String>,
    pub template_name: Option<String>,
    pub content_kind: &'static str,
}

impl Accepted {
    pub(crate) fn message_id(&self) -> &str {
        &self.mail.message_id
    }
}

impl SimState {
    /// Gives the message its id and counts it as sent.
    pub(super) fn accept(
        &self,
        meta: &RequestMeta<'_>,
        req: SendRequest,
        identity: &str,
        body: Body,
    ) -> Accepted {
        let ts = now_ms();
        let id = message_id(ts);
        self.counters.sent_messages.fetch_add(1, AO::Relaxed);
        self.counters
            .sent_recipients
            .fetch_add(req.rcpt.bare.len() as u64, AO::Relaxed);
        let content_kind = body.kind();
        let (subject, text, html, failure, template_name) = match body {
            Body::Rendered(Ok(r), tn) => (r.subject, r.text, r.html, None, tn),
            Body::Rendered(Err(e), tn) => (String::new(), None, None, Some(e), tn),
            Body::Simple(s, t, h) => (s, t, h, None, None),
            Body::Raw(s, size) => (
                s,
                Some(format!("[raw message, {size} bytes]")),
                None,
                None,
                None,
            ),
        };
        let from_domain = req
            .from_addr
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        let mut mail_tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if let Some(n) = &req.set_name {
            mail_tags.insert("ses:configuration-set".into(), vec![n.clone()]);
        }
        mail_tags.insert("ses:source-ip".into(), vec![meta.peer.to_string()]);
        mail_tags.insert("ses:from-domain".into(), vec![from_domain]);
        mail_tags.insert(
            "ses:caller-identity".into(),
            vec![caller_identity(meta.authorization)],
        );
        for t in &req.tags {
            mail_tags
                .entry(t.name.clone())
                .or_default()
                .push(t.value.clone());
        }
        let mail = MailInfo {
            timestamp_ms: ts,
            message_id: id,
            source: req.from.clone(),
            source_arn: self.arn("identity", identity),
            sending_account_id: self.config.account_id.clone(),
            destination: req.rcpt.all.clone(),
            to: req.rcpt.to.clone(),
            cc: req.rcpt.cc.clone(),
            subject: subject.clone(),
            extra_headers: req.extra_headers.clone(),
            tags: mail_tags,
        };
        Accepted {
            req,
            mail,
            subject,
            text,
            html,
            failure,
            template_name,
            content_kind,
        }
    }

    /// Publishes the message's SES events to the lake (if its configuration set has a
    /// destination for them) and returns the per-recipient outcomes (none for a rendering
    /// failure). `seq` draws the delivery delay.
    pub(super) fn publish_events(
        &self,
        a: &Accepted,
        set: Option<&ConfigSet>,
        seq: u64,
    ) -> BTreeMap<String, String> {
        let mail = &a.mail;
        let mut outcomes = BTreeMap::new();
        if let Some(err) = &a.failure {
            self.counters.rendering_failures.fetch_add(1, AO::Relaxed);
            if set.is_some_and(|s| s.publishes(EventKind::RenderingFailure)) {
                self.lake.send(events::rendering_failure_record(
                    mail,
                    a.template_name.as_deref().unwrap_or(""),
                    err,
                ));
            }
            return outcomes;
        }
        let mut delivered = Vec::new();
        let mut bounced = Vec::new();
        let mut suppressed = Vec::new();
        let mut complained = Vec::new();
        for (orig, bare) in a.req.rcpt.all.iter().zip(&a.req.rcpt.bare) {
            let o = simulator_outcome(bare);
            match o {
                Outcome::Bounce => bounced.push(orig.clone()),
                Outcome::Suppressed => suppressed.push(orig.clone()),
                Outcome::Complaint => {
                    delivered.push(orig.clone());
                    complained.push(orig.clone());
                }
                Outcome::Delivered | Outcome::OutOfOffice => delivered.push(orig.clone()),
            }
            outcomes.insert(orig.clone(), o.name().to_owned());
        }
        let Some(set) = set else {
            return outcomes;
        };
        let e = &self.config.events;
        let span = e.delivery_delay_ms_max - e.delivery_delay_ms_min;
        let delay = e.delivery_delay_ms_min
            + if span == 0 {
                0
            } else {
                mix(self.config.faults.seed ^ EVENT_STREAM, seq) % (span + 1)
            };
        let mta = format!("a8-{}.smtp-out.amazonses.com", 10 + seq % 90);
        let ip = format!("54.240.8.{}", 10 + seq % 240);
        if set.publishes(EventKind::Send) {
            self.lake.send(events::send_record(mail));
        }
        if !delivered.is_empty() && set.publishes(EventKind::Delivery) {
            self.lake
                .send(events::delivery_record(mail, &delivered, delay, &mta, &ip));
        }
        if !bounced.is_empty() && set.publishes(EventKind::Bounce) {
            self.lake
                .send(events::bounce_record(mail, &bounced, false, delay, &mta));
        }
        if !suppressed.is_empty() && set.publishes(EventKind::Bounce) {
            self.lake
                .send(events::bounce_record(mail, &suppressed, true, delay, &mta));
        }
        if !complained.is_empty() && set.publishes(EventKind::Complaint) {
            self.lake.send(events::complaint_record(
                mail,
                &complained,
                delay + e.complaint_delay_ms,
            ));
        }
        outcomes
    }

    /// Appends the message to the message log (oldest dropped at `message_log_capacity`).
    pub(super) fn record(&self, a: Accepted, outcomes: BTreeMap<String, String>) {
        let cap = self.config.message_log_capacity;
        if cap == 0 {
            return;
        }
        let status = if a.failure.is_some() {
            "rendering_failure"
        } else {
            "sent"
        };
        let plain_tags = a.req.tags.into_iter().map(|t| (t.name, t.value)).collect();
        let msg = SentMessage {
            message_id: a.mail.message_id,
            timestamp: iso_ms(a.mail.timestamp_ms),
            from: a.req.from,
            to: a.req.rcpt.to,
            cc: a.req.rcpt.cc,
            bcc: a.req.rcpt.bcc,
            subject: a.subject,
            text: a.text.map(|t| truncate(t, 4096)),
            html: a.html.map(|t| truncate(t, 4096)),
            content_kind: a.content_kind.to_owned(),
            template_name: a.template_name,
            configuration_set: a.req.set_name,
            tags: plain_tags,
            status: status.to_owned(),
            error: a.failure,
            outcomes,
        };
        let mut m = lock(&self.messages);
        while m.len() >= cap {
            m.pop_front();
        }
        m.push_back(msg);
    }
}
