//! `shakedown serve SHARD1 SHARD2`: the campaign grid over the results
//! directories of two shards, over HTTP. Every cell of the campaign is
//! shown once per run, each square links to its run's report in the
//! directory it came from, the cell whose repeats disagree is flagged
//! flaky, markup in names is escaped, and no URL leads outside the two
//! directories.

use results::grid::CellRecord;
use results::serve;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

const XSS: &str = "<script>alert(1)</script>";

/// Writes one run of a cell into a shard's results directory: its run
/// directory (with a report naming the cell) and its record, as a
/// campaign does. The record's `run-dir` is the path on "the runner".
fn run_cell(
    shard: &Path,
    campaign: &str,
    test: &str,
    settings: &[(&str, &str)],
    repeat: u32,
    verdict: &str,
    stamp: &str,
) -> String {
    let settings: BTreeMap<String, serde_json::Value> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::from_str(v).unwrap()))
        .collect();
    let label: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let cell = format!("{test}[{}]#{repeat}", label.join(","));
    let dir = shard
        .join("campaigns")
        .join(results::rundir::safe_name(campaign));
    let run = dir.join("runs/redis-register").join(stamp);
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("report.html"), format!("report of {cell}")).unwrap();
    let record = CellRecord {
        campaign: campaign.into(),
        cell: cell.clone(),
        test: test.into(),
        settings,
        repeat,
        verdict: verdict.into(),
        exit_code: match verdict {
            "valid" => 0,
            "invalid" => 1,
            _ => 2,
        },
        run_dir: Some(format!(
            "/home/runner/work/results/campaigns/{campaign}/runs/redis-register/{stamp}"
        )),
        duration_s: 12.5,
        interrupted: false,
        fingerprint: None,
    };
    std::fs::create_dir_all(dir.join("cells")).unwrap();
    std::fs::write(
        dir.join("cells").join(format!("{}.json", stamp)),
        serde_json::to_vec_pretty(&record).unwrap(),
    )
    .unwrap();
    cell
}

/// Two shards of `nightly`: redis.yaml × seed {1, 2} × faults {[kill],
/// [pause]} × 2 repeats, dealt round-robin; the cell seed=2, [pause]
/// is valid once and invalid once. Returns the cell ids.
fn two_shards(a: &Path, b: &Path) -> Vec<String> {
    let mut cells = Vec::new();
    let mut k = 0;
    for seed in ["1", "2"] {
        for faults in ["[\"kill\"]", "[\"pause\"]"] {
            for repeat in 1..=2 {
                let flaky = seed == "2" && faults.contains("pause") && repeat == 2;
                let verdict = if flaky { "invalid" } else { "valid" };
                let shard = if k % 2 == 0 { a } else { b };
                // Both shards stamp their runs alike: the directory tells
                // them apart.
                let stamp = format!("2026112{k}T000000.000Z");
                cells.push(run_cell(
                    shard,
                    "nightly",
                    "redis.yaml",
                    &[("nemesis.faults", faults), ("seed", seed)],
                    repeat,
                    verdict,
                    &stamp,
                ));
                k += 1;
            }
        }
    }
    cells
}

fn get(addr: &str, target: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

fn start(roots: Vec<PathBuf>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || serve::serve_dirs(listener, roots, serve::Limits::default()));
    addr
}

fn esc(s: &str) -> String {
    results::report::esc(s)
}

