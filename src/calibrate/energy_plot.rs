//! The energy calibration's picture: measured switching energy per inference
//! (y) against the estimator's (x) for every variant, before calibration
//! (QTools' 45 nm figures) and after (held-out k-fold predictions), on
//! log-log axes because the two can differ by orders of magnitude, with the
//! line y = x. Written by hand: no plotting dependency.
//!
//! Input: [`super::energy::EnergyReport::points`]. Output: SVG text that the
//! CLI writes beside the new calibration file.
use super::energy::EnergyPoint;
use crate::svg::{escape, Frame};
use std::fmt::Write as _;

/// Decades covering every positive value.
fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) =
        values.filter(|v| *v > 0.0 && v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let (a, b) = (lo.log10().floor(), hi.log10().ceil());
    (a, if b > a { b } else { a + 1.0 })
}

pub fn scatter_svg(points: &[EnergyPoint], title: &str) -> String {
    let (w, h, m) = (560.0, 520.0, 70.0);
    let (d0, d1) = log_range(points.iter().flat_map(|p| [p.measured_pj, p.before_pj, p.after_cv_pj]));
    let pos = |v: f64, len: f64| (v.max(10f64.powf(d0)).log10() - d0) / (d1 - d0) * len;
    let px = |v: f64| m + pos(v, w - 2.0 * m);
    let py = |v: f64| h - m - pos(v, h - 2.0 * m);
    let mut s = Frame::square_margins(w, h, m).open(title);
    let (lo, hi) = (10f64.powf(d0), 10f64.powf(d1));
    let _ = writeln!(
        s,
        r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#999" stroke-dasharray="4 3"/>"##,
        px(lo),
        py(lo),
        px(hi),
        py(hi)
    );
    let mut decade = d0;
    while decade <= d1 + 1e-9 {
        let v = 10f64.powf(decade);
        let _ = writeln!(s, r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#, px(v), h - m + 16.0, v);
        let _ = writeln!(s, r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#, m - 6.0, py(v) + 4.0, v);
        decade += 1.0;
    }
    let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="middle">estimated energy per inference (pJ)</text>"#, w / 2.0, h - 22.0);
    let _ = writeln!(
        s,
        r#"<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">measured switching energy per inference (pJ)</text>"#,
        h / 2.0,
        h / 2.0
    );
    for p in points {
        let name = escape(&p.name);
        let _ = writeln!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="none" stroke="#7f8c8d"><title>{name}: QTools default {:.1} pJ, measured {:.1} pJ</title></circle>"##,
            px(p.before_pj),
            py(p.measured_pj),
            p.before_pj,
            p.measured_pj
        );
        let _ = writeln!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="#c0392b"><title>{name}: calibrated (held out) {:.1} pJ, measured {:.1} pJ</title></circle>"##,
            px(p.after_cv_pj),
            py(p.measured_pj),
            p.after_cv_pj,
            p.measured_pj
        );
    }
    let _ = writeln!(
        s,
        r##"<circle cx="{}" cy="{}" r="4" fill="none" stroke="#7f8c8d"/><text x="{}" y="{}">QTools default (before)</text>"##,
        m + 14.0,
        m + 4.0,
        m + 24.0,
        m + 8.0
    );
    let _ = writeln!(
        s,
        r##"<circle cx="{}" cy="{}" r="4" fill="#c0392b"/><text x="{}" y="{}">calibrated, held out (after)</text>"##,
        m + 14.0,
        m + 22.0,
        m + 24.0,
        m + 26.0
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_is_drawn_twice_on_decade_axes() {
        let points: Vec<EnergyPoint> = (1..=3)
            .map(|i| EnergyPoint {
                name: format!("v{i}"),
                measured_pj: 100.0 * i as f64,
                before_pj: 3000.0 * i as f64,
                after_cv_pj: 90.0 * i as f64,
            })
            .collect();
        let svg = scatter_svg(&points, "energy");
        assert_eq!(svg.matches("<title>").count(), 6);
        assert!(svg.contains(">10<") && svg.contains(">10000<"), "decades 10..10^4 label the axes");
        assert!(svg.contains("v2: QTools default 6000.0 pJ, measured 200.0 pJ"));
    }
}
