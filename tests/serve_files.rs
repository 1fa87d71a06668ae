//! `shakedown serve` shows as HTML only the pages shakedown made: the
//! report of a run (`report.html` of a run directory) and its own index,
//! grid and listing pages. Every other file under a results directory (a
//! node's log, whatever its name, a history, a test file) is sent as plain
//! text or as a download, always with `Content-Security-Policy: sandbox`
//! and `X-Content-Type-Options: nosniff`, so a log named `evil.html` (or
//! `.svg`, `.xml`, `.htm`) runs no script in the browser of whoever reads
//! the results (issue 23, item 7).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};

mod common;
use common::shakedown;

const SCRIPT: &str = "<html><script>alert(document.cookie)</script></html>";

/// A results directory with one real run (made by `shakedown check
/// --out`) and hostile files beside and inside it.
fn results(root: &Path) -> String {
    let history = root.join("h.jsonl");
    std::fs::write(
        &history,
        "{\"index\":0,\"time\":0,\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"value\":1}
{\"index\":1,\"time\":1,\"type\":\"ok\",\"process\":0,\"f\":\"write\",\"value\":1}
{\"index\":2,\"time\":2,\"type\":\"invoke\",\"process\":1,\"f\":\"read\",\"value\":null}
{\"index\":3,\"time\":3,\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"value\":1}
",
    )
    .unwrap();
    let results = root.join("results");
    let run = results.join("t/20250101T000000.000Z");
    let o = shakedown()
        .arg("check")
        .arg(&history)
        .args(["--model", "register", "--out"])
        .arg(&run)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", common::text(&o));
    assert!(run.join("report.html").is_file() && run.join("results.json").is_file());
    // A node's logs, as a run downloads them (`<run>/<node>/<name>`).
    let node = run.join("n1");
    std::fs::create_dir_all(&node).unwrap();
    for name in ["evil.html", "evil.HTM", "evil.svg", "evil.xml", "evil.js"] {
        std::fs::write(node.join(name), SCRIPT).unwrap();
    }
    // A log that takes the names of a run's own files, inside the node's
    // directory: still not a report.
    std::fs::write(node.join("report.html"), SCRIPT).unwrap();
    std::fs::write(node.join("results.json"), "{}").unwrap();
    // Hostile files beside the run's own and at the top.
    std::fs::write(run.join("evil.html"), SCRIPT).unwrap();
    std::fs::write(results.join("report.html"), SCRIPT).unwrap();
    std::fs::write(run.join("core"), [0u8, 1, 2, 255]).unwrap();
    results.display().to_string()
}

fn start(dir: &str) -> (Child, String) {
    let mut child = shakedown()
        .args(["serve", dir, "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    (child, addr)
}

/// The status line and headers (lower-cased names), and the body.
fn get(addr: &str, target: &str) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..end])
        .lines()
        .map(|l| match l.split_once(':') {
            Some((k, v)) => format!("{}:{v}", k.to_ascii_lowercase()),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    (head, buf[end + 4..].to_vec())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(str::trim)
}

#[test]
fn only_the_pages_shakedown_made_are_served_as_html() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = results(tmp.path());
    let (mut child, addr) = start(&dir);
    let run = "/runs/t/20250101T000000.000Z";
    let mut failures = Vec::new();
    for target in [
        format!("{run}/n1/evil.html"),
        format!("{run}/n1/evil.HTM"),
        format!("{run}/n1/evil.svg"),
        format!("{run}/n1/evil.xml"),
        format!("{run}/n1/evil.js"),
        format!("{run}/n1/report.html"),
        format!("{run}/evil.html"),
        "/runs/report.html".to_string(),
        format!("{run}/history.jsonl"),
        format!("{run}/test.yaml"),
        format!("{run}/results.json"),
        format!("{run}/junit.xml"),
        format!("{run}/core"),
    ] {
        let (head, body) = get(&addr, &target);
        if !head.starts_with("HTTP/1.1 200") {
            // test.yaml is written by `run`, not `check`: absent here.
            if target.ends_with("test.yaml") && head.starts_with("HTTP/1.1 404") {
                continue;
            }
            failures.push(format!("{target}: {head}"));
            continue;
        }
        let ctype = header(&head, "content-type").unwrap_or("");
        let download =
            header(&head, "content-disposition").is_some_and(|d| d.starts_with("attachment"));
        if !(ctype == "text/plain; charset=utf-8" || download) {
            failures.push(format!(
                "{target}: served as {ctype:?}, not as text or a download"
            ));
        }
        if !header(&head, "content-security-policy")
            .is_some_and(|c| c.split(';').any(|d| d.trim() == "sandbox"))
        {
            failures.push(format!(
                "{target}: no `Content-Security-Policy: sandbox`: {head}"
            ));
        }
        if header(&head, "x-content-type-options") != Some("nosniff") {
            failures.push(format!("{target}: no nosniff"));
        }
        // The bytes are sent as they are, only labelled differently.
        let disk = Path::new(&dir).join(target.trim_start_matches("/runs/"));
        assert_eq!(body, std::fs::read(&disk).unwrap(), "{target}");
    }

    // What shakedown made is HTML: the run's report (its scripts allowed,
    // nothing fetched), the index, the grid, a directory listing.
    for target in [
        format!("{run}/report.html"),
        "/".to_string(),
        "/campaigns".to_string(),
        format!("{run}/"),
        format!("{run}/n1/"),
    ] {
        let (head, body) = get(&addr, &target);
        if !head.starts_with("HTTP/1.1 200") {
            failures.push(format!("{target}: {head}"));
            continue;
        }
        if header(&head, "content-type") != Some("text/html; charset=utf-8") {
            failures.push(format!("{target}: not HTML: {head}"));
        }
        let csp = header(&head, "content-security-policy").unwrap_or("");
        if !csp.contains("default-src 'none'") {
            failures.push(format!("{target}: CSP {csp:?}"));
        }
        if target.ends_with("report.html") {
            assert!(
                String::from_utf8_lossy(&body).contains("<script"),
                "the report has its script"
            );
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
