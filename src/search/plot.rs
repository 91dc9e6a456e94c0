//! An SVG of accuracy against estimated cost (log scale), one dot per trained
//! trial, the Pareto front drawn as a line through its points, the reference
//! marked. Written by hand: no plotting dependency.
use crate::svg::{escape, Frame};
use std::fmt::Write as _;

pub struct PlotPoint {
    pub id: usize,
    pub accuracy: f64,
    pub cost: f64,
}

pub struct Plot<'a> {
    pub title: &'a str,
    pub cost_label: &'a str,
    pub points: &'a [PlotPoint],
    /// Indices into `points` on the Pareto front (sorted by cost).
    pub front: &'a [usize],
    /// Index into `points` of the chosen (best-score) trial.
    pub best: Option<usize>,
    pub reference: Option<(f64, f64)>,
}

pub fn render(plot: &Plot) -> String {
    let (w, h) = (720.0, 480.0);
    let (left, right, top, bottom) = (80.0, 30.0, 40.0, 60.0);
    let mut costs: Vec<f64> = plot.points.iter().map(|p| p.cost).collect();
    let mut accs: Vec<f64> = plot.points.iter().map(|p| p.accuracy).collect();
    if let Some((a, c)) = plot.reference {
        costs.push(c);
        accs.push(a);
    }
    let costs: Vec<f64> = costs.into_iter().filter(|c| *c > 0.0 && c.is_finite()).collect();
    let lo_c = costs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi_c = costs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (x0, x1) = if lo_c.is_finite() { ((lo_c.log10() - 0.05).floor_to(0.1), (hi_c.log10() + 0.05)) } else { (0.0, 1.0) };
    let x1 = if x1 - x0 < 0.2 { x0 + 0.2 } else { x1 };
    let lo_a = accs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi_a = accs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (y0, y1) = if lo_a.is_finite() { (lo_a - 0.005, hi_a + 0.005) } else { (0.0, 1.0) };
    let y1 = if y1 - y0 < 0.01 { y0 + 0.01 } else { y1 };
    let px = |c: f64| left + (c.max(1e-300).log10() - x0) / (x1 - x0) * (w - left - right);
    let py = |a: f64| top + (y1 - a) / (y1 - y0) * (h - top - bottom);
    let mut s = Frame { width: w, height: h, left, right, top, bottom }.open(plot.title);
    // Ticks: decades and their 2× and 5× on x, 1 pp steps (or finer) on y.
    let mut decade = x0.floor() as i32;
    while (decade as f64) <= x1 {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powi(decade);
            let lv = v.log10();
            if lv >= x0 && lv <= x1 {
                let x = px(v);
                let _ = writeln!(s, r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{}" stroke="#e0e0e0"/>"##, h - bottom);
                let _ = writeln!(s, r#"<text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#, h - bottom + 16.0, format_number(v));
            }
        }
        decade += 1;
    }
    let span = y1 - y0;
    let step = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1].into_iter().find(|st| span / st <= 10.0).unwrap_or(0.1);
    let mut t = (y0 / step).ceil() * step;
    while t <= y1 + 1e-12 {
        let y = py(t);
        let _ = writeln!(s, r##"<line x1="{left}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#e0e0e0"/>"##, w - right);
        let _ = writeln!(s, r#"<text x="{}" y="{:.1}" text-anchor="end">{:.1}%</text>"#, left - 6.0, y + 4.0, 100.0 * t);
        t += step;
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{} (log scale)</text>"#,
        (left + w - right) / 2.0,
        h - 18.0,
        escape(plot.cost_label)
    );
    let _ = writeln!(
        s,
        r#"<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">accuracy (fixed point, test split)</text>"#,
        (top + h - bottom) / 2.0,
        (top + h - bottom) / 2.0
    );
    for p in plot.points {
        let _ = writeln!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="#7f8c9a" fill-opacity="0.7"><title>trial {}: {:.2}%, {}</title></circle>"##,
            px(p.cost),
            py(p.accuracy),
            p.id,
            100.0 * p.accuracy,
            format_number(p.cost)
        );
    }
    if !plot.front.is_empty() {
        let path: Vec<String> =
            plot.front.iter().map(|&i| format!("{:.1},{:.1}", px(plot.points[i].cost), py(plot.points[i].accuracy))).collect();
        let _ = writeln!(s, r##"<polyline points="{}" fill="none" stroke="#d62728" stroke-width="1.5"/>"##, path.join(" "));
        for &i in plot.front {
            let p = &plot.points[i];
            let _ = writeln!(
                s,
                r##"<circle cx="{:.1}" cy="{:.1}" r="5" fill="#d62728"><title>Pareto: trial {}: {:.2}%, {}</title></circle>"##,
                px(p.cost),
                py(p.accuracy),
                p.id,
                100.0 * p.accuracy,
                format_number(p.cost)
            );
        }
    }
    if let Some(b) = plot.best {
        let p = &plot.points[b];
        let _ = writeln!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="9" fill="none" stroke="#1f77b4" stroke-width="2"><title>chosen: trial {}</title></circle>"##,
            px(p.cost),
            py(p.accuracy),
            p.id
        );
    }
    if let Some((a, c)) = plot.reference {
        let (x, y) = (px(c), py(a));
        let _ = writeln!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="10" height="10" fill="#2ca02c"><title>reference: {:.2}%, {}</title></rect>"##,
            x - 5.0,
            y - 5.0,
            100.0 * a,
            format_number(c)
        );
    }
    // Legend.
    let lx = w - right - 170.0;
    let _ = writeln!(
        s,
        r##"<circle cx="{lx}" cy="{}" r="3.5" fill="#7f8c9a"/><text x="{}" y="{}">trial</text>"##,
        top + 10.0,
        lx + 10.0,
        top + 14.0
    );
    let _ = writeln!(
        s,
        r##"<circle cx="{lx}" cy="{}" r="5" fill="#d62728"/><text x="{}" y="{}">Pareto front</text>"##,
        top + 28.0,
        lx + 10.0,
        top + 32.0
    );
    let _ = writeln!(
        s,
        r##"<circle cx="{lx}" cy="{}" r="8" fill="none" stroke="#1f77b4" stroke-width="2"/><text x="{}" y="{}">chosen (best score)</text>"##,
        top + 48.0,
        lx + 10.0,
        top + 52.0
    );
    let _ = writeln!(
        s,
        r##"<rect x="{}" y="{}" width="10" height="10" fill="#2ca02c"/><text x="{}" y="{}">reference</text>"##,
        lx - 5.0,
        top + 63.0,
        lx + 10.0,
        top + 72.0
    );
    s.push_str("</svg>\n");
    s
}

trait FloorTo {
    fn floor_to(self, step: f64) -> f64;
}
impl FloorTo for f64 {
    fn floor_to(self, step: f64) -> f64 {
        (self / step).floor() * step
    }
}

fn format_number(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.3}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}
