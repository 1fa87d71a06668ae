//! Run directories: what `write_run` writes, what `regenerate` (`shakedown
//! report`) rebuilds from it, junit.xml semantics, and the escaping of
//! values in the page.

mod common;

use checkers::result::Findings;
use results::{CheckerOutput, RunDir, RunInfo, RunSummary, Verdict};
use std::path::Path;

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn write_run_writes_every_file_with_the_documented_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let s = common::valid_run(tmp.path());
    for f in ["history.jsonl", "results.json", "junit.xml", "report.html"] {
        assert!(tmp.path().join(f).is_file(), "{f} missing");
    }
    let j = read_json(&tmp.path().join("results.json"));
    assert_eq!(j["schema_version"], 1);
    assert_eq!(j["test"], "etcd-register");
    assert_eq!(j["target"], "etcd");
    assert_eq!(j["nodes"].as_array().unwrap().len(), 5);
    assert_eq!(j["start_time"], "2025-11-22T05:40:00.000Z");
    assert_eq!(j["duration_s"], 62.5);
    assert_eq!(j["valid"], "valid");
    assert_eq!(j["checkers"][0]["name"], "linearizable");
    assert_eq!(j["checkers"][0]["valid"], "valid");
    assert_eq!(j["checkers"][0]["result"]["model"], "cas-register");
    let faults: Vec<&str> = j["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(faults, ["partition", "kill", "pause", "clock"]);
    assert_eq!(j["faults"][1]["stop_f"], "start");
    let ops = &j["ops"];
    assert_eq!(ops["nemesis_ops"], 8);
    assert_eq!(
        ops["ok"].as_u64().unwrap() + ops["fail"].as_u64().unwrap() + ops["info"].as_u64().unwrap(),
        ops["calls"].as_u64().unwrap()
    );
    let read = &ops["by_f"]["read"];
    assert!(
        read["latency_ms"]["p50"].as_f64().unwrap() <= read["latency_ms"]["p99"].as_f64().unwrap()
    );
    assert_eq!(s.valid, Verdict::Valid);
    // The history round-trips.
    let h = history::read_file(&tmp.path().join("history.jsonl"), None).unwrap();
    assert_eq!(h.len(), s.ops.ops);
}

#[test]
fn regenerate_rebuilds_the_same_results_from_the_stored_run() {
    let tmp = tempfile::tempdir().unwrap();
    common::invalid_lin_run(tmp.path());
    let before = std::fs::read(tmp.path().join("results.json")).unwrap();
    let junit_before = std::fs::read(tmp.path().join("junit.xml")).unwrap();
    std::fs::remove_file(tmp.path().join("report.html")).unwrap();
    std::fs::remove_file(tmp.path().join("junit.xml")).unwrap();
    let s = results::regenerate(tmp.path()).unwrap();
    assert_eq!(s.valid, Verdict::Invalid);
    let after = std::fs::read_to_string(tmp.path().join("results.json")).unwrap();
    let before = String::from_utf8(before).unwrap();
    if let Some((a, b)) = before.lines().zip(after.lines()).find(|(a, b)| a != b) {
        panic!("results.json changed: {a:?} became {b:?}");
    }
    assert_eq!(after.len(), before.len());
    assert_eq!(
        std::fs::read(tmp.path().join("junit.xml")).unwrap(),
        junit_before
    );
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(html.contains("data-verdict=\"invalid\""));
}

/// Regenerates the run in `dir` and asserts `files` came out byte for byte.
fn same_files_after_regenerating(dir: &Path, files: &[&str]) -> RunSummary {
    let before: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect();
    let again = results::regenerate(dir).unwrap();
    for (f, b) in files.iter().zip(&before) {
        let now = std::fs::read(dir.join(f)).unwrap();
        if &now != b {
            let at = now.iter().zip(b).position(|(x, y)| x != y).unwrap_or(0);
            let show = |v: &[u8]| {
                String::from_utf8_lossy(&v[at.saturating_sub(80)..(at + 80).min(v.len())])
                    .into_owned()
            };
            panic!(
                "{f} changed at byte {at}: {:?} became {:?}",
                show(b),
                show(&now)
            );
        }
    }
    again
}

/// A run whose history shakedown wrote itself regenerates every file byte
/// for byte, the page included: its failure picture is drawn from the
/// section stored in results.json.
#[test]
fn regenerate_rewrites_a_native_run_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    common::invalid_lin_run(tmp.path());
    let s =
        same_files_after_regenerating(tmp.path(), &["results.json", "junit.xml", "report.html"]);
    let c = &s.checkers[0];
    assert_eq!(c.blamed.len(), 1);
    assert_eq!(c.blamed[0].why, "cannot be linearized");
    assert!(
        c.summary[0].starts_with("model cas-register, nil reads strict"),
        "{:?}",
        c.summary
    );
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(html.contains("\"type\":\"linearizability\""));
}

