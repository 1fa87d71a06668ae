//! `shakedown serve`: lists stored runs newest first with their verdicts,
//! filters them, serves their files with the right content types, and
//! refuses every path that leads outside the results directory.

mod common;

use results::serve;
use results::{CheckerOutput, RunDir, RunInfo, Verdict};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;

fn tiny_history() -> history::History {
    use history::{Op, Value};
    history::History::indexed([
        Op::invoke(0, "write", 1).with_time(0),
        Op::ok(0, "write", 1).with_time(1_000_000),
        Op::invoke(1, "read", Value::Nil).with_time(2_000_000),
        Op::ok(1, "read", 1).with_time(3_000_000),
    ])
    .unwrap()
}

/// Three runs: `alpha` at t=1000 s (valid), `beta` at 3000 s (invalid),
/// `alpha` at 2000 s (unknown).
fn results_dir(root: &Path) {
    let runs = [
        ("alpha", 1_000_000u64, Verdict::Valid),
        ("beta", 3_000_000, Verdict::Invalid),
        ("alpha", 2_000_000, Verdict::Unknown),
    ];
    for (test, start, verdict) in runs {
        let run = RunDir::create(root, test, start).unwrap();
        let info = RunInfo {
            test: test.into(),
            start_unix_ms: Some(start),
            end_unix_ms: Some(start + 5_000),
            ..RunInfo::default()
        };
        let c = CheckerOutput::new(
            "stub",
            "other",
            &checkers::result::Findings::verdict(verdict, "a stub verdict"),
        );
        results::write_run(&run.path, &info, &tiny_history(), vec![c]).unwrap();
    }
}

#[test]
fn lists_runs_newest_first_with_verdicts() {
    let tmp = tempfile::tempdir().unwrap();
    results_dir(tmp.path());
    let runs = results::list_runs(tmp.path());
    let brief: Vec<(&str, Option<Verdict>)> =
        runs.iter().map(|r| (r.test.as_str(), r.valid)).collect();
    assert_eq!(
        brief,
        vec![
            ("beta", Some(Verdict::Invalid)),
            ("alpha", Some(Verdict::Unknown)),
            ("alpha", Some(Verdict::Valid)),
        ]
    );
    assert_eq!(runs[0].path, "beta/19700101T005000.000Z");
    assert_eq!(runs[0].duration_s, Some(5.0));

    // The index page shows them in that order.
    let page = String::from_utf8(serve::handle(tmp.path(), "GET", "/").bytes()).unwrap();
    let positions: Vec<usize> = runs
        .iter()
        .map(|r| {
            page.find(&format!("data-path=\"{}\"", r.path))
                .expect("listed")
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "not newest first"
    );

    // `latest` points at the run created last; it is not listed twice.
    let latest = std::fs::read_link(tmp.path().join("latest")).unwrap();
    assert_eq!(latest, Path::new("alpha/19700101T003320.000Z"));
    assert_eq!(runs.len(), 3);
}

#[test]
fn filters_by_verdict_and_name() {
    let tmp = tempfile::tempdir().unwrap();
    results_dir(tmp.path());
    let json = |target: &str| -> Vec<String> {
        let r = serve::handle(tmp.path(), "GET", target);
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type, "application/json");
        let v: serde_json::Value = serde_json::from_slice(&r.bytes()).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["path"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        json("/runs.json?verdict=invalid"),
        vec!["beta/19700101T005000.000Z"]
    );
    assert_eq!(json("/runs.json?q=ALPHA").len(), 2);
    assert_eq!(
        json("/runs.json?q=alpha&verdict=valid"),
        vec!["alpha/19700101T001640.000Z"]
    );
    assert_eq!(json("/runs.json?verdict=all").len(), 3);
    let page =
        String::from_utf8(serve::handle(tmp.path(), "GET", "/?verdict=invalid").bytes()).unwrap();
    assert!(page.contains("beta/") && !page.contains("data-path=\"alpha/"));
}

fn get(addr: &str, target: &str) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head[9..12].parse().unwrap();
    (status, head, buf[head_end + 4..].to_vec())
}