#[test]
fn the_grid_of_two_shards_shows_every_cell_links_its_report_and_flags_the_flaky_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("shard-1"), tmp.path().join("shard-2"));
    let cells = two_shards(&a, &b);
    assert_eq!(cells.len(), 8);
    // A record whose run directory is not there (and whose path climbs):
    // shown, not linked.
    let lost = run_cell(
        &b,
        "nightly",
        "other.yaml",
        &[("nemesis.faults", "[\"kill\"]"), ("seed", "1")],
        1,
        "unknown",
        "lost",
    );
    std::fs::remove_dir_all(b.join("campaigns/nightly/runs/redis-register/lost")).unwrap();
    let mut r: CellRecord = serde_json::from_slice(
        &std::fs::read(b.join("campaigns/nightly/cells/lost.json")).unwrap(),
    )
    .unwrap();
    r.run_dir = Some("../../../../etc".into());
    std::fs::write(
        b.join("campaigns/nightly/cells/lost.json"),
        serde_json::to_vec(&r).unwrap(),
    )
    .unwrap();
    // Markup in a campaign's and a test's name.
    run_cell(&a, XSS, XSS, &[("seed", "1")], 1, "valid", "x");
    std::fs::write(tmp.path().join("secret.txt"), "do not serve").unwrap();

    let addr = start(vec![a.clone(), b.clone()]);
    let (status, page) = get(&addr, "/campaigns");
    assert_eq!(status, 200, "{page}");
    assert!(!page.contains(XSS), "markup not escaped");
    assert!(page.contains(&esc(XSS)));

    // Every cell once, each a square.
    for cell in cells.iter().chain([&lost]) {
        assert_eq!(
            page.matches(&format!("data-cell=\"{}\"", esc(cell)))
                .count(),
            1,
            "{cell}"
        );
    }
    // The 8 squares of redis.yaml link to their reports, in the shard
    // that ran them.
    let links: Vec<&str> = page
        .split("<a class=\"sq ")
        .skip(1)
        .filter_map(|s| s.split("href=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(links.len(), 9, "8 cells and the markup one: {links:?}");
    for cell in &cells {
        let square = page
            .split(&format!("data-cell=\"{}\"", esc(cell)))
            .nth(1)
            .unwrap();
        let href = square
            .split("href=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(
            href.starts_with("/dirs/1/") || href.starts_with("/dirs/2/"),
            "{href}"
        );
        let (status, body) = get(&addr, href);
        assert_eq!((status, body), (200, format!("report of {cell}")), "{href}");
    }
    let lost_square = page
        .split(&format!("data-cell=\"{}\"", esc(&lost)))
        .nth(1)
        .unwrap();
    assert!(lost_square
        .split('>')
        .next()
        .unwrap()
        .contains("no run directory here"));
    assert!(!lost_square.split('>').next().unwrap().contains("href"));

    // One flaky cell, flagged in the grid and listed: seed=2 with pause.
    assert_eq!(page.matches("class=\"cell flaky\"").count(), 1, "{page}");
    let listed: Vec<&str> = page.split("<li class=\"flaky\">").skip(1).collect();
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].contains(&esc("nemesis.faults=[\"pause\"], seed=2"))
            && listed[0].contains("invalid 1×")
            && listed[0].contains("valid 1×"),
        "{}",
        listed[0]
    );

    // The same as JSON.
    let (status, json) = get(&addr, "/campaigns.json");
    assert_eq!(status, 200);
    let grids: serde_json::Value = serde_json::from_str(&json).unwrap();
    let nightly = grids
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["campaign"] == "nightly")
        .unwrap();
    assert_eq!(nightly["columns"].as_array().unwrap().len(), 4);
    assert_eq!(nightly["rows"].as_array().unwrap().len(), 2);
    assert_eq!(nightly["flaky"].as_array().unwrap().len(), 1);
    assert_eq!(nightly["totals"]["valid"], 7);
    assert_eq!(nightly["totals"]["invalid"], 1);

    // Nothing outside the two directories; each directory by number.
    for (target, want) in [
        ("/dirs/2/..%2f..%2fsecret.txt", 403),
        ("/dirs/2/../secret.txt", 403),
        ("/dirs/0/", 404),
        ("/dirs/3/", 404),
        ("/dirs/01/", 404),
        ("/dirs/x/", 404),
        ("/dirs/1/campaigns/", 200),
        ("/dirs/2/campaigns/nightly/cells/lost.json", 200),
    ] {
        assert_eq!(get(&addr, target).0, want, "{target}");
    }
    // The index names both directories and links the campaigns.
    let (_, index) = get(&addr, "/");
    assert!(index.contains("href=\"/campaigns\""));
    assert!(index.contains(&esc(&b.display().to_string())));
}

#[test]
fn one_directory_keeps_its_runs_urls() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("results");
    let cell = run_cell(&a, "nightly", "t.yaml", &[("seed", "1")], 1, "valid", "s1");
    let r = serve::handle(&a, "GET", "/campaigns");
    let page = String::from_utf8(r.bytes()).unwrap();
    assert!(
        page.contains("href=\"/runs/campaigns/nightly/runs/redis-register/s1/report.html\""),
        "{page}"
    );
    assert!(page.contains(&esc(&cell)));
    assert_eq!(serve::handle(&a, "GET", "/dirs/1/campaigns/").status, 200);
}

#[test]
fn the_index_lists_the_runs_of_every_directory_with_its_number() {
    use results::{CheckerOutput, RunDir, RunInfo, Verdict};
    let tmp = tempfile::tempdir().unwrap();
    let roots = vec![tmp.path().join("a"), tmp.path().join("b")];
    for (k, root) in roots.iter().enumerate() {
        let start = 1_000_000 * (k as u64 + 1);
        let run = RunDir::create(root, "alpha", start).unwrap();
        let info = RunInfo {
            test: "alpha".into(),
            start_unix_ms: Some(start),
            end_unix_ms: Some(start + 1000),
            ..RunInfo::default()
        };
        let history = history::History::indexed([
            history::Op::invoke(0, "write", 1).with_time(0),
            history::Op::ok(0, "write", 1).with_time(1_000_000),
        ])
        .unwrap();
        let c = CheckerOutput::new(
            "stub",
            "other",
            &checkers::result::Findings::verdict(Verdict::Valid, "a stub verdict"),
        );
        results::write_run(&run.path, &info, &history, vec![c]).unwrap();
    }
    let r = serve::handle_dirs(&roots, "GET", "/runs.json");
    let runs: serde_json::Value = serde_json::from_slice(&r.bytes()).unwrap();
    let dirs: Vec<u64> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["dir"].as_u64().unwrap())
        .collect();
    assert_eq!(dirs, vec![2, 1], "newest first over both directories");
    let page = String::from_utf8(serve::handle_dirs(&roots, "GET", "/").bytes()).unwrap();
    assert!(page.contains("href=\"/dirs/2/alpha/19700101T003320.000Z/report.html\""));
    assert!(page.contains("href=\"/dirs/1/alpha/19700101T001640.000Z/report.html\""));
}
