//! Inline SVG charts (no JavaScript, no CDN): a line chart with an optional horizontal reference
//! line, a vertical bar chart and a horizontal bar chart. Every chart carries `data-chart` and
//! `data-points` attributes so a browser test can check that it has data.

use std::fmt::Write;

pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const W: f64 = 760.0;
const H: f64 = 300.0;
const L: f64 = 56.0; // left margin
const R: f64 = 16.0;
const T: f64 = 24.0;
const B: f64 = 44.0;

/// A "nice" upper bound and tick step for an axis from 0 to `max`.
fn nice(max: f64) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    ((max / step).ceil() * step, step)
}

fn fmt_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

fn frame(id: &str, title: &str, points: usize, body: &str) -> String {
    frame_of_height(id, title, points, H, body)
}

/// The figure around a chart `h` pixels high (`data-points`: how many values it draws).
fn frame_of_height(id: &str, title: &str, points: usize, h: f64, body: &str) -> String {
    format!(
        "<figure class=\"chart\"><figcaption>{}</figcaption>\
<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {h}\" width=\"{W}\" height=\"{h}\" role=\"img\" \
aria-label=\"{}\" data-chart=\"{}\" data-points=\"{points}\">{body}</svg></figure>",
        esc(title),
        esc(title),
        esc(id)
    )
}

fn axes(s: &mut String, ymax: f64, ystep: f64, x_label: &str, y_label: &str) {
    let ph = H - T - B;
    let mut v = 0.0;
    while v <= ymax + ystep / 2.0 {
        let y = T + ph - v / ymax * ph;
        let _ = write!(
            s,
            "<line x1=\"{L}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e3e3e3\"/>\
<text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">{}</text>",
            W - R,
            L - 6.0,
            y + 4.0,
            fmt_num(v)
        );
        v += ystep;
    }
    let _ = write!(
        s,
        "<line x1=\"{L}\" x2=\"{L}\" y1=\"{T}\" y2=\"{}\" stroke=\"#333\"/>\
<line x1=\"{L}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#333\"/>\
<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#333\">{}</text>\
<text x=\"14\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#333\" transform=\"rotate(-90 14 {})\">{}</text>",
        H - B,
        W - R,
        H - B,
        H - B,
        L + (W - L - R) / 2.0,
        H - 8.0,
        esc(x_label),
        T + (H - T - B) / 2.0,
        T + (H - T - B) / 2.0,
        esc(y_label)
    );
}

/// One line series.
pub struct Series<'a> {
    pub name: &'a str,
    pub color: &'a str,
    pub points: Vec<(f64, f64)>,
}

/// Line chart; `reference` draws a dashed horizontal line (e.g. the quota).
pub fn line_chart(
    id: &str,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series<'_>],
    reference: Option<(f64, &str)>,
) -> String {
    let n: usize = series.iter().map(|s| s.points.len()).sum();
    let xmax = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(0.0, f64::max)
        .max(1.0);
    let ymax_data = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let (ymax, ystep) = nice(ymax_data.max(reference.map(|r| r.0 * 1.1).unwrap_or(0.0)));
    let pw = W - L - R;
    let ph = H - T - B;
    let sx = |x: f64| L + x / xmax * pw;
    let sy = |y: f64| T + ph - y / ymax * ph;
    let mut s = String::new();
    axes(&mut s, ymax, ystep, x_label, y_label);
    let (_, xstep) = nice(xmax);
    let mut x = 0.0;
    while x <= xmax + 1e-9 {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
            sx(x),
            H - B + 16.0,
            fmt_num(x)
        );
        x += xstep;
    }
    if let Some((v, label)) = reference {
        let _ = write!(
            s,
            "<line class=\"reference\" x1=\"{L}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#c0392b\" stroke-dasharray=\"6 4\" stroke-width=\"1.5\"/>\
<text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#c0392b\">{}</text>",
            W - R,
            W - R - 4.0,
            sy(v) - 5.0,
            esc(label),
            y = sy(v)
        );
    }
    for (i, se) in series.iter().enumerate() {
        let pts: Vec<String> = se
            .points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
            .collect();
        let _ = write!(
            s,
            "<polyline class=\"series\" data-series=\"{}\" data-points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\" points=\"{}\"/>\
<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"3\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#333\">{}</text>",
            esc(se.name),
            se.points.len(),
            esc(se.color),
            pts.join(" "),
            L + 10.0 + i as f64 * 120.0,
            T - 12.0,
            esc(se.color),
            L + 26.0 + i as f64 * 120.0,
            T - 8.0,
            esc(se.name)
        );
    }
    frame(id, title, n, &s)
}

/// Vertical bars with a label under each.
pub fn bar_chart(
    id: &str,
    title: &str,
    x_label: &str,
    y_label: &str,
    bars: &[(String, f64)],
) -> String {
    let (ymax, ystep) = nice(bars.iter().map(|b| b.1).fold(0.0, f64::max));
    let pw = W - L - R;
    let ph = H - T - B;
    let mut s = String::new();
    axes(&mut s, ymax, ystep, x_label, y_label);
    let slot = pw / bars.len().max(1) as f64;
    for (i, (label, v)) in bars.iter().enumerate() {
        let h = v / ymax * ph;
        let x = L + i as f64 * slot + slot * 0.1;
        let _ = write!(
            s,
            "<rect class=\"bar\" data-value=\"{v}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#2e86c1\"><title>{}: {}</title></rect>\
<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
            T + ph - h,
            slot * 0.8,
            esc(label),
            fmt_num(*v),
            x + slot * 0.4,
            H - B + 14.0,
            esc(label)
        );
    }
    frame(id, title, bars.len(), &s)
}

/// Horizontal bars (label, value, colour), each with its value printed.
pub fn hbar_chart(id: &str, title: &str, bars: &[(String, f64, &str)]) -> String {
    let row = 26.0;
    let h = T + row * bars.len().max(1) as f64 + 10.0;
    let max = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1.0);
    let left = 190.0;
    let pw = W - left - 80.0;
    let mut s = String::new();
    for (i, (label, v, color)) in bars.iter().enumerate() {
        let y = T + i as f64 * row;
        let w = (v / max * pw).max(if *v > 0.0 { 1.0 } else { 0.0 });
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#333\">{}</text>\
<rect class=\"bar\" data-value=\"{v}\" x=\"{left}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\"/>\
<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#333\">{}</text>",
            left - 8.0,
            y + 15.0,
            esc(label),
            row - 8.0,
            esc(color),
            left + w + 6.0,
            y + 15.0,
            fmt_num(*v)
        );
    }
    let points = bars.iter().filter(|b| b.1 > 0.0).count();
    frame_of_height(id, title, points, h, &s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_axis() {
        assert_eq!(nice(14.0), (15.0, 5.0));
        assert_eq!(nice(12.0), (12.5, 2.5));
        assert_eq!(nice(0.0), (1.0, 0.2));
        assert_eq!(nice(100.0), (100.0, 20.0));
    }

    #[test]
    fn escapes_labels() {
        let svg = bar_chart("x", "<t>", "a", "b", &[("<b>".into(), 2.0)]);
        assert!(!svg.contains("<b>") && svg.contains("&lt;b&gt;"));
        assert!(svg.contains("data-points=\"1\""));
    }
}
