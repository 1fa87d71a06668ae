//! `shakedown serve`: lists stored runs newest first with their verdicts,
//! filters them, serves their files with the right content types, and
//! refuses every path that leads outside the results directory.

mod common;

use results::serve;
use results::{CheckerOutput, RunDir, RunInfo, Verdict};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

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

/// A campaign's runs (under `campaigns/<name>/runs/`) are in the index
/// too, marked with their campaign, and their files are served from there.
#[test]
fn campaign_runs_are_listed_in_the_index() {
    let tmp = tempfile::tempdir().unwrap();
    results_dir(tmp.path());
    let runs_dir = tmp.path().join("campaigns").join("nightly").join("runs");
    let run = RunDir::create(&runs_dir, "gamma", 4_000_000).unwrap();
    let info = RunInfo {
        test: "gamma".into(),
        start_unix_ms: Some(4_000_000),
        ..RunInfo::default()
    };
    results::write_run(&run.path, &info, &tiny_history(), Vec::new()).unwrap();
    let runs = results::list_runs(tmp.path());
    assert_eq!(runs.len(), 4);
    assert_eq!(
        runs[0].path,
        "campaigns/nightly/runs/gamma/19700101T010640.000Z"
    );
    assert_eq!(runs[0].campaign.as_deref(), Some("nightly"));
    assert!(runs[1..].iter().all(|r| r.campaign.is_none()));
    let page = String::from_utf8(serve::handle(tmp.path(), "GET", "/").bytes()).unwrap();
    assert!(page.contains("data-path=\"campaigns/nightly/runs/gamma/19700101T010640.000Z\""));
    assert!(
        page.contains("campaign <a href=\"/campaigns\">nightly</a>"),
        "{page}"
    );
    assert!(page.contains("4 run(s)"));
    let r = serve::handle(
        tmp.path(),
        "GET",
        "/runs/campaigns/nightly/runs/gamma/19700101T010640.000Z/results.json",
    );
    assert_eq!(r.status, 200);
    let json = String::from_utf8(serve::handle(tmp.path(), "GET", "/runs.json?q=nightly").bytes())
        .unwrap();
    let listed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{json}");
    assert_eq!(listed[0]["campaign"], "nightly");
}

/// A run a signal cut short says so in the index and in runs.json.
#[test]
fn an_interrupted_run_is_marked_in_the_index() {
    let tmp = tempfile::tempdir().unwrap();
    let run = RunDir::create(tmp.path(), "cut", 1_000_000).unwrap();
    let info = RunInfo {
        test: "cut".into(),
        interrupted: true,
        ..RunInfo::default()
    };
    results::write_run(&run.path, &info, &tiny_history(), Vec::new()).unwrap();
    let runs = results::list_runs(tmp.path());
    assert!(runs[0].interrupted);
    let page = String::from_utf8(serve::handle(tmp.path(), "GET", "/").bytes()).unwrap();
    assert!(
        page.contains("<span class=\"muted\">interrupted</span>"),
        "{page}"
    );
    let json = String::from_utf8(serve::handle(tmp.path(), "GET", "/runs.json").bytes()).unwrap();
    let listed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(listed[0]["interrupted"], true, "{json}");
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
        // Only the report is HTML; every other file is shown as text.
        ("results.json", "text/plain; charset=utf-8"),
        ("junit.xml", "text/plain; charset=utf-8"),
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
    // By name alone nothing is HTML, an image or a script: a node's log
    // may be called anything (`is_report` picks out a run's report).
    for (name, ct) in [
        ("a.html", "text/plain; charset=utf-8"),
        ("a.json", "text/plain; charset=utf-8"),
        ("a.xml", "text/plain; charset=utf-8"),
        ("a.jsonl", "text/plain; charset=utf-8"),
        ("shakedown.log", "text/plain; charset=utf-8"),
        ("test.yaml", "text/plain; charset=utf-8"),
        ("a.svg", "text/plain; charset=utf-8"),
        ("a.png", "application/octet-stream"),
        ("core", "application/octet-stream"),
    ] {
        assert_eq!(serve::content_type(Path::new(name)), ct, "{name}");
    }
    let _ = common::XSS;
}

/// A server on a free loopback port with the given limits.
fn start(root: &Path, limits: serve::Limits) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let root = root.to_path_buf();
    std::thread::spawn(move || serve::serve_with(listener, root, limits));
    addr
}

