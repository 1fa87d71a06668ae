//! `report.html`: one self-contained page per run.
//!
//! The page is static HTML for what must show at once (the verdict, the
//! run's facts, each checker's verdict, op counts and faults), written
//! here with every value escaped, plus one inline script that draws the
//! rest from the data embedded as JSON in a
//! `<script type="application/json">` element: each checker's section
//! (the blocks its result type chose: text, facts, chips, lists, tables,
//! linearizability failure pictures, transactional anomaly graphs), the zoomable
//! history timeline (canvas), the latency and throughput charts. The
//! script builds its DOM with `textContent` and attributes, never
//! `innerHTML`, so no value from a history can become markup. A
//! Content-Security-Policy meta tag forbids every network request
//! (`default-src 'none'`): the page works offline and cannot leak.

pub mod data;

use crate::summary::{CheckerOutput, RunSummary, Verdict};
use history::History;
use std::fmt::Write;

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");

/// Escapes text for HTML content and (double- or single-quoted) attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON made safe inside a `<script>` element: `<`, `>` and `&` (which
/// JSON only has inside strings) become `\u003c`, `\u003e`, `\u0026`, so
/// `</script>` or `<!--` in a value cannot end or change the element.
/// U+2028 and U+2029 are escaped too, for old parsers.
pub fn script_json(v: &serde_json::Value) -> String {
    let raw = serde_json::to_string(v).unwrap_or_else(|_| "null".into());
    let mut out = String::with_capacity(raw.len() + raw.len() / 64);
    for c in raw.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "VALID",
        Verdict::Invalid => "INVALID",
        Verdict::Unknown => "UNKNOWN",
    }
}

/// Seconds for people: `850 ms`, `12.4 s`, `3 min 05 s`, `1 h 02 min`.
pub fn human_duration(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.0} ms", secs * 1e3)
    } else if secs < 60.0 {
        format!("{secs:.1} s")
    } else if secs < 3600.0 {
        format!("{} min {:02} s", (secs / 60.0) as u64, (secs % 60.0) as u64)
    } else {
        format!(
            "{} h {:02} min",
            (secs / 3600.0) as u64,
            (secs % 3600.0 / 60.0) as u64
        )
    }
}

/// One line about what a checker found: its summary lines, then the
/// reason for its verdict, cut to fit a table cell.
pub fn checker_line(c: &CheckerOutput) -> String {
    const MAX_CHARS: usize = 240;
    let mut parts = c.summary.clone();
    parts.extend(c.reason.iter().cloned());
    let line = parts.join(" · ");
    if line.chars().count() <= MAX_CHARS {
        return line;
    }
    let cut: String = line.chars().take(MAX_CHARS).collect();
    format!("{cut}…")
}

/// The whole page.
pub fn render(summary: &RunSummary, history: &History) -> String {
    let data = data::build(summary, history);
    render_with_data(summary, &data)
}

