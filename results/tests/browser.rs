//! The report in a real browser: headless Chromium (Debian's `chromium`
//! package) renders the report of a valid run, an invalid
//! linearizability run and an invalid transactional run. Each test checks
//! that the key elements are drawn, that the script ran to the end with
//! no error and nothing on the console, that no network request was made
//! (statically: no URL or resource reference in the page; dynamically:
//! Chromium's net log holds no http(s) request, with a proxy and DNS
//! pointing nowhere), and that the markup value `<script>alert(1)</script>`
//! shows as text. Screenshots go to `target/test-artifacts/`.
//!
//! Skipped, with a message, only when no Chromium is installed; set
//! `SHAKEDOWN_REQUIRE_BROWSER=1` (CI) to make a missing browser a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SHAKEDOWN_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in [
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn browser_or_skip(test: &str) -> Option<PathBuf> {
    match chromium() {
        Some(p) => Some(p),
        None if std::env::var("SHAKEDOWN_REQUIRE_BROWSER").is_ok_and(|v| v == "1") => {
            panic!("{test}: chromium is not installed and SHAKEDOWN_REQUIRE_BROWSER=1 (apt-get install chromium)")
        }
        None => {
            eprintln!(
                "SKIPPED {test}: chromium is not installed (apt-get install chromium fonts-dejavu-core to run the browser tests)"
            );
            None
        }
    }
}

pub fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Rendered {
    dom: String,
    stderr: String,
    netlog: String,
}

/// Runs headless Chromium on a file with the network pointed nowhere.
fn chrome(browser: &Path, page: &Path, extra: &[String]) -> Rendered {
    let profile = tempfile::tempdir().unwrap();
    let netlog = profile.path().join("netlog.json");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--hide-scrollbars",
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--log-net-log={}", netlog.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    Rendered {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        netlog: std::fs::read_to_string(&netlog).unwrap_or_default(),
    }
}

/// No URL and no resource reference anywhere in the page's markup.
fn assert_offline_markup(html: &str) {
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "a URL in the report"
    );
    for (at, _) in html.match_indices("url(") {
        let target = html[at + 4..].trim_start_matches(['"', '\'']);
        assert!(
            target.starts_with('#'),
            "a url() that is not an in-page fragment: {:?}",
            &html[at..(at + 40).min(html.len())]
        );
    }
    assert!(!html.contains("@import"), "a CSS @import in the report");
    assert!(
        html.contains("default-src 'none'"),
        "the Content-Security-Policy that forbids requests"
    );
    // Every tag's src/href/action attribute: only in-page fragments.
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        let tag_end = rest[open..].find('>').map_or(rest.len(), |e| open + e);
        let tag = &rest[open..tag_end];
        for attr in [
            " src=", " href=", " action=", " srcset=", " poster=", " data=",
        ] {
            if let Some(at) = tag.find(attr) {
                let value = tag[at + attr.len()..].trim_start_matches(['"', '\'']);
                assert!(value.starts_with('#'), "resource reference in {tag:?}");
            }
        }
        // Skip script contents (the data JSON holds no '<' at all).
        rest = &rest[tag_end.min(rest.len())..];
        if tag.starts_with("<script") {
            match rest.find("</script>") {
                Some(e) => rest = &rest[e + 1..],
                None => break,
            }
        }
    }
}

