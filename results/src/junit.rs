//! `junit.xml`: one `<testsuite>` per run, one `<testcase>` per checker.
//! An invalid verdict is a `<failure>`; unknown is an `<error>` (a CI must
//! not count "could not tell" as a pass); a run with no checker gets one
//! erroring case so it cannot pass silently.

use crate::summary::{CheckerOutput, RunSummary, Verdict};
use std::fmt::Write;

/// Escapes text for XML content and attribute values, dropping characters
/// XML 1.0 cannot carry.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Lines of a failure or error message body at most (the rest is in
/// results.json and the report).
const DETAIL_LINES: usize = 24;

/// What went wrong, in words: the reason, the checker's summary lines and
/// the words of its report section.
pub fn checker_details(c: &CheckerOutput) -> String {
    let mut lines: Vec<String> = Vec::new();
    lines.extend(c.reason.iter().cloned());
    lines.extend(c.summary.iter().cloned());
    lines.extend(c.section.texts());
    lines.dedup();
    if lines.len() > DETAIL_LINES {
        let more = lines.len() - DETAIL_LINES;
        lines.truncate(DETAIL_LINES);
        lines.push(format!("… {more} more line(s) in results.json"));
    }
    lines.join("\n")
}

pub fn render(s: &RunSummary) -> String {
    let fails = s
        .checkers
        .iter()
        .filter(|c| c.valid == Verdict::Invalid)
        .count();
    let mut errors = s
        .checkers
        .iter()
        .filter(|c| c.valid == Verdict::Unknown)
        .count();
    let tests = s.checkers.len().max(1);
    if s.checkers.is_empty() {
        errors = 1;
    }
    let time = s.duration_s.unwrap_or(0.0);
    let e = xml_escape;
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"shakedown\" tests=\"{tests}\" failures=\"{fails}\" errors=\"{errors}\" time=\"{time:.3}\">"
    );
    let _ = write!(
        x,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{fails}\" errors=\"{errors}\" skipped=\"0\" time=\"{time:.3}\"",
        e(&s.test)
    );
    if let Some(t) = &s.start_time {
        // JUnit wants a timestamp without zone designator.
        let _ = write!(x, " timestamp=\"{}\"", e(t.trim_end_matches('Z')));
    }
    x.push_str(">\n    <properties>\n");
    let mut prop = |name: &str, value: &str| {
        let _ = writeln!(
            x,
            "      <property name=\"{}\" value=\"{}\"/>",
            e(name),
            e(value)
        );
    };
    prop("verdict", s.valid.name());
    if let Some(t) = &s.target {
        prop("target", t);
    }
    if let Some(w) = &s.workload {
        prop("workload", w);
    }
    if !s.nodes.is_empty() {
        prop("nodes", &s.nodes.join(","));
    }
    prop("ops", &s.ops.ops.to_string());
    let faults: Vec<&str> = s.faults.iter().map(|f| f.name.as_str()).collect();
    prop("faults", &faults.join(","));
    x.push_str("    </properties>\n");
    let classname = format!("shakedown.{}", s.test);
    for c in &s.checkers {
        let secs = c.elapsed_ms.unwrap_or(0.0) / 1e3;
        let _ = write!(
            x,
            "    <testcase name=\"{}\" classname=\"{}\" time=\"{secs:.3}\"",
            e(&c.name),
            e(&classname)
        );
        match c.valid {
            Verdict::Valid => x.push_str("/>\n"),
            Verdict::Invalid => {
                let _ = write!(
                    x,
                    ">\n      <failure type=\"invalid\" message=\"{} found the history invalid\">{}</failure>\n    </testcase>\n",
                    e(&c.name),
                    e(&checker_details(c))
                );
            }
            Verdict::Unknown => {
                let _ = write!(
                    x,
                    ">\n      <error type=\"unknown\" message=\"{}: {}\">{}</error>\n    </testcase>\n",
                    e(&c.name),
                    e(c.reason.as_deref().unwrap_or("the verdict is unknown")),
                    e(&checker_details(c))
                );
            }
        }
    }
    if s.checkers.is_empty() {
        let _ = writeln!(
            x,
            "    <testcase name=\"checkers\" classname=\"{}\" time=\"0\">\n      <error type=\"unknown\" message=\"no checker ran\"/>\n    </testcase>",
            e(&classname)
        );
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}