/// A results.json written before checkers said what the report shows
/// (no `summary`, `blamed`, `section`, `elapsed_ms`) reads back and is
/// rewritten byte for byte: the new fields stay absent. (Its report then
/// shows the verdict and the raw result, not the pictures: re-check the
/// run to get them.)
#[test]
fn an_older_results_json_is_rewritten_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    common::invalid_lin_run(tmp.path());
    let mut old = results::read_summary(tmp.path()).unwrap();
    for c in &mut old.checkers {
        c.summary.clear();
        c.blamed.clear();
        c.section = Default::default();
        c.elapsed_ms = None;
    }
    let h = history::read_file(&tmp.path().join("history.jsonl"), None).unwrap();
    results::write_results(tmp.path(), &old, &h).unwrap();
    let j = read_json(&tmp.path().join("results.json"));
    for field in ["summary", "blamed", "section", "elapsed_ms"] {
        assert!(j["checkers"][0].get(field).is_none(), "{field} written");
    }
    let again =
        same_files_after_regenerating(tmp.path(), &["results.json", "junit.xml", "report.html"]);
    assert_eq!(again.valid, Verdict::Invalid);
}

/// The report is drawn from what each result type said (summary, blamed
/// operations, section), stored in results.json: a transactional run's
/// anomaly graphs come back from it byte for byte, and the page and JUnit
/// regenerated from them are the pages written first.
#[test]
fn regenerate_keeps_typed_sections_byte_for_byte() {
    use checkers::result::Block;
    let tmp = tempfile::tempdir().unwrap();
    let s = common::invalid_txn_run(tmp.path());
    let c = &s.checkers[0];
    // The anomaly with its count and Elle's name, the models it rules out,
    // the model checked; and one example for a terminal.
    assert_eq!(c.summary[0], "anomalies: G-single ×1 (Elle: G-single-item)");
    assert!(c.summary[1].starts_with("rules out "), "{:?}", c.summary);
    assert!(
        c.summary[2].starts_with("checked serializable: serializable ruled out"),
        "{:?}",
        c.summary
    );
    assert!(c.examples[0].starts_with("G-single: "), "{:?}", c.examples);
    assert!(!c.blamed.is_empty() && c.blamed[0].why.starts_with("G-single ("));
    let cycle = c
        .section
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Cycle(a) => Some(a),
            _ => None,
        })
        .expect("a cycle block");
    assert_eq!(cycle.kind, "G-single");
    assert!(cycle.cycle.iter().any(|e| e.kind == "rw"));
    // (report.html is left out here: this history was read from EDN and is
    // stored as JSON Lines, whose values show keywords as strings.)
    let again = same_files_after_regenerating(tmp.path(), &["results.json", "junit.xml"]);
    assert_eq!(
        serde_json::to_string(&again.checkers[0].section).unwrap(),
        serde_json::to_string(&c.section).unwrap()
    );
    let junit = std::fs::read_to_string(tmp.path().join("junit.xml")).unwrap();
    assert!(junit.contains("anomalies: G-single"), "{junit}");
    assert!(junit.contains("G-single: "), "{junit}");
}

#[test]
fn regenerate_without_results_json_reports_unknown() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("my-test").join("20260101T000000.000Z");
    std::fs::create_dir_all(&run).unwrap();
    results::write_history(&run, &common::timed_register_history(200, 1, 3)).unwrap();
    let s = results::regenerate(&run).unwrap();
    assert_eq!((s.test.as_str(), s.valid), ("my-test", Verdict::Unknown));
    assert!(run.join("report.html").is_file());
    let junit = std::fs::read_to_string(run.join("junit.xml")).unwrap();
    assert!(junit.contains("<error type=\"unknown\" message=\"no checker ran\"/>"));
    // Not a run directory at all.
    assert!(results::regenerate(tmp.path()).is_err());
}

#[test]
fn junit_fails_invalid_and_errors_unknown() {
    let h = common::timed_register_history(100, 2, 3);
    let checkers = vec![
        CheckerOutput::new(
            "ok-one",
            "other",
            &Findings {
                valid: Verdict::Valid,
                elapsed_ms: Some(1500.0),
                ..Findings::default()
            },
        ),
        CheckerOutput::new(
            "bad-one",
            "other",
            &Findings::verdict(Verdict::Invalid, "T1 <read> & lost"),
        ),
        CheckerOutput::new(
            "unsure",
            "other",
            &Findings {
                valid: Verdict::Unknown,
                reason: Some("time budget".into()),
                ..Findings::default()
            },
        ),
    ];
    let info = RunInfo {
        test: "t\"<x>".into(),
        ..RunInfo::default()
    };
    let s = RunSummary::new(&info, &h, checkers);
    assert_eq!(s.valid, Verdict::Invalid);
    let x = results::junit::render(&s);
    assert!(x.contains("<testsuites name=\"shakedown\" tests=\"3\" failures=\"1\" errors=\"1\""));
    assert!(
        x.contains("<testsuite name=\"t&quot;&lt;x&gt;\" tests=\"3\" failures=\"1\" errors=\"1\"")
    );
    assert!(x.contains(
        "<testcase name=\"ok-one\" classname=\"shakedown.t&quot;&lt;x&gt;\" time=\"1.500\"/>"
    ));
    assert!(x.contains("<failure type=\"invalid\" message=\"bad-one found the history invalid\">T1 &lt;read&gt; &amp; lost</failure>"));
    assert!(x.contains("<error type=\"unknown\" message=\"unsure: time budget\">"));
    // One suite, well nested.
    assert_eq!(x.matches("<testsuite ").count(), 1);
    assert_eq!(x.matches("<testcase ").count(), 3);
}