fn render_with_data(s: &RunSummary, data: &serde_json::Value) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let v = s.valid;
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"generator\" content=\"shakedown {}\">\n<title>{} · {} · shakedown</title>\n<style>{CSS}</style>\n</head>\n",
        esc(&s.shakedown_version),
        verdict_word(v),
        esc(&s.test),
    );
    let _ = write!(
        h,
        "<body class=\"v-{}\">\n<header id=\"header\">\n",
        v.name()
    );
    let _ = write!(
        h,
        "<div class=\"head-row\"><div class=\"head-main\"><div class=\"kicker\">shakedown report</div>\
<h1 id=\"test-name\">{}</h1>\n<div class=\"meta\" id=\"run-meta\">",
        esc(&s.test)
    );
    let mut meta: Vec<String> = Vec::new();
    if let Some(t) = &s.target {
        meta.push(format!("<span><b>target</b> {}</span>", esc(t)));
    }
    if let Some(w) = &s.workload {
        meta.push(format!("<span><b>workload</b> {}</span>", esc(w)));
    }
    if !s.nodes.is_empty() {
        meta.push(format!(
            "<span><b>nodes</b> {}</span>",
            esc(&s.nodes.join(", "))
        ));
    }
    if let Some(t) = &s.start_time {
        meta.push(format!("<span><b>started</b> {}</span>", esc(t)));
    }
    if let Some(src) = &s.source {
        meta.push(format!("<span><b>history</b> {}</span>", esc(src)));
    }
    h.push_str(&meta.join(""));
    if s.interrupted {
        // A signal cut the run short: whatever the verdict, it covers
        // less than the test asked for.
        h.push_str("</div>\n<div class=\"interrupted\" id=\"interrupted\"><b>interrupted</b> by a signal: the clients stopped early, the faults were healed, recovery and final reads were skipped");
    }
    if let Some(o) = &s.online {
        // What the online checkers saw while the run went: when the first
        // anomaly was seen, relative to the faults, and an early stop.
        let _ = write!(
            h,
            "</div>\n<div class=\"online\" id=\"online\"><b>online</b> {} anomal{} in {} ops",
            o.anomaly_count,
            if o.anomaly_count == 1 { "y" } else { "ies" },
            o.ops
        );
        if let Some(first) = &o.first {
            let _ = write!(
                h,
                "; first <span id=\"online-first\">{}</span>",
                esc(&first.text)
            );
        }
        if o.anomalies.len() > 1 {
            // When each of the first few was seen.
            h.push_str("<ol id=\"online-anomalies\">");
            for a in o.anomalies.iter().take(5) {
                let at = a.time_ns.map_or(format!("op {}", a.index), |t| {
                    let s = t / 1_000_000_000;
                    format!("{:02}:{:02}", s / 60, s % 60)
                });
                let _ = write!(
                    h,
                    "<li>{} {}: {}</li>",
                    esc(&at),
                    esc(&a.checker),
                    esc(&a.what)
                );
            }
            if o.anomaly_count > 5 {
                let _ = write!(
                    h,
                    "<li>and {} more (results.json: online)</li>",
                    o.anomaly_count - 5
                );
            }
            h.push_str("</ol>");
        }
        if let Some(why) = &s.stopped_early {
            let _ = write!(
                h,
                "<div id=\"stopped-early\"><b>stopped early</b> {}</div>",
                esc(why)
            );
        }
        if !o.incomplete.is_empty() {
            let _ = write!(
                h,
                "<div id=\"online-incomplete\">{}</div>",
                esc(&o.incomplete.join("; "))
            );
        }
    }
    let _ = write!(
        h,
        "</div></div>\n<div id=\"verdict\" class=\"verdict v-{}\" data-verdict=\"{}\">{}</div></div>\n",
        v.name(),
        v.name(),
        verdict_word(v)
    );

    // Facts.
    let o = &s.ops;
    let mut fault_names: Vec<String> = Vec::new();
    for f in &s.faults {
        let n = s.faults.iter().filter(|g| g.name == f.name).count();
        let label = format!("{} ×{n}", f.name);
        if !fault_names.contains(&label) {
            fault_names.push(label);
        }
    }
    h.push_str("<div class=\"facts\" id=\"facts\">");
    let mut fact = |label: &str, value: String, id: &str| {
        let _ = write!(
            h,
            "<div class=\"fact\" id=\"{id}\"><div class=\"fact-v\">{}</div><div class=\"fact-l\">{}</div></div>",
            esc(&value),
            esc(label)
        );
    };
    fact(
        "duration",
        s.duration_s.map_or("–".into(), human_duration),
        "fact-duration",
    );
    fact("history ops", o.ops.to_string(), "fact-ops");
    fact("ok", o.ok.to_string(), "fact-ok");
    fact("fail", o.fail.to_string(), "fact-fail");
    fact("info (unknown)", o.info.to_string(), "fact-info");
    fact("processes", o.processes.to_string(), "fact-processes");
    fact(
        "faults",
        if fault_names.is_empty() {
            "none".into()
        } else {
            fault_names.join(", ")
        },
        "fact-faults",
    );
    h.push_str("</div>\n");

    // Checkers.
    h.push_str("<table class=\"checkers\" id=\"checkers\"><thead><tr><th>checker</th><th>verdict</th><th>findings</th></tr></thead><tbody>\n");
    for (i, c) in s.checkers.iter().enumerate() {
        let _ = writeln!(
            h,
            "<tr id=\"checker-{i}\"><td class=\"c-name\">{}</td><td><span class=\"pill v-{}\">{}</span></td><td class=\"c-line\">{}</td></tr>",
            esc(&c.name),
            c.valid.name(),
            c.valid.name(),
            esc(&checker_line(c))
        );
    }
    if s.checkers.is_empty() {
        h.push_str("<tr><td colspan=\"3\">No checker ran on this history: the verdict is unknown.</td></tr>\n");
    }
    h.push_str("</tbody></table>\n</header>\n");

    let _ = write!(
        h,
        "<nav id=\"nav\"><a href=\"#findings-section\" id=\"nav-findings\" hidden>Findings</a>\
<a href=\"#timeline-section\">Timeline</a><a href=\"#perf-section\">Latency &amp; throughput</a>\
<a href=\"#stats-section\">Operations</a>{}<a href=\"#faults-section\">Faults</a><a href=\"#raw-section\">Raw results</a></nav>\n<main>\n",
        if o.by_key.is_empty() {
            ""
        } else {
            "<a href=\"#keys-section\">Keys</a>"
        }
    );
    h.push_str("<section id=\"findings-section\" hidden><h2>What the checkers found</h2><div id=\"findings\"></div></section>\n");
    h.push_str(
        "<section id=\"timeline-section\"><h2>History timeline</h2>\
<div class=\"hint\">One lane per client process (a crashed process's successor takes its lane). \
Scroll to zoom, drag to pan, double-click to reset; hover for details. \
Shaded bands are faults; ops the checkers blame are outlined in red.</div>\
<div class=\"controls\" id=\"timeline-controls\"></div>\
<div id=\"timeline-wrap\"><canvas id=\"timeline\" width=\"1200\" height=\"300\"></canvas></div>\
<div class=\"legend\" id=\"timeline-legend\"></div></section>\n",
    );
    h.push_str(
        "<section id=\"perf-section\"><h2>Latency &amp; throughput</h2><div id=\"perf\"></div></section>\n",
    );

    // Stats per f.
    h.push_str("<section id=\"stats-section\"><h2>Operations per function</h2><table class=\"grid\" id=\"stats\"><thead><tr><th>f</th><th>calls</th><th>ok</th><th>fail</th><th>info</th><th>ok %</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr></thead><tbody>\n");
    let ms = |x: f64| format!("{x:.2} ms");
    for (f, st) in &o.by_f {
        let q = st.latency_ms.as_ref();
        let pct = if st.calls > 0 {
            format!("{:.1}", 100.0 * st.ok as f64 / st.calls as f64)
        } else {
            "–".into()
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"n-ok\">{}</td><td class=\"n-fail\">{}</td><td class=\"n-info\">{}</td><td>{pct}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(f),
            st.calls,
            st.ok,
            st.fail,
            st.info,
            q.map_or("–".into(), |q| ms(q.p50)),
            q.map_or("–".into(), |q| ms(q.p95)),
            q.map_or("–".into(), |q| ms(q.p99)),
            q.map_or("–".into(), |q| ms(q.max)),
        );
    }
    let _ = writeln!(
        h,
        "<tr class=\"total\"><td>all</td><td>{}</td><td class=\"n-ok\">{}</td><td class=\"n-fail\">{}</td><td class=\"n-info\">{}</td><td></td><td></td><td></td><td></td><td></td></tr>",
        o.calls, o.ok, o.fail, o.info
    );
    h.push_str("</tbody></table></section>\n");

    // Calls per key, the hottest first: how skewed the key choice was.
    if !o.by_key.is_empty() {
        const SHOWN: usize = 20;
        let _ = writeln!(
            h,
            "<section id=\"keys-section\"><h2>Operations per key</h2><div class=\"hint\">{} distinct keys{}; a transaction counts once on each key it touches; % is the share of all calls that touched the key.</div>\
<table class=\"grid\" id=\"keys\"><thead><tr><th>key</th><th>calls</th><th>ok</th><th>fail</th><th>info</th><th>% of calls</th></tr></thead><tbody>",
            o.keys,
            if o.keys > SHOWN.min(o.by_key.len()) {
                format!(", the hottest {} shown", SHOWN.min(o.by_key.len()))
            } else {
                String::new()
            }
        );
        for k in o.by_key.iter().take(SHOWN) {
            let _ = writeln!(
                h,
                "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"n-ok\">{}</td><td class=\"n-fail\">{}</td><td class=\"n-info\">{}</td><td>{:.1}</td></tr>",
                esc(&k.key),
                k.calls,
                k.ok,
                k.fail,
                k.info,
                100.0 * k.calls as f64 / o.calls.max(1) as f64
            );
        }
        h.push_str("</tbody></table></section>\n");
    }

    // Faults.
    h.push_str("<section id=\"faults-section\"><h2>Faults injected</h2>");
    if s.faults.is_empty() {
        h.push_str("<p class=\"muted\">The nemesis injected no fault in this history.</p>");
    } else {
        h.push_str("<table class=\"grid\" id=\"faults\"><thead><tr><th>fault</th><th>from</th><th>to</th><th>length</th><th>detail</th></tr></thead><tbody>\n");
        for f in &s.faults {
            let at = |i: Option<u64>, t: Option<u64>| match (i, t) {
                (Some(i), Some(t)) => format!("{} (#{i})", human_duration(t as f64 / 1e9)),
                (Some(i), None) => format!("#{i}"),
                _ => "end of history".into(),
            };
            let len = match (f.start_time_ns, f.end_time_ns) {
                (Some(a), Some(b)) => human_duration(b.saturating_sub(a) as f64 / 1e9),
                _ => "–".into(),
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
                esc(&f.name),
                esc(&format!(
                    "{} @ {}",
                    f.start_f,
                    at(Some(f.start_index), f.start_time_ns)
                )),
                esc(&match &f.stop_f {
                    Some(sf) => format!("{sf} @ {}", at(f.end_index, f.end_time_ns)),
                    None => "end of history".into(),
                }),
                esc(&len),
                esc(&f.value)
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</section>\n");
    h.push_str("<section id=\"raw-section\"><h2>Raw checker results</h2><div id=\"raw\"></div></section>\n");
    h.push_str("</main>\n<div id=\"js-errors\" hidden></div>\n");
    // The script takes the SVG namespace from this element, so the page
    // holds no URL at all.
    h.push_str("<svg id=\"svg-ns\" width=\"0\" height=\"0\" aria-hidden=\"true\"></svg>\n");
    let _ = writeln!(
        h,
        "<footer>shakedown {} · results.json holds everything on this page · <span id=\"render-time\">not drawn (scripts off?)</span></footer>",
        esc(&s.shakedown_version)
    );
    h.push_str("<script type=\"application/json\" id=\"report-data\">");
    h.push_str(&script_json(data));
    h.push_str("</script>\n<script>");
    h.push_str(JS);
    h.push_str("</script>\n</body>\n</html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let v = serde_json::json!({"v": "</script><script>alert(1)</script>&<!--"});
        let s = script_json(&v);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    /// An interrupted run says so under its name; a complete one does not.
    #[test]
    fn an_interrupted_run_says_so() {
        let info = crate::summary::RunInfo {
            test: "t".into(),
            interrupted: true,
            ..Default::default()
        };
        let history = History::default();
        let mut s = RunSummary::new(&info, &history, Vec::new());
        let page = render(&s, &history);
        assert!(page.contains("id=\"interrupted\"><b>interrupted</b> by a signal"));
        s.interrupted = false;
        assert!(!render(&s, &history).contains("id=\"interrupted\""));
    }

    /// The online checkers' first anomaly and an early stop are under the
    /// run's name.
    #[test]
    fn the_first_online_anomaly_and_an_early_stop_are_shown() {
        use checkers::online::{Anomaly, OnlineSummary};
        let history = History::indexed([
            history::Op::new(
                history::OpType::Info,
                history::Process::nemesis(),
                "start-partition",
                history::Value::Map(vec![
                    ("n1".into(), vec!["n2", "n3"].into()),
                    ("n2".into(), vec!["n1"].into()),
                    ("n3".into(), vec!["n1"].into()),
                ]),
            )
            .with_time(19_000_000_000),
            history::Op::invoke(0, "read", history::Value::Nil).with_time(23_000_000_000),
            history::Op::ok(0, "read", 3).with_time(23_500_000_000),
        ])
        .unwrap();
        let info = crate::summary::RunInfo {
            test: "t".into(),
            online: Some(OnlineSummary {
                checkers: vec!["linearizable".into()],
                ops: 3,
                anomaly_count: 2,
                anomalies: vec![
                    Anomaly {
                        checker: "linearizable".into(),
                        index: 2,
                        time_ns: Some(23_500_000_000),
                        seen_at_index: 2,
                        what: "read 3 cannot be linearized".into(),
                    };
                    2
                ],
                stopped_early: Some("stop-on: invalid".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let s = RunSummary::new(&info, &history, Vec::new());
        let first = s.online.as_ref().unwrap().first.as_ref().unwrap();
        assert_eq!(
            first.text,
            "found at 00:23, 4 s after partition n1 x {n2 n3} began (linearizable: read 3 cannot be linearized)"
        );
        assert_eq!(s.stopped_early.as_deref(), Some("stop-on: invalid"));
        let page = render(&s, &history);
        assert!(
            page.contains("id=\"online-first\">found at 00:23, 4 s after partition"),
            "{page}"
        );
        assert!(page.contains("id=\"stopped-early\"><b>stopped early</b> stop-on: invalid"));
        assert!(
            page.contains("<li>00:23 linearizable: read 3 cannot be linearized</li>"),
            "{page}"
        );
    }

    #[test]
    fn esc_escapes_markup() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }

    /// The hottest keys are listed, hottest first, with their share.
    #[test]
    fn the_operations_per_key_table_lists_the_hottest_keys() {
        let mut ops = Vec::new();
        for (key, n) in [(0i64, 6usize), (1, 3), (2, 1)] {
            for _ in 0..n {
                ops.push(history::Op::invoke(0, "read", history::Value::Nil).with_key(key));
                ops.push(history::Op::ok(0, "read", 1).with_key(key));
            }
        }
        let history = History::indexed(ops).unwrap();
        let s = RunSummary::new(&Default::default(), &history, Vec::new());
        let page = render(&s, &history);
        let table = &page[page.find("id=\"keys\"").unwrap()..];
        let row = |k: &str| table.find(&format!("<td class=\"mono\">{k}</td>")).unwrap();
        assert!(row("0") < row("1") && row("1") < row("2"));
        assert!(table.contains("<td class=\"mono\">0</td><td>6</td><td class=\"n-ok\">6</td><td class=\"n-fail\">0</td><td class=\"n-info\">0</td><td>60.0</td>"));
        assert!(page.contains("3 distinct keys;"));
        assert!(page.contains("href=\"#keys-section\""));
        let empty = History::default();
        let s = RunSummary::new(&Default::default(), &empty, Vec::new());
        let page = render(&s, &empty);
        assert!(!page.contains("keys-section"));
    }
}