/// URLs the page itself asked for, from Chromium's net log. Chromium's
/// own background requests (update checks, accounts) carry the initiator
/// "not an origin"; a page's requests carry the page's origin (`null`
/// for a file).
fn page_requests(netlog: &str) -> Vec<String> {
    let Ok(log) = serde_json::from_str::<serde_json::Value>(netlog) else {
        // A net log cut short (browser killed): read what is there.
        return if netlog.contains("\"initiator\":\"null\"") {
            vec!["unparsable net log with page-initiated entries".into()]
        } else {
            Vec::new()
        };
    };
    let Some(start_job) = log
        .pointer("/constants/logEventTypes/URL_REQUEST_START_JOB")
        .and_then(|v| v.as_u64())
    else {
        return vec!["net log without event types".into()];
    };
    log["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter_map(|e| {
            let url = e.pointer("/params/url")?.as_str()?;
            let initiator = e
                .pointer("/params/initiator")
                .and_then(|i| i.as_str())
                .unwrap_or("");
            let local =
                url.starts_with("file:") || url.starts_with("data:") || url.starts_with("blob:");
            (!local && initiator != "not an origin").then(|| url.to_string())
        })
        .collect()
}

fn check_render(name: &str, dir: &Path, must: &[&str]) -> String {
    let Some(browser) = browser_or_skip(name) else {
        return String::new();
    };
    let page = dir.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert_offline_markup(&html);
    assert!(
        !html.contains(common::XSS),
        "the markup value appears unescaped in report.html"
    );

    let r = chrome(&browser, &page, &["--dump-dom".into()]);
    let dom = r.dom;
    assert!(
        dom.contains("data-render-ms="),
        "{name}: the script did not finish drawing; stderr:\n{}",
        r.stderr
    );
    assert!(
        dom.contains("<div id=\"js-errors\" hidden=\"\"></div>"),
        "{name}: the script reported an error:\n{}",
        dom.split("id=\"js-errors\"")
            .nth(1)
            .unwrap_or("")
            .chars()
            .take(2000)
            .collect::<String>()
    );
    for line in r.stderr.lines() {
        assert!(
            !line.contains("CONSOLE") && !line.contains("Uncaught") && !line.contains("Refused to"),
            "{name}: console output: {line}"
        );
    }
    for id in must {
        assert!(dom.contains(id), "{name}: {id} is not in the rendered page");
    }
    // The timeline canvas was sized by the script (drawn), not left at its default.
    assert!(dom.contains("id=\"timeline\""), "{name}: no timeline");
    // No network: the net log shows no request made by the page.
    let requests = page_requests(&r.netlog);
    assert!(
        requests.is_empty(),
        "{name}: the page made requests: {requests:?}"
    );

    // Screenshots: the first screen and a tall one of the whole page.
    let arts = artifacts();
    for (suffix, size) in [("", "1400,1000"), ("-full", "1400,3200")] {
        let png = arts.join(format!("report-{name}{suffix}.png"));
        let _ = std::fs::remove_file(&png);
        chrome(
            &browser,
            &page,
            &[
                format!("--screenshot={}", png.display()),
                format!("--window-size={size}"),
            ],
        );
        let len = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
        assert!(
            len > 10_000,
            "{name}: screenshot {} missing or blank",
            png.display()
        );
    }
    std::fs::copy(&page, arts.join(format!("report-{name}.html"))).unwrap();
    dom
}