/// Waits until the server closes `s` (a read returns 0 or fails) and says
/// how long that took, or `None` if it stays open past `limit`.
fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 512];
    while started.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return Some(started.elapsed()),
        }
    }
    None
}

#[test]
fn a_slowloris_client_is_cut_off_at_the_request_timeout_while_others_are_served() {
    let tmp = tempfile::tempdir().unwrap();
    results_dir(tmp.path());
    let limits = serve::Limits {
        max_connections: 16,
        request_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let addr = start(tmp.path(), limits);

    // One byte of a valid request every second, from the connection's start.
    let slow = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            let mut s = TcpStream::connect(&addr).unwrap();
            let started = Instant::now();
            let mut reply = Vec::new();
            for b in b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n" {
                if s.write_all(&[*b]).is_err() {
                    break;
                }
                // Closed by the server, or a byte later.
                if closed_within(&mut s, Duration::from_secs(1)).is_some() {
                    break;
                }
            }
            let _ = s.read_to_end(&mut reply);
            (started.elapsed(), reply)
        })
    };
    // Meanwhile other clients are served at once.
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..5 {
        let t = Instant::now();
        let (status, _, body) = get(&addr, "/runs.json");
        assert_eq!(status, 200);
        assert!(String::from_utf8_lossy(&body).contains("beta"));
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        std::thread::sleep(Duration::from_millis(200));
    }
    let (held, reply) = slow.join().unwrap();
    // Cut at the 2 s request timeout (a byte per second: the whole request
    // would have taken 36 s), and never answered.
    assert!(
        held >= Duration::from_millis(1800) && held < Duration::from_secs(4),
        "the slow client was held {held:?}"
    );
    assert!(
        !String::from_utf8_lossy(&reply).contains("200 OK"),
        "{reply:?}"
    );
}

#[test]
fn more_connections_than_the_limit_get_503_and_the_server_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    results_dir(tmp.path());
    let limits = serve::Limits {
        max_connections: 4,
        request_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let addr = start(tmp.path(), limits);

    // Four idle connections take every slot ...
    let idle: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(300));
    // ... so a flood of others is turned away at once, with a 503.
    let started = Instant::now();
    let mut busy = 0;
    for _ in 0..200 {
        let mut s = TcpStream::connect(&addr).unwrap();
        let _ = write!(s, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut reply = Vec::new();
        let _ = s.read_to_end(&mut reply);
        if String::from_utf8_lossy(&reply).starts_with("HTTP/1.1 503 Service Unavailable") {
            busy += 1;
        }
    }
    assert_eq!(busy, 200, "every connection over the limit gets a 503");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // The idle ones are closed at the request timeout; then clients are served.
    for mut s in idle {
        let held = closed_within(&mut s, Duration::from_secs(5)).expect("closed");
        assert!(held < Duration::from_secs(3), "{held:?}");
    }
    let (status, _, body) = get(&addr, "/runs.json");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("beta"));
}

#[test]
fn head_requests_get_headers_only() {
    let tmp = tempfile::tempdir().unwrap();
    results_dir(tmp.path());
    let addr = start(tmp.path(), serve::Limits::default());
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "HEAD /runs/beta/19700101T005000.000Z/history.jsonl HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf);
    let on_disk = std::fs::metadata(tmp.path().join("beta/19700101T005000.000Z/history.jsonl"))
        .unwrap()
        .len();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.contains(&format!("Content-Length: {on_disk}\r\n")),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\n"), "a body was sent: {text}");
}

#[test]
fn a_slow_download_outlasting_the_request_timeout_is_sent_whole() {
    let tmp = tempfile::tempdir().unwrap();
    results_dir(tmp.path());
    let big: Vec<u8> = (0..8 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(tmp.path().join("beta/big.log"), &big).unwrap();
    let limits = serve::Limits {
        request_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let addr = start(tmp.path(), limits);
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "GET /runs/beta/big.log HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    .unwrap();
    // Read it over ~2.5 s: the request timeout bounds the request, not the
    // response.
    let started = Instant::now();
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 1024 * 1024];
    loop {
        let n = s.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        // 0.3 ms per KiB: 8 MiB in about 2.5 s.
        std::thread::sleep(Duration::from_micros(n as u64 * 300 / 1024));
    }
    assert!(
        started.elapsed() > Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    assert!(buf.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert_eq!(&buf[head_end + 4..], &big[..]);
}
