//! `shakedown serve`: a small HTTP/1.1 server (std only, one thread per
//! connection) for a results directory.
//!
//! - `/` — the index of every stored run, newest first, with verdict,
//!   test, start, duration, faults and links; `?verdict=invalid&q=etcd`
//!   filters by verdict and by a substring of the test name;
//! - `/runs.json` — the same list as JSON (same filters);
//! - `/runs/<test>/<timestamp>/` — a run directory's files, and
//!   `/runs/<path>` any file under the results directory.
//!
//! Nothing outside the results directory is served: the path is
//! percent-decoded once, any `..` or `.` segment or backslash is refused
//! (403), and the file's canonical path (symlinks resolved) must lie
//! inside the canonical results directory (403 otherwise; 404 when it
//! does not exist).

use crate::report::esc;
use crate::rundir::{list_runs, RunEntry};
use crate::summary::Verdict;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A response: status, content type and either a body or a file to stream.
pub struct Response {
    pub status: u16,
    pub content_type: String,
    pub body: Body,
    /// Extra headers, e.g. a Content-Security-Policy.
    pub headers: Vec<(String, String)>,
}

pub enum Body {
    Bytes(Vec<u8>),
    File(PathBuf, u64),
}

impl Response {
    fn text(status: u16, msg: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8".into(),
            body: Body::Bytes(format!("{status} {}: {msg}\n", reason(status)).into_bytes()),
            headers: Vec::new(),
        }
    }

    fn html(body: String) -> Response {
        Response {
            status: 200,
            content_type: "text/html; charset=utf-8".into(),
            body: Body::Bytes(body.into_bytes()),
            headers: vec![(
                "Content-Security-Policy".into(),
                "default-src 'none'; style-src 'unsafe-inline'".into(),
            )],
        }
    }

    /// The body as bytes (reads a file body): for tests.
    pub fn bytes(&self) -> Vec<u8> {
        match &self.body {
            Body::Bytes(b) => b.clone(),
            Body::File(p, _) => fs::read(p).unwrap_or_default(),
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Error",
    }
}

/// The content type served for a file name.
pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gz" => "application/gzip",
        "jsonl" | "log" | "yaml" | "yml" | "edn" | "txt" | "out" | "err" | "csv" | "tsv" => {
            "text/plain; charset=utf-8"
        }
        _ => "application/octet-stream",
    }
}

/// Percent-decodes a URL path or query component (`+` is kept in paths).
fn percent_decode(s: &str, plus_is_space: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn percent_encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (percent_decode(k, true)? == name).then(|| percent_decode(v, true))?
    })
}

/// Resolves a `/runs/...` path under the results directory, or says why not.
pub fn resolve(root: &Path, rel: &str) -> Result<PathBuf, u16> {
    let decoded = percent_decode(rel, false).ok_or(400u16)?;
    if decoded.contains('\0') || decoded.contains('\\') {
        return Err(403);
    }
    let mut path = root.to_path_buf();
    for seg in decoded.split('/') {
        match seg {
            "" => {}
            "." | ".." => return Err(403),
            s => path.push(s),
        }
    }
    let canon_root = root.canonicalize().map_err(|_| 404u16)?;
    let canon = path.canonicalize().map_err(|_| 404u16)?;
    if !canon.starts_with(&canon_root) {
        return Err(403);
    }
    Ok(canon)
}