#[test]
fn valid_run_renders_offline_without_errors() {
    let tmp = tempfile::tempdir().unwrap();
    common::valid_run(tmp.path());
    let dom = check_render(
        "valid",
        tmp.path(),
        &[
            "data-verdict=\"valid\"",
            "id=\"latency-scatter\"",
            "id=\"latency-quantiles\"",
            "id=\"throughput\"",
            "id=\"faults\"",
            "id=\"stats\"",
            "partition ×1, kill ×1, pause ×1, clock ×1",
        ],
    );
    if dom.is_empty() {
        return;
    }
    // A fault's value holds the markup: shown as text, never as an element.
    assert!(dom.contains("majority &lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!dom.contains(common::XSS));
    assert!(
        !dom.contains("lin-failure-0"),
        "a valid run shows no failure"
    );
}

#[test]
fn invalid_linearizability_run_shows_the_failure() {
    let tmp = tempfile::tempdir().unwrap();
    common::invalid_lin_run(tmp.path());
    let dom = check_render(
        "invalid-lin",
        tmp.path(),
        &[
            "data-verdict=\"invalid\"",
            "id=\"lin-failure-0\"",
            "class=\"lin-svg\"",
            "lin-blocked-label",
            "lin-call lin-step",
            "Longest linearizable prefix",
            "cannot be linearized",
            "id=\"next-anomaly\"",
        ],
    );
    if dom.is_empty() {
        return;
    }
    // The planted read returned `<script>alert(1)</script>`: text everywhere.
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!dom.contains(common::XSS));
}

#[test]
fn invalid_transactional_run_shows_the_cycle() {
    let tmp = tempfile::tempdir().unwrap();
    common::invalid_txn_run(tmp.path());
    check_render(
        "invalid-txn",
        tmp.path(),
        &[
            "data-verdict=\"invalid\"",
            "id=\"txn-anomaly-0\"",
            "class=\"cycle-svg\"",
            "G-single",
            "chips chips-ruled-out",
            "serializable",
            "id=\"perf-none\"",
            "Checked for serializable: ruled out.",
        ],
    );
}

/// An invalid transactional run with anomalies of several kinds, the
/// earliest (an internal read at the start) found last by the analysis:
/// the report names the model checked and shows the earliest anomaly
/// first (issue 27's screenshot check: `report-txn-earliest*.png`).
#[test]
fn invalid_transactional_report_names_the_model_and_shows_the_earliest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let edn = "\
{:index 0 :type :invoke :process 0 :f :txn :value [[:append :z 1] [:r :z nil]]}
{:index 1 :type :ok :process 0 :f :txn :value [[:append :z 1] [:r :z []]]}
{:index 2 :type :invoke :process 1 :f :txn :value [[:append :x 1] [:append :y 1]]}
{:index 3 :type :invoke :process 2 :f :txn :value [[:r :x nil] [:r :y nil]]}
{:index 4 :type :ok :process 1 :f :txn :value [[:append :x 1] [:append :y 1]]}
{:index 5 :type :ok :process 2 :f :txn :value [[:r :x []] [:r :y [1]]]}
";
    let path = tmp.path().join("h.edn");
    std::fs::write(&path, edn).unwrap();
    let h = history::read_file(&path, None).unwrap();
    let r = checkers::txn::check(&h, &checkers::txn::Options::default());
    let kinds: Vec<&str> = r.anomalies.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, vec!["internal", "G-single"], "{:#?}", r.anomalies);
    let c = results::CheckerOutput::txn("elle list-append", &r);
    let i = results::RunInfo {
        test: "txn-earliest".into(),
        workload: Some("list-append".into()),
        ..results::RunInfo::default()
    };
    let dir = tmp.path().join("run");
    results::write_run(&dir, &i, &h, vec![c]).unwrap();
    let dom = check_render(
        "txn-earliest",
        &dir,
        &[
            "data-verdict=\"invalid\"",
            "Checked for serializable: ruled out.",
            "id=\"txn-anomaly-0\"",
            "id=\"txn-anomaly-1\"",
        ],
    );
    if dom.is_empty() {
        return;
    }
    let first = dom.split("id=\"txn-anomaly-0\"").nth(1).unwrap();
    let first = first.split("id=\"txn-anomaly-1\"").next().unwrap();
    assert!(first.contains("internal"), "{first}");
    assert!(!first.contains("G-single"), "{first}");
    // The model checked comes before the anomalies.
    let checked = dom.find("Checked for serializable").unwrap();
    assert!(checked < dom.find("id=\"txn-anomaly-0\"").unwrap());
}