#[test]
fn every_value_in_the_page_is_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    common::invalid_lin_run(tmp.path());
    let mut s = results::read_summary(tmp.path()).unwrap();
    s.test = format!("name {}", common::XSS);
    s.target = Some("<img src=x onerror=alert(2)>".into());
    s.nodes = vec!["</script><b>n1</b>".into()];
    let h = history::read_file(&tmp.path().join("history.jsonl"), None).unwrap();
    let html = results::report::render(&s, &h);
    assert!(!html.contains(common::XSS));
    assert!(!html.contains("<img"));
    assert!(!html.contains("<b>n1"));
    assert!(html.contains("name &lt;script&gt;alert(1)&lt;/script&gt;"));
    // Exactly two script elements: the data and the code.
    assert_eq!(html.matches("<script").count(), 2);
    assert_eq!(html.matches("</script>").count(), 2);
    // The data survives the trip through the script element.
    let start = html
        .find("<script type=\"application/json\" id=\"report-data\">")
        .unwrap();
    let body = &html[start..];
    let body = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
    let data: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(data["summary"]["test"], format!("name {}", common::XSS));
}

#[test]
fn run_dirs_are_named_by_test_and_time_with_latest_links() {
    let tmp = tempfile::tempdir().unwrap();
    let a = RunDir::create(tmp.path(), "etcd register/../x", 1_709_210_096_789).unwrap();
    assert_eq!(
        a.path,
        tmp.path()
            .join("etcd_register_.._x")
            .join("20240229T123456.789Z")
    );
    let b = RunDir::create(tmp.path(), "etcd register/../x", 1_709_210_096_789).unwrap();
    assert_eq!(b.path.file_name().unwrap(), "20240229T123456.789Z-1");
    assert_eq!(
        std::fs::read_link(tmp.path().join("latest")).unwrap(),
        Path::new("etcd_register_.._x/20240229T123456.789Z-1")
    );
    assert_eq!(
        std::fs::read_link(tmp.path().join("etcd_register_.._x/latest")).unwrap(),
        Path::new("20240229T123456.789Z-1")
    );
    assert_eq!(results::rundir::safe_name(".."), "test");
    assert_eq!(results::rundir::safe_name(""), "test");
}

#[test]
fn timeline_data_is_columnar_and_keeps_blamed_ops() {
    let tmp = tempfile::tempdir().unwrap();
    let s = common::invalid_lin_run(tmp.path());
    let h = history::read_file(&tmp.path().join("history.jsonl"), None).unwrap();
    let d = results::report::data::build(&s, &h);
    let n = d["tl"]["n"].as_u64().unwrap() as usize;
    assert_eq!(n, s.ops.calls);
    for col in ["lane", "st", "du", "oc", "pr", "ix", "cx", "vi", "vo"] {
        assert_eq!(d["tl"][col].as_array().unwrap().len(), n, "{col}");
    }
    // Five workers: crashed processes' successors reuse their lanes.
    assert!(d["tl"]["lanes"].as_array().unwrap().len() <= 5);
    let marks = d["marks"].as_array().unwrap();
    assert_eq!(marks.len(), 1);
    let blamed = s.checkers[0].result["failures"][0]["op"]["index"]
        .as_u64()
        .unwrap();
    // The mark points at the call whose invocation is the blamed op.
    let c = marks[0]["c"].as_u64().unwrap() as usize;
    let ix: u64 = d["tl"]["ix"].as_array().unwrap()[..=c]
        .iter()
        .map(|v| v.as_i64().unwrap() as u64)
        .sum();
    assert_eq!(ix, blamed);
    // The failure picture holds the blamed call and the prefix's last steps.
    let calls = d["lin"][0]["calls"].as_array().unwrap();
    assert!(calls.iter().any(|c| c["i"].as_u64() == Some(blamed)));
    assert!(calls.len() > 10 && calls.len() <= 60);
}

/// `shakedown report` keeps checker results byte for byte: floats read
/// back from results.json are the floats written (serde_json's default
/// float parser is off by one ulp now and then).
#[test]
fn checker_floats_round_trip_exactly() {
    let mut x: f64 = 0.1;
    for i in 0..20_000 {
        x = (x * 1.000_123_7 + i as f64 * 0.000_731) % 1e6;
        let out = CheckerOutput::new(
            "c",
            "other",
            &Findings {
                valid: Verdict::Valid,
                elapsed_ms: Some(x),
                ..Findings::default()
            },
        );
        let text = serde_json::to_string(&out).unwrap();
        let back: CheckerOutput = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }
}
