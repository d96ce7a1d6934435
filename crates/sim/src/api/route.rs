//! Routing: method + path → operation, the latency model, and per-operation request counts.

use std::sync::atomic::Ordering as AO;
use std::time::Duration;

use serde_json::{Value, json};

use super::wire::{Reply, page_query, percent_decode, query_param};
use super::{LATENCY_STREAM, RequestMeta, SimState};
use crate::util::normal;

/// Which operation a request was (stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Op {
    SendEmail,
    SendBulkEmail,
    GetAccount,
    CreateEmailTemplate,
    GetEmailTemplate,
    UpdateEmailTemplate,
    DeleteEmailTemplate,
    ListEmailTemplates,
    TestRenderEmailTemplate,
    CreateConfigurationSet,
    GetConfigurationSet,
    ListConfigurationSets,
    DeleteConfigurationSet,
    CreateConfigurationSetEventDestination,
    GetConfigurationSetEventDestinations,
    PutAccountSendingAttributes,
    PutConfigurationSetSendingOptions,
    Inspection,
    Unknown,
}

/// Number of [`Op`] variants.
pub const OP_COUNT: usize = OP_NAMES.len();

/// Names of the [`Op`] variants, in order (keys of `requests` in `/_sim/stats`).
pub(crate) const OP_NAMES: [&str; 19] = [
    "SendEmail",
    "SendBulkEmail",
    "GetAccount",
    "CreateEmailTemplate",
    "GetEmailTemplate",
    "UpdateEmailTemplate",
    "DeleteEmailTemplate",
    "ListEmailTemplates",
    "TestRenderEmailTemplate",
    "CreateConfigurationSet",
    "GetConfigurationSet",
    "ListConfigurationSets",
    "DeleteConfigurationSet",
    "CreateConfigurationSetEventDestination",
    "GetConfigurationSetEventDestinations",
    "PutAccountSendingAttributes",
    "PutConfigurationSetSendingOptions",
    "Inspection",
    "Unknown",
];

impl SimState {
    /// Routes and serves one request. Never panics on any input.
    pub fn dispatch(&self, meta: &RequestMeta<'_>, body: &[u8]) -> Reply {
        let (op, reply) = self.route(meta, body);
        self.counters.requests[op as usize].fetch_add(1, AO::Relaxed);
        if reply.status >= 400 && reply.status < 500 {
            match reply.error_type {
                // Answers with their own counter.
                Some("TooManyRequestsException")
                | Some("LimitExceededException")
                | Some("MessageRejected")
                | Some("AccessDeniedException")
                | Some("SendingPausedException")
                | Some("AccountSuspendedException") => {}
                _ => {
                    self.counters.client_errors.fetch_add(1, AO::Relaxed);
                }
            }
        }
        reply
    }