/// A cycle of 16 txns: drawn as a chain, one txn under the other, at its
/// natural size (its 12px labels not scaled down into the column, as a
/// circle of 16 was), every edge labelled with its key and value.
#[test]
fn a_long_cycle_is_drawn_as_a_chain_with_readable_labels() {
    let tmp = tempfile::tempdir().unwrap();
    // T_i appends to k_i and reads k_{i+1} empty: T_i rw-> T_{i+1}, a ring.
    let n = 16;
    let mut edn = String::new();
    let mut index = 0;
    let mut op = |edn: &mut String, ty: &str, p: usize, value: String| {
        edn.push_str(&format!(
            "{{:index {index} :type :{ty} :process {p} :f :txn :value {value}}}\n"
        ));
        index += 1;
    };
    for i in 0..n {
        op(
            &mut edn,
            "invoke",
            i,
            format!("[[:append :k{i} {i}] [:r :k{} nil]]", (i + 1) % n),
        );
    }
    for i in 0..n {
        op(
            &mut edn,
            "ok",
            i,
            format!("[[:append :k{i} {i}] [:r :k{} []]]", (i + 1) % n),
        );
    }
    for i in 0..n {
        op(&mut edn, "invoke", 99, format!("[[:r :k{i} nil]]"));
        op(&mut edn, "ok", 99, format!("[[:r :k{i} [{i}]]]"));
    }
    let path = tmp.path().join("ring.edn");
    std::fs::write(&path, edn).unwrap();
    let h = history::read_file(&path, None).unwrap();
    let r = checkers::txn::check(&h, &checkers::txn::Options::default());
    assert_eq!(r.anomaly_types, vec!["G2-item"], "{:#?}", r.anomalies);
    assert_eq!(r.anomalies[0].cycle.len(), n);
    let c = results::CheckerOutput::txn("elle list-append", &r);
    let i = results::RunInfo {
        test: "txn-ring".into(),
        workload: Some("list-append".into()),
        ..results::RunInfo::default()
    };
    let dir = tmp.path().join("run");
    results::write_run(&dir, &i, &h, vec![c]).unwrap();
    let dom = check_render(
        "txn-ring",
        &dir,
        &["data-verdict=\"invalid\"", "data-layout=\"chain\""],
    );
    if dom.is_empty() {
        return;
    }
    let svg = dom.split("data-layout=\"chain\"").next().unwrap();
    let svg = &svg[svg.rfind("<svg").unwrap()..];
    let width: f64 = svg
        .split("width=\"")
        .nth(1)
        .and_then(|w| w.split('"').next())
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no width on {svg}"));
    // Narrow enough for its column (so it is never scaled down), and every
    // step's label is drawn.
    assert!(width < 560.0, "chain drawing {width}px wide: {svg}");
    for i in 0..n {
        let label = format!("rw k{}={}", (i + 1) % n, (i + 1) % n);
        assert!(
            dom.contains(&format!(">{label}</text>")),
            "no label {label}"
        );
    }
}

/// The detectors themselves: a page that loads an image, fetches a URL
/// and throws is caught (so passing the checks above means something).
#[test]
fn network_detector_catches_page_requests() {
    let Some(browser) = browser_or_skip("network_detector_catches_page_requests") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("leaky.html");
    std::fs::write(
        &page,
        "<html><body><img src=\"http://192.0.2.1/x.png\"><script>fetch('https://192.0.2.1/a').catch(function(){}); undefinedFn();</script></body></html>",
    )
    .unwrap();
    let r = chrome(&browser, &page, &["--dump-dom".into()]);
    let requests = page_requests(&r.netlog);
    assert!(
        requests
            .iter()
            .any(|u| u.starts_with("http://192.0.2.1/x.png"))
            && requests
                .iter()
                .any(|u| u.starts_with("https://192.0.2.1/a")),
        "the detector missed the page's requests: {requests:?}"
    );
    assert!(
        r.stderr
            .lines()
            .any(|l| l.contains("CONSOLE") && l.contains("Uncaught")),
        "an uncaught error does not show on chromium's stderr:\n{}",
        r.stderr
    );
}