#[test]
fn serves_run_files_and_refuses_paths_outside_the_results_directory() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("results");
    std::fs::create_dir(&root).unwrap();
    results_dir(&root);
    std::fs::write(outer.path().join("secret.txt"), "do not serve").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outer.path(), root.join("escape")).unwrap();
        std::os::unix::fs::symlink(outer.path().join("secret.txt"), root.join("secret-link"))
            .unwrap();
    }

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let served = root.clone();
    std::thread::spawn(move || serve::serve_on(listener, served));

    let (status, head, body) = get(&addr, "/");
    assert_eq!(status, 200);
    assert!(head.contains("Content-Type: text/html; charset=utf-8"));
    assert!(String::from_utf8_lossy(&body).contains("beta/19700101T005000.000Z"));

    let run = "/runs/beta/19700101T005000.000Z";
    for (file, ctype) in [
        ("report.html", "text/html; charset=utf-8"),
        ("results.json", "application/json"),
        ("junit.xml", "application/xml; charset=utf-8"),
        ("history.jsonl", "text/plain; charset=utf-8"),
    ] {
        let (status, head, body) = get(&addr, &format!("{run}/{file}"));
        assert_eq!(status, 200, "{file}");
        assert!(
            head.contains(&format!("Content-Type: {ctype}\r\n")),
            "{file}: {head}"
        );
        assert!(head.contains("X-Content-Type-Options: nosniff"));
        let on_disk = std::fs::read(root.join("beta/19700101T005000.000Z").join(file)).unwrap();
        assert_eq!(body, on_disk, "{file}");
    }
    // The run directory lists its files; `latest` (a symlink inside) works.
    let (status, _, body) = get(&addr, &format!("{run}/"));
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("report.html"));
    assert_eq!(get(&addr, "/runs/latest/results.json").0, 200);

    for evil in [
        "/runs/../secret.txt",
        "/runs/beta/../../secret.txt",
        "/runs/%2e%2e/secret.txt",
        "/runs/%2E%2E%2Fsecret.txt",
        "/runs/beta/..%2f..%2fsecret.txt",
        "/runs/..\\secret.txt",
        "/runs/%5c..%5csecret.txt",
        "/runs/escape/secret.txt",
        "/runs/secret-link",
    ] {
        let (status, _, body) = get(&addr, evil);
        assert!(status == 403 || status == 404, "{evil}: status {status}");
        assert!(
            !String::from_utf8_lossy(&body).contains("do not serve"),
            "{evil} leaked"
        );
    }
    // Absolute paths are taken inside the results directory.
    assert_eq!(get(&addr, "/runs//etc/passwd").0, 404);
    assert_eq!(get(&addr, "/runs/%2Fetc%2Fpasswd").0, 404);
    assert_eq!(get(&addr, "/etc/passwd").0, 404);
    assert_eq!(get(&addr, "/runs/no-such-run/report.html").0, 404);
    // `..` is refused outright, even where it would stay inside.
    assert_eq!(get(&addr, "/runs/beta/../alpha/").0, 403);
}

#[test]
fn default_bind_is_loopback() {
    // What `shakedown serve` binds unless told otherwise.
    let addr: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    assert!(addr.is_loopback());
    let r = serve::handle(Path::new("/nonexistent"), "POST", "/");
    assert_eq!(r.status, 405);
}

#[test]
fn content_types_by_extension() {
    for (name, ct) in [
        ("a.html", "text/html; charset=utf-8"),
        ("a.json", "application/json"),
        ("a.xml", "application/xml; charset=utf-8"),
        ("a.jsonl", "text/plain; charset=utf-8"),
        ("shakedown.log", "text/plain; charset=utf-8"),
        ("test.yaml", "text/plain; charset=utf-8"),
        ("a.png", "image/png"),
        ("a.svg", "image/svg+xml"),
        ("core", "application/octet-stream"),
    ] {
        assert_eq!(serve::content_type(Path::new(name)), ct, "{name}");
    }
    let _ = common::XSS;
}
