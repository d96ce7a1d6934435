//! The report as one HTML page with inline SVG charts.

use super::*;

impl Report {
    /// The HTML page (self-contained: inline CSS and SVG, no script).
    pub fn html(&self) -> String {
        let r = &self.reconciliation;
        let mut s = String::new();
        let _ = write!(
            s,
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>sesload report: {c}</title><style>\
body{{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}}\
h1{{margin-bottom:4px}} .verdict{{font-size:20px;font-weight:bold;padding:8px 12px;display:inline-block;border-radius:4px}}\
.pass{{background:#d4efdf;color:#145a32}} .fail{{background:#fadbd8;color:#78281f}}\
table{{border-collapse:collapse;margin:8px 0 20px}} td,th{{border:1px solid #ddd;padding:3px 8px;font-size:13px}}\
th{{background:#f4f6f7;text-align:left}} td.num{{text-align:right;font-variant-numeric:tabular-nums}}\
.charts{{display:flex;flex-wrap:wrap;gap:16px}} figure{{margin:0}} figcaption{{font-weight:bold;margin:6px 0}}\
</style></head><body><h1>Load-test report: {c}</h1>",
            c = esc(&self.campaign)
        );
        let _ = write!(
            s,
            "<p id=\"verdict\" class=\"verdict {}\">{}</p>",
            if r.ok() { "pass" } else { "fail" },
            if r.ok() {
                "PASS: nothing lost, nothing sent twice".to_owned()
            } else {
                esc(&format!("FAIL: {}", r.problems.join("; ")))
            }
        );
        let _ = write!(
            s,
            "<p id=\"source\">Events read: <code>dt</code> {} ({}).</p>",
            esc(&self.range.to_string()),
            esc(&self.source)
        );
        if let Some(note) = self.range_note() {
            let _ = write!(s, "<p><em>Note: {}</em></p>", esc(&note));
        }
        if self.counters.is_none() {
            s.push_str("<p><em>No local-stack counters were available: accepted, DLQ and queued are unknown, so losses cannot be checked.</em></p>");
        }
        s.push_str("<h2>Reconciliation</h2><table id=\"reconciliation\">");
        let rows: Vec<(&str, String)> = vec![
            ("accepted", opt_u(r.accepted)),
            (
                "sent (distinct requests with an SES message id)",
                r.sent.to_string(),
            ),
            ("in DLQ", opt_u(r.dlq)),
            ("still queued", opt_u(r.queued)),
            (
                "duplicates acknowledged without sending",
                opt_u(r.duplicates_skipped),
            ),
            (
                "cancelled (acknowledged without sending)",
                opt_u(r.cancelled),
            ),
            ("lost", opt_u(r.lost)),
            (
                "duplicates (unique_codes sent twice)",
                r.duplicates.to_string(),
            ),
            (
                "extra emails from duplicates",
                r.duplicate_sends.to_string(),
            ),
            (
                "duplicate Send events (event level)",
                r.duplicate_send_events.to_string(),
            ),
            ("delivered", r.delivered.to_string()),
            ("bounced", r.bounced.to_string()),
            ("complained", r.complained.to_string()),
            ("rendering failures", r.rendering_failed.to_string()),
            ("rejected", r.rejected.to_string()),
            ("delayed", r.delayed.to_string()),
            ("no outcome yet", r.pending.to_string()),
            ("invocation timeouts", opt_u(r.invocation_timeouts)),
            ("achieved send rate", opt_f(r.achieved_send_rate, " /s")),
            ("SES MaxSendRate", opt_f(r.max_send_rate, " /s")),
            (
                "utilisation",
                r.utilisation
                    .map(|u| format!("{:.1} %", u * 100.0))
                    .unwrap_or_else(|| "n/a".into()),
            ),
            (
                "SES call latency p50 / p99",
                format!(
                    "{} / {}",
                    opt_f(r.ses_send_p50_ms, " ms"),
                    opt_f(r.ses_send_p99_ms, " ms")
                ),
            ),
            (
                "delivery latency p50 / p99",
                format!(
                    "{} / {}",
                    opt_f(r.delivery_p50_ms, " ms"),
                    opt_f(r.delivery_p99_ms, " ms")
                ),
            ),
        ];
        for (k, v) in rows {
            let _ = write!(
                s,
                "<tr><th>{}</th><td class=\"num\">{}</td></tr>",
                esc(k),
                esc(&v)
            );
        }
        for (reason, n) in &r.dlq_by_reason {
            let _ = write!(
                s,
                "<tr><th>DLQ: {}</th><td class=\"num\">{n}</td></tr>",
                esc(reason)
            );
        }
        s.push_str("</table><h2>Charts</h2><div class=\"charts\">");
        s.push_str(&self.timeline_chart());
        s.push_str(&self.latency_chart());
        s.push_str(&self.outcome_chart());
        s.push_str("</div>");
        for (title, id, rs, limit) in [
            ("Campaign summary (01)", "q01", &self.summary, 10),
            ("Latency percentiles (04)", "q04", &self.latency, 10),
            ("Throughput segments (07)", "q07", &self.segments, 10),
            ("Duplicates (02)", "q02", &self.duplicates, 50),
            ("Bounces and complaints (05)", "q05", &self.bounces, 50),
        ] {
            let _ = write!(s, "<h2>{}</h2>", esc(title));
            s.push_str(&html_table(id, rs, limit));
        }
        s.push_str("</body></html>\n");
        s
    }

    fn timeline_chart(&self) -> String {
        let t = &self.timeline;
        let mut sends = BTreeMap::new();
        let mut deliveries = BTreeMap::new();
        let mut last = 0i64;
        for i in 0..t.rows.len() {
            let x = t.get(i, "offset_second").as_i64().unwrap_or(0);
            last = last.max(x);
            sends.insert(x, t.u64(i, "sends") as f64);
            deliveries.insert(x, t.u64(i, "deliveries") as f64);
        }
        // Seconds without a row had no event: draw them as 0.
        let fill = |m: &BTreeMap<i64, f64>| -> Vec<(f64, f64)> {
            if m.is_empty() {
                return Vec::new();
            }
            (0..=last)
                .map(|x| (x as f64, *m.get(&x).unwrap_or(&0.0)))
                .collect()
        };
        let quota = self
            .reconciliation
            .max_send_rate
            .map(|q| (q, format!("quota {q}/s")));
        line_chart(
            "timeline",
            "Sends and deliveries per second",
            "seconds since the first event",
            "emails / s",
            &[
                Series {
                    name: "sends",
                    color: "#2e86c1",
                    points: fill(&sends),
                },
                Series {
                    name: "deliveries",
                    color: "#27ae60",
                    points: fill(&deliveries),
                },
            ],
            quota.as_ref().map(|(q, l)| (*q, l.as_str())),
        )
    }

    fn latency_chart(&self) -> String {
        let h = &self.histogram;
        let bars: Vec<(String, f64)> = (0..h.rows.len())
            .map(|i| {
                (
                    format!(
                        "{}-{}",
                        cell(h.get(i, "lower_ms")),
                        cell(h.get(i, "upper_ms"))
                    ),
                    h.u64(i, "deliveries") as f64,
                )
            })
            .collect();
        bar_chart(
            "latency",
            "Delivery latency (processingTimeMillis) distribution",
            "milliseconds",
            "deliveries",
            &bars,
        )
    }

    fn outcome_chart(&self) -> String {
        let r = &self.reconciliation;
        let mut bars: Vec<(String, f64, &str)> = vec![
            ("delivered".into(), r.delivered as f64, "#27ae60"),
            ("bounced".into(), r.bounced as f64, "#e67e22"),
            ("complained".into(), r.complained as f64, "#8e44ad"),
            (
                "rendering failure".into(),
                r.rendering_failed as f64,
                "#c0392b",
            ),
            ("rejected".into(), r.rejected as f64, "#7f8c8d"),
            ("delayed".into(), r.delayed as f64, "#f1c40f"),
            ("no outcome yet".into(), r.pending as f64, "#bdc3c7"),
        ];
        for (reason, n) in &r.dlq_by_reason {
            bars.push((format!("DLQ: {reason}"), *n as f64, "#922b21"));
        }
        if let Some(q) = r.queued {
            bars.push(("still queued".into(), q as f64, "#5d6d7e"));
        }
        if let Some(n) = r.cancelled.filter(|n| *n > 0) {
            bars.push(("cancelled".into(), n as f64, "#a569bd"));
        }
        if let Some(l) = r.lost {
            bars.push(("lost".into(), l as f64, "#000000"));
        }
        bars.push(("duplicates".into(), r.duplicates as f64, "#ff0000"));
        hbar_chart("outcomes", "Outcome of every request", &bars)
    }
}

fn html_table(id: &str, rs: &ResultSet, limit: usize) -> String {
    let mut s = format!("<table id=\"{}\"><tr>", esc(id));
    for c in &rs.columns {
        let _ = write!(s, "<th>{}</th>", esc(c));
    }
    s.push_str("</tr>");
    for row in rs.rows.iter().take(limit) {
        s.push_str("<tr>");
        for v in row {
            let class = if v.is_number() { " class=\"num\"" } else { "" };
            let _ = write!(s, "<td{class}>{}</td>", esc(&cell(v)));
        }
        s.push_str("</tr>");
    }
    if rs.rows.is_empty() {
        let _ = write!(
            s,
            "<tr><td colspan=\"{}\"><em>no rows</em></td></tr>",
            rs.columns.len().max(1)
        );
    }
    s.push_str("</table>");
    if rs.rows.len() > limit {
        let _ = write!(
            s,
            "<p>{} more rows: run the query with <code>sesload query</code>.</p>",
            rs.rows.len() - limit
        );
    }
    s
}