/// Zoom (wheel), pan (drag), "next blamed op" and hover work in the real
/// browser: a script appended to a copy of the report drives the canvas
/// with synthetic events and writes what it saw into the DOM.
#[test]
fn timeline_zooms_pans_and_explains_the_blamed_op_on_hover() {
    let Some(browser) = browser_or_skip("timeline_zooms_pans_and_explains_the_blamed_op_on_hover")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    common::invalid_lin_run(tmp.path());
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    let driver = r#"<script>
(function () {
  var c = document.getElementById('timeline'), r = c.getBoundingClientRect();
  var range = document.getElementById('timeline-range'), tip = document.getElementById('tooltip');
  var out = {};
  // Redraws are coalesced into animation frames, which headless Chromium
  // runs when it pleases: poll until the range label changes (or 3 s).
  function after(prev, then) {
    var tries = 0;
    var t = setInterval(function () {
      if (range.textContent !== prev || ++tries > 60) { clearInterval(t); then(); }
    }, 50);
  }
  out.initial = range.textContent;
  var cx = r.left + r.width / 2, cy = r.top + 40;
  c.dispatchEvent(new WheelEvent('wheel', { deltaY: -800, clientX: cx, clientY: cy, bubbles: true, cancelable: true }));
  after(out.initial, function () {
    out.zoomed = range.textContent;
    c.dispatchEvent(new MouseEvent('mousedown', { clientX: cx, clientY: cy, bubbles: true }));
    window.dispatchEvent(new MouseEvent('mousemove', { clientX: cx - 300, clientY: cy, bubbles: true }));
    window.dispatchEvent(new MouseEvent('mouseup', { clientX: cx - 300, clientY: cy, bubbles: true }));
    after(out.zoomed, function () {
      out.panned = range.textContent;
      document.getElementById('next-anomaly').click();
      out.found = '';
      // The blamed op is now in the middle of the plot: hover around there.
      for (var x = cx - 40; x <= cx + 120 && !out.found; x += 8) {
        for (var y = r.top + 30; y < r.bottom; y += 3) {
          c.dispatchEvent(new MouseEvent('mousemove', { clientX: x, clientY: y, bubbles: true }));
          if (!tip.hidden && tip.textContent.indexOf('cannot be linearized') >= 0) { out.found = tip.textContent; break; }
        }
      }
      // The failure picture redraws to scale.
      Array.prototype.forEach.call(document.querySelectorAll('#findings .lin-failure button'), function (b) {
        if (b.textContent.indexOf('to scale') >= 0) b.click();
      });
      out.to_scale = document.querySelectorAll('#findings .lin-blocked-label').length + ' ' +
        (document.querySelector('#findings .lin-failure .legend') || {}).textContent;
      var pre = document.createElement('pre');
      pre.id = 'driver-result';
      pre.textContent = JSON.stringify(out);
      document.body.appendChild(pre);
    });
  });
})();
</script>"#;
    let page = tmp.path().join("driven.html");
    std::fs::write(&page, html.replace("</body>", &format!("{driver}</body>"))).unwrap();
    let r = chrome(
        &browser,
        &page,
        &["--dump-dom".into(), "--window-size=1400,1000".into()],
    );
    let at = r
        .dom
        .find("<pre id=\"driver-result\">")
        .expect("the driver ran")
        + 24;
    let raw = &r.dom[at..at + r.dom[at..].find("</pre>").unwrap()];
    let raw = raw
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    let out: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let text = |k: &str| out[k].as_str().unwrap_or("").to_string();
    assert_ne!(text("zoomed"), text("initial"), "the wheel did not zoom");
    assert_ne!(text("panned"), text("zoomed"), "dragging did not pan");
    let found = text("found");
    assert!(
        found.contains("cannot be linearized"),
        "hover over the blamed op: {out}"
    );
    assert!(
        found.contains("<script>alert(1)</script>"),
        "the tooltip shows the value as text: {found}"
    );
    let to_scale = text("to_scale");
    assert!(
        to_scale.starts_with("1 ") && to_scale.contains("to scale"),
        "to-scale picture: {to_scale}"
    );
    for line in r.stderr.lines() {
        assert!(
            !line.contains("CONSOLE") && !line.contains("Uncaught"),
            "console: {line}"
        );
    }
}

