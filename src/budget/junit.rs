//! JUnit XML for CI (GitLab and GitHub show it as test results): one
//! testsuite, one testcase per (design, quantity); an exceeded or unstated
//! quantity is a `<failure>` whose message says what was compared.
use super::{Outcome, Verdict};
use quick_xml::escape::escape;
use std::fmt::Write;

/// Render the verdicts as a JUnit XML document. `suite` names the testsuite
/// (the budget file, typically).
pub fn render(suite: &str, verdicts: &[Verdict]) -> String {
    let failures = verdicts.iter().filter(|v| !v.passed()).count();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(xml, "<testsuites name=\"qforge check\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">", verdicts.len());
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
        escape(suite),
        verdicts.len()
    );
    for v in verdicts {
        let _ = write!(xml, "    <testcase classname=\"{}\" name=\"{}\"", escape(v.design.as_str()), escape(v.quantity.as_str()));
        let kind = match v.outcome {
            Outcome::Within => {
                let _ = writeln!(xml, "/>");
                continue;
            }
            Outcome::Exceeded => "exceeded",
            Outcome::NotStated => "not stated",
        };
        let _ = writeln!(xml, ">");
        let detail = format!(
            "value: {}\nlimit: {}\nsource: {}",
            v.value.as_deref().unwrap_or("not stated"),
            v.limit,
            v.source.as_ref().map_or("-".to_string(), |p| p.display().to_string())
        );
        let _ = writeln!(
            xml,
            "      <failure message=\"{}\" type=\"{kind}\">{}</failure>",
            escape(v.message.as_str()),
            escape(detail.as_str())
        );
        let _ = writeln!(xml, "    </testcase>");
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}