/// Handles one request (no I/O on the connection): what `serve` answers.
pub fn handle(root: &Path, method: &str, target: &str) -> Response {
    if method != "GET" && method != "HEAD" {
        return Response::text(405, "only GET and HEAD");
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    match path {
        "/" | "/index.html" => Response::html(index_page(root, query)),
        "/runs.json" => {
            let runs = filtered(root, query);
            Response {
                status: 200,
                content_type: "application/json".into(),
                body: Body::Bytes(serde_json::to_vec_pretty(&runs).unwrap_or_default()),
                headers: Vec::new(),
            }
        }
        "/favicon.ico" => Response::text(404, "no icon"),
        p if p == "/runs" || p.starts_with("/runs/") => {
            let rel = p.strip_prefix("/runs").unwrap_or("");
            match resolve(root, rel) {
                Err(code) => Response::text(
                    code,
                    if code == 403 {
                        "outside the results directory"
                    } else {
                        "no such file"
                    },
                ),
                Ok(file) if file.is_dir() => {
                    if !p.ends_with('/') {
                        // Relative links in the listing need the slash.
                        let mut r = Response::text(301, "moved");
                        r.status = 301;
                        r.headers.push(("Location".into(), format!("{p}/")));
                        return r;
                    }
                    Response::html(dir_page(root, &file, p))
                }
                Ok(file) => match fs::metadata(&file) {
                    Ok(m) => Response {
                        status: 200,
                        content_type: content_type(&file).into(),
                        body: Body::File(file, m.len()),
                        headers: Vec::new(),
                    },
                    Err(_) => Response::text(404, "no such file"),
                },
            }
        }
        _ => Response::text(404, "no such page"),
    }
}

fn filtered(root: &Path, query: &str) -> Vec<RunEntry> {
    let verdict = query_param(query, "verdict").filter(|v| !v.is_empty() && v != "all");
    let q = query_param(query, "q").unwrap_or_default().to_lowercase();
    list_runs(root)
        .into_iter()
        .filter(|r| match &verdict {
            None => true,
            Some(v) => r.valid.map_or("none", Verdict::name) == v,
        })
        .filter(|r| {
            q.is_empty() || r.test.to_lowercase().contains(&q) || r.path.to_lowercase().contains(&q)
        })
        .collect()
}

const PAGE_CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1f2328}\
header{background:#fff;border-bottom:1px solid #d0d7de;padding:14px 28px}h1{margin:0;font-size:22px}\
main{padding:14px 28px}table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d0d7de}\
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eaeef2}th{font-size:11px;text-transform:uppercase;color:#656d76}\
a{color:#0969da;text-decoration:none}.pill{padding:1px 10px;border-radius:99px;font-weight:700;font-size:12px;text-transform:uppercase}\
.valid{background:#dafbe1;color:#1a7f37}.invalid{background:#cf222e;color:#fff}.unknown,.none{background:#fff8c5;color:#9a6700}\
form{display:flex;gap:8px;margin:0 0 12px}.muted{color:#656d76}.mono{font-family:ui-monospace,monospace}";

fn index_page(root: &Path, query: &str) -> String {
    let runs = filtered(root, query);
    let verdict = query_param(query, "verdict").unwrap_or_default();
    let q = query_param(query, "q").unwrap_or_default();
    let mut h = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>shakedown runs</title><style>{PAGE_CSS}</style></head><body>\
<header><h1>shakedown runs</h1><div class=\"muted\">{}</div></header><main>",
        esc(&root.display().to_string())
    );
    h.push_str("<form method=\"get\" action=\"/\"><select name=\"verdict\">");
    for v in ["all", "invalid", "unknown", "valid"] {
        h.push_str(&format!(
            "<option value=\"{v}\"{}>{v}</option>",
            if verdict == v { " selected" } else { "" }
        ));
    }
    h.push_str(&format!(
        "</select><input name=\"q\" placeholder=\"test name\" value=\"{}\"><button>Filter</button><span class=\"muted\">{} run(s)</span></form>",
        esc(&q),
        runs.len()
    ));
    h.push_str("<table id=\"runs\"><thead><tr><th>started</th><th>test</th><th>verdict</th><th>duration</th><th>faults</th><th>ops</th><th>files</th></tr></thead><tbody>");
    for r in &runs {
        let href = format!(
            "/runs/{}/",
            r.path
                .split('/')
                .map(percent_encode_segment)
                .collect::<Vec<_>>()
                .join("/")
        );
        let v = r.valid.map_or("none", Verdict::name);
        h.push_str(&format!(
            "<tr class=\"run\" data-path=\"{}\"><td class=\"mono\">{}</td><td>{}</td><td><span class=\"pill {v}\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"{href}report.html\">report</a> · <a href=\"{href}results.json\">results.json</a> · <a href=\"{href}\">files</a></td></tr>",
            esc(&r.path),
            esc(r.start_time.as_deref().unwrap_or(&r.stamp)),
            esc(&r.test),
            if r.valid.is_some() { v } else { "no results" },
            r.duration_s.map_or("–".into(), crate::report::human_duration),
            esc(&if r.faults.is_empty() { "none".to_string() } else { r.faults.join(", ") }),
            r.ops.map_or("–".into(), |n| n.to_string()),
        ));
        if let Some(p) = &r.problem {
            h.push_str(&format!(
                "<tr><td></td><td colspan=\"6\" class=\"muted\">{}</td></tr>",
                esc(p)
            ));
        }
    }
    if runs.is_empty() {
        h.push_str("<tr><td colspan=\"7\" class=\"muted\">No runs match.</td></tr>");
    }
    h.push_str("</tbody></table></main></body></html>");
    h
}

fn dir_page(root: &Path, dir: &Path, url: &str) -> String {
    let canon_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let rel = dir.strip_prefix(&canon_root).unwrap_or(dir);
    let mut entries: Vec<(String, bool, u64)> = fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    let m = fs::metadata(e.path()).ok();
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        m.as_ref().is_some_and(|m| m.is_dir()),
                        m.map_or(0, |m| m.len()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    let mut h = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{PAGE_CSS}</style></head><body><header><h1>{}</h1><a href=\"/\">all runs</a></header><main><table id=\"files\"><thead><tr><th>file</th><th>size</th></tr></thead><tbody>",
        esc(&rel.display().to_string()),
        esc(&rel.display().to_string()),
    );
    if url.trim_end_matches('/') != "/runs" {
        h.push_str("<tr><td><a href=\"../\">../</a></td><td></td></tr>");
    }
    for (name, is_dir, len) in entries {
        let slash = if is_dir { "/" } else { "" };
        h.push_str(&format!(
            "<tr><td><a href=\"{}{slash}\">{}{slash}</a></td><td>{}</td></tr>",
            percent_encode_segment(&name),
            esc(&name),
            if is_dir {
                String::new()
            } else {
                len.to_string()
            }
        ));
    }
    h.push_str("</tbody></table></main></body></html>");
    h
}

fn write_response(stream: &mut TcpStream, r: Response, head_only: bool) -> io::Result<()> {
    let len = match &r.body {
        Body::Bytes(b) => b.len() as u64,
        Body::File(_, n) => *n,
    };
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {len}\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nCache-Control: no-cache\r\n",
        r.status,
        reason(r.status),
        r.content_type
    );
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if head_only {
        return stream.flush();
    }
    match r.body {
        Body::Bytes(b) => stream.write_all(&b)?,
        Body::File(p, _) => {
            let mut f = fs::File::open(p)?;
            io::copy(&mut f, stream)?;
        }
    }
    stream.flush()
}

fn connection(root: &Path, stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?.take(16 * 1024));
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = match (parts.next(), parts.next()) {
        (Some(m), Some(t)) => (m.to_string(), t.to_string()),
        _ => {
            let mut s = stream;
            return write_response(&mut s, Response::text(400, "bad request line"), false);
        }
    };
    // Skip the headers.
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    let resp = if target.starts_with('/') {
        handle(root, &method, &target)
    } else {
        Response::text(400, "expected an absolute path")
    };
    let mut s = stream;
    write_response(&mut s, resp, method == "HEAD")
}

/// Serves `root` on an already bound listener until the process ends.
pub fn serve_on(listener: TcpListener, root: PathBuf) {
    let root = std::sync::Arc::new(root);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let root = root.clone();
        std::thread::spawn(move || {
            let _ = connection(&root, stream);
        });
    }
}

/// Binds `addr` and serves `root` (blocks).
pub fn serve(root: &Path, addr: SocketAddr) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    serve_on(listener, root.to_path_buf());
    Ok(())
}
