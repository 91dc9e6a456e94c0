//! The pieces every hand-written SVG plot shares (search, summary and
//! calibration plots): text escaping and the frame — canvas, white
//! background, title and the two axis lines. No plotting dependency.
use std::fmt::Write as _;

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Margins of the plotting area inside the canvas.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

impl Frame {
    /// A `width` × `height` canvas with the same margin on every side.
    pub fn square_margins(width: f64, height: f64, margin: f64) -> Frame {
        Frame { width, height, left: margin, right: margin, top: margin, bottom: margin }
    }

    /// The opening `<svg>` tag, the background, the title and the axes.
    pub fn open(&self, title: &str) -> String {
        let Frame { width: w, height: h, left, right, top, bottom } = *self;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
        let _ = writeln!(s, r#"<text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#, w / 2.0, escape(title));
        let _ = writeln!(s, r#"<line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#, h - bottom, w - right, h - bottom);
        let _ = writeln!(s, r#"<line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="black"/>"#, h - bottom);
        s
    }
}