/// A run with almost nothing in it (no checker, one call that never
/// completed, a fault never healed, no op times) still renders: verdict
/// unknown, no script error.
#[test]
fn nearly_empty_unknown_run_renders() {
    use history::{Op, OpType, Process, Value};
    let tmp = tempfile::tempdir().unwrap();
    let h = history::History::indexed([
        Op::new(
            OpType::Info,
            Process::nemesis(),
            "start-partition",
            Value::Nil,
        ),
        Op::invoke(0, "read", Value::Nil),
    ])
    .unwrap();
    let info = results::RunInfo {
        test: "empty".into(),
        ..Default::default()
    };
    let s = results::write_run(tmp.path(), &info, &h, Vec::new()).unwrap();
    assert_eq!(s.valid, results::Verdict::Unknown);
    check_render(
        "nearly-empty",
        tmp.path(),
        &[
            "data-verdict=\"unknown\"",
            "No checker ran",
            "id=\"perf-none\"",
        ],
    );
}

/// A real Jepsen history without op times: the failure picture and the
/// timeline work on history indexes.
#[test]
fn jepsen_etcd_history_renders_by_index() {
    let tmp = tempfile::tempdir().unwrap();
    common::corpus_lin_run(tmp.path());
    check_render(
        "etcd-000",
        tmp.path(),
        &[
            "data-verdict=\"invalid\"",
            "id=\"lin-failure-0\"",
            "lin-blocked-label",
            "id=\"perf-none\"",
        ],
    );
}

/// A checker the report has no drawing of its own for (here a new
/// checker's findings, as any result type gives them through
/// `CheckerResult`): its words, numbers, lists and tables are shown, as
/// text, and the stale read it blames is marked on the timeline.
#[test]
fn other_checkers_show_their_findings() {
    use checkers::result::{Blame, Block, Findings, Section};
    let tmp = tempfile::tempdir().unwrap();
    let h = common::timed_register_history(400, 5, 3);
    let read = h
        .ops()
        .iter()
        .find(|o| o.f == "read" && o.kind == history::OpType::Ok)
        .unwrap()
        .index;
    let xss = history::Value::Str(common::XSS.into());
    let set = Findings {
        valid: results::Verdict::Invalid,
        summary: vec!["2 acknowledged adds are missing from the final read.".into()],
        blamed: vec![Blame {
            index: read,
            why: "stale read".into(),
        }],
        section: Section::new(vec![
            Block::alert("2 acknowledged adds are missing from the final read."),
            Block::facts([("attempted", 10), ("acknowledged", 9), ("unknown", 1)]),
            Block::values("lost", &[history::Value::Int(3), xss.clone()], 2),
            Block::Table {
                title: "stale reads".into(),
                columns: vec!["read".into(), "missing".into()],
                rows: vec![vec![read.to_string(), xss.to_string()]],
            },
        ]),
        ..Findings::default()
    };
    let info = results::RunInfo {
        test: "set".into(),
        ..Default::default()
    };
    let c = results::CheckerOutput::new("set", "set", &set);
    results::write_run(tmp.path(), &info, &h, vec![c]).unwrap();
    let dom = check_render(
        "other-checker",
        tmp.path(),
        &[
            "data-verdict=\"invalid\"",
            "id=\"checker-card-0\"",
            "2 acknowledged adds are missing from the final read.",
            "lost (2)",
            "stale reads",
            "attempted",
            "id=\"next-anomaly\"",
        ],
    );
    if !dom.is_empty() {
        assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!dom.contains(common::XSS));
    }
}