    fn route(&self, meta: &RequestMeta<'_>, body: &[u8]) -> (Op, Reply) {
        let segs: Vec<String> = meta
            .path
            .trim_start_matches('/')
            .split('/')
            .map(percent_decode)
            .collect();
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let m = meta.method;
        match (m, s.as_slice()) {
            ("POST", ["v2", "email", "outbound-emails"]) => {
                self.aws(Op::SendEmail, |seq| self.send_email(meta, body, seq))
            }
            ("POST", ["v2", "email", "outbound-bulk-emails"]) => self
                .aws(Op::SendBulkEmail, |seq| {
                    self.send_bulk_email(meta, body, seq)
                }),
            ("GET", ["v2", "email", "account"]) => self.aws(Op::GetAccount, |_| self.get_account()),
            ("PUT", ["v2", "email", "account", "sending"]) => self
                .aws(Op::PutAccountSendingAttributes, |_| {
                    self.put_account_sending(body)
                }),
            ("POST", ["v2", "email", "templates"]) => {
                self.aws(Op::CreateEmailTemplate, |_| self.create_template(body))
            }
            ("GET", ["v2", "email", "templates"]) => {
                self.aws(Op::ListEmailTemplates, |_| self.list_templates(meta.query))
            }
            ("GET", ["v2", "email", "templates", name]) => {
                self.aws(Op::GetEmailTemplate, |_| self.get_template(name))
            }
            ("PUT", ["v2", "email", "templates", name]) => self
                .aws(Op::UpdateEmailTemplate, |_| {
                    self.update_template(name, body)
                }),
            ("DELETE", ["v2", "email", "templates", name]) => {
                self.aws(Op::DeleteEmailTemplate, |_| self.delete_template(name))
            }
            ("POST", ["v2", "email", "templates", name, "render"]) => self
                .aws(Op::TestRenderEmailTemplate, |_| {
                    self.test_render(name, body)
                }),
            ("POST", ["v2", "email", "configuration-sets"]) => {
                self.aws(Op::CreateConfigurationSet, |_| self.create_config_set(body))
            }
            ("POST", ["v2", "email", "list-configuration-sets"]) => self
                .aws(Op::ListConfigurationSets, |_| {
                    self.list_config_sets_body(body)
                }),
            ("GET", ["v2", "email", "configuration-sets"]) => {
                self.aws(Op::ListConfigurationSets, |_| {
                    let (size, token) = page_query(meta.query);
                    self.list_config_sets(size, token)
                })
            }
            ("GET", ["v2", "email", "configuration-sets", name]) => {
                self.aws(Op::GetConfigurationSet, |_| self.get_config_set(name))
            }
            ("DELETE", ["v2", "email", "configuration-sets", name]) => {
                self.aws(Op::DeleteConfigurationSet, |_| self.delete_config_set(name))
            }
            ("PUT", ["v2", "email", "configuration-sets", name, "sending"]) => self
                .aws(Op::PutConfigurationSetSendingOptions, |_| {
                    self.put_config_set_sending(name, body)
                }),
            (
                "POST",
                [
                    "v2",
                    "email",
                    "configuration-sets",
                    name,
                    "event-destinations",
                ],
            ) => self.aws(Op::CreateConfigurationSetEventDestination, |_| {
                self.create_destination(name, body)
            }),
            (
                "GET",
                [
                    "v2",
                    "email",
                    "configuration-sets",
                    name,
                    "event-destinations",
                ],
            ) => self.aws(Op::GetConfigurationSetEventDestinations, |_| {
                self.get_destinations(name)
            }),
            // Outside the AWS API: no latency.
            ("GET", ["_sim", "messages"]) => {
                let limit = query_param(meta.query, "limit")
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(1000);
                (
                    Op::Inspection,
                    Reply::ok(json!({ "messages": self.messages(limit) })),
                )
            }
            ("GET", ["_sim", "stats"]) => (
                Op::Inspection,
                Reply::ok(serde_json::to_value(self.stats()).unwrap_or(Value::Null)),
            ),
            ("POST", ["_sim", "reset"]) => {
                self.reset();
                (Op::Inspection, Reply::empty())
            }
            ("POST", ["_sim", "account", "sending"]) => {
                (Op::Inspection, self.sim_account_sending(body))
            }
            ("POST", ["_sim", "account", "suspension"]) => {
                (Op::Inspection, self.sim_account_suspension(body))
            }
            ("POST", ["_sim", "configuration-sets", name, "sending"]) => {
                (Op::Inspection, self.sim_config_set_sending(name, body))
            }
            _ => (
                Op::Unknown,
                Reply::error(
                    404,
                    "UnknownOperationException",
                    format!("sesload sim does not implement {m} {}", meta.path),
                ),
            ),
        }
    }

    /// An AWS operation: run it with the next call number and attach the latency model's
    /// delay for this call.
    fn aws(&self, op: Op, f: impl FnOnce(u64) -> Reply) -> (Op, Reply) {
        (op, self.with_latency(f))
    }

    /// Runs an AWS operation with the next call number and attaches the latency model's delay
    /// for this call.
    fn with_latency(&self, f: impl FnOnce(u64) -> Reply) -> Reply {
        let seq = self.seq.fetch_add(1, AO::Relaxed);
        let mut r = f(seq);
        let l = &self.config.latency;
        let base = if l.p99_ms <= l.p50_ms || l.p50_ms <= 0.0 {
            l.p50_ms
        } else {
            let sigma = (l.p99_ms / l.p50_ms).ln() / 2.326_347_874;
            l.p50_ms * (sigma * normal(self.config.faults.seed ^ LATENCY_STREAM, seq)).exp()
        };
        // Cap at 100x p99 so a freak draw cannot hang a client.
        let ms = base.clamp(0.0, (l.p99_ms * 100.0).max(0.0));
        r.delay += Duration::from_micros((ms * 1000.0) as u64);
        r
    }
}
