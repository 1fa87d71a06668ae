//! `shakedown serve`: a small HTTP/1.1 server (hyper on a tokio runtime of
//! two threads) for a results directory.
//!
//! - `/` — the index of every stored run (a campaign's too, from
//!   `campaigns/<campaign>/runs/`, marked with its campaign), newest first, with verdict,
//!   test, start, duration, faults and links; `?verdict=invalid&q=etcd`
//!   filters by verdict and by a substring of the test name;
//! - `/runs.json` — the same list as JSON (same filters);
//! - `/runs/<test>/<timestamp>/` — a run directory's files, and
//!   `/runs/<path>` any file under the results directory: a run's own
//!   `report.html` as HTML (see [`is_report`]), every other file as plain
//!   text or a download, with `Content-Security-Policy: sandbox`, so a
//!   node's log named `evil.html` shows its source and runs nothing;
//! - `/campaigns` — every campaign found under `campaigns/` as a grid of
//!   cells (rows = tests, columns = matrix settings, one square per run
//!   coloured by verdict, linking to its report) and its flaky cells (see
//!   [`crate::grid`]); `/campaigns.json` the same grids as JSON.
//!
//! Several results directories can be served at once (the artifacts of
//! many CI shards, say): the index and the grids gather them all, and
//! `/dirs/<k>/<path>` is a file of the k-th directory (1-based; `/runs/`
//! is the first's).
//!
//! Nothing outside the served directories is served: the path is
//! percent-decoded once, any `..` or `.` segment or backslash is refused
//! (403), and the file's canonical path (symlinks resolved) must lie
//! inside the canonical directory it was asked of (403 otherwise; 404
//! when it does not exist). Links drawn from campaign records are checked
//! the same way before they are shown.
//!
//! No client can hold the server: at most [`Limits::max_connections`]
//! connections are served at once (one more gets a 503), each request
//! must arrive whole within [`Limits::request_timeout`], and a client that
//! stops reading is dropped after [`Limits::write_timeout`].

use crate::grid::{self, Grid};
use crate::report::esc;
use crate::rundir::{list_runs, RunEntry};
use crate::summary::Verdict;
use std::fs;
use std::future::Future;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
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
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// The content type a file under a results directory is sent with, by
/// its name: `text/plain; charset=utf-8` for text (histories, logs, test
/// files, JSON, XML, and HTML, SVG or scripts a node left: shown as their
/// source, never run), `application/octet-stream` (a download) for
/// anything else. The one exception, a run's own report, is
/// [`is_report`]'s: no file name alone makes a file HTML.
pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "jsonl" | "json" | "log" | "yaml" | "yml" | "edn" | "txt" | "out" | "err" | "csv"
        | "tsv" | "xml" | "html" | "htm" | "xhtml" | "svg" | "js" | "css" | "md" => TEXT,
        _ => DOWNLOAD,
    }
}

const TEXT: &str = "text/plain; charset=utf-8";
const DOWNLOAD: &str = "application/octet-stream";

/// The policy of every file served as it is: no script, no plugin, no
/// request, an origin of its own, whatever the browser makes of it.
const FILE_CSP: &str = "default-src 'none'; sandbox";

/// The policy of a run's report: its own inline script and style (what
/// its `<meta>` allows), nothing fetched, and an origin of its own.
const REPORT_CSP: &str =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; sandbox allow-scripts";

/// Whether `file` (canonical, under a served directory) is a report
/// shakedown wrote: `report.html` in a run directory, one holding the
/// run's `results.json`, that is not itself inside a run directory (a
/// node's logs are saved in `<run>/<node>/`, and a log may be named
/// anything, `report.html` and `results.json` included).
pub fn is_report(file: &Path) -> bool {
    let holds_results = |d: &Path| d.join(crate::rundir::RESULTS_FILE).is_file();
    file.file_name()
        .is_some_and(|n| n == crate::rundir::REPORT_FILE)
        && file
            .parent()
            .is_some_and(|run| holds_results(run) && !run.parent().is_some_and(holds_results))
}

/// A file sent as it is: a report as HTML, anything else as text or a
/// download (see [`content_type`]).
fn file_response(file: PathBuf, len: u64) -> Response {
    if is_report(&file) {
        return Response {
            status: 200,
            content_type: "text/html; charset=utf-8".into(),
            body: Body::File(file, len),
            headers: vec![("Content-Security-Policy".into(), REPORT_CSP.into())],
        };
    }
    let content_type = content_type(&file);
    let mut headers = vec![("Content-Security-Policy".into(), FILE_CSP.into())];
    if content_type == DOWNLOAD {
        // A name for the saved file that no header parser can misread.
        let name: String = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        headers.push((
            "Content-Disposition".into(),
            format!("attachment; filename=\"{name}\""),
        ));
    }
    Response {
        status: 200,
        content_type: content_type.into(),
        body: Body::File(file, len),
        headers,
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
    handle_dirs(&[root.to_path_buf()], method, target)
}

/// Handles one request for several results directories.
pub fn handle_dirs(roots: &[PathBuf], method: &str, target: &str) -> Response {
    if method != "GET" && method != "HEAD" {
        return Response::text(405, "only GET and HEAD");
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    match path {
        "/" | "/index.html" => Response::html(index_page(roots, query)),
        "/runs.json" => json(&listed(roots, query)),
        "/campaigns" | "/campaigns/" => Response::html(campaigns_page(roots)),
        "/campaigns.json" => json(&campaign_grids(roots)),
        "/favicon.ico" => Response::text(404, "no icon"),
        p if p == "/runs" || p.starts_with("/runs/") => {
            file_or_dir(roots, 0, "/runs", p.strip_prefix("/runs").unwrap_or(""), p)
        }
        p if p.starts_with("/dirs/") => {
            let rest = &p["/dirs/".len()..];
            let (k, rel) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            // Digits only, no leading zero: one URL per directory.
            match k.parse::<usize>() {
                Ok(n) if n >= 1 && n <= roots.len() && n.to_string() == k => {
                    file_or_dir(roots, n - 1, &format!("/dirs/{n}"), rel, p)
                }
                _ => Response::text(404, "no such results directory"),
            }
        }
        _ => Response::text(404, "no such page"),
    }
}

fn json<T: serde::Serialize>(value: &T) -> Response {
    Response {
        status: 200,
        content_type: "application/json".into(),
        body: Body::Bytes(serde_json::to_vec_pretty(value).unwrap_or_default()),
        headers: Vec::new(),
    }
}

/// The URL of `rel` (a `/`-separated path) in the `k`-th served
/// directory: `/runs/...` when one is served, `/dirs/<k+1>/...` otherwise.
fn href(roots: usize, k: usize, rel: &str) -> String {
    let encoded = rel
        .split('/')
        .map(percent_encode_segment)
        .collect::<Vec<_>>()
        .join("/");
    if roots == 1 {
        format!("/runs/{encoded}")
    } else {
        format!("/dirs/{}/{encoded}", k + 1)
    }
}

/// A file or directory listing of the `k`-th served directory; `top` is
/// the URL of that directory, `p` the URL asked for.
fn file_or_dir(roots: &[PathBuf], k: usize, top: &str, rel: &str, p: &str) -> Response {
    let root = &roots[k];
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
                r.headers.push(("Location".into(), format!("{p}/")));
                return r;
            }
            Response::html(dir_page(root, &file, p, top))
        }
        Ok(file) => match fs::metadata(&file) {
            Ok(m) => file_response(file, m.len()),
            Err(_) => Response::text(404, "no such file"),
        },
    }
}

/// The runs of every served directory matching the query's filters,
/// newest first, each with the index of its directory.
fn filtered(roots: &[PathBuf], query: &str) -> Vec<(usize, RunEntry)> {
    let verdict = query_param(query, "verdict").filter(|v| !v.is_empty() && v != "all");
    let q = query_param(query, "q").unwrap_or_default().to_lowercase();
    let mut runs: Vec<(usize, RunEntry)> = roots
        .iter()
        .enumerate()
        .flat_map(|(k, root)| list_runs(root).into_iter().map(move |r| (k, r)))
        .filter(|(_, r)| match &verdict {
            None => true,
            Some(v) => r.valid.map_or("none", Verdict::name) == v,
        })
        .filter(|(_, r)| {
            q.is_empty() || r.test.to_lowercase().contains(&q) || r.path.to_lowercase().contains(&q)
        })
        .collect();
    if roots.len() > 1 {
        // Each directory's list is newest first; so is the whole.
        let key = |r: &RunEntry| match &r.start_time {
            Some(t) => t.replace(['-', ':'], ""),
            None => r.stamp.clone(),
        };
        runs.sort_by_key(|(_, r)| std::cmp::Reverse(key(r)));
    }
    runs
}

/// `/runs.json`: the runs as listed; with several directories each names
/// its own (`"dir": 1` ..).
fn listed(roots: &[PathBuf], query: &str) -> Vec<serde_json::Value> {
    filtered(roots, query)
        .into_iter()
        .map(|(k, r)| {
            let mut v = serde_json::to_value(&r).unwrap_or_default();
            if roots.len() > 1 {
                if let serde_json::Value::Object(m) = &mut v {
                    m.insert("dir".into(), (k + 1).into());
                }
            }
            v
        })
        .collect()
}

const PAGE_CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1f2328}\
header{background:#fff;border-bottom:1px solid #d0d7de;padding:14px 28px}h1{margin:0;font-size:22px}\
main{padding:14px 28px}table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d0d7de}\
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eaeef2}th{font-size:11px;text-transform:uppercase;color:#656d76}\
a{color:#0969da;text-decoration:none}.pill{padding:1px 10px;border-radius:99px;font-weight:700;font-size:12px;text-transform:uppercase}\
.valid{background:#dafbe1;color:#1a7f37}.invalid{background:#cf222e;color:#fff}.unknown,.none{background:#fff8c5;color:#9a6700}\
form{display:flex;gap:8px;margin:0 0 12px}.muted{color:#656d76}.mono{font-family:ui-monospace,monospace}\
.grid td,.grid th{white-space:nowrap}.sq{display:inline-block;width:16px;height:16px;margin:1px;border-radius:3px;vertical-align:middle}\
.sq.valid{background:#2da44e}.sq.invalid{background:#cf222e}.sq.unknown{background:#d4a72c}.sq.error{background:#6e7781}\
.sq.interrupted{background:repeating-linear-gradient(45deg,#8c959f 0 3px,#fff 3px 6px);border:1px solid #8c959f;width:14px;height:14px}\
.sq.not-run{background:#fff;border:1px dashed #6e7781;width:14px;height:14px}\
td.flaky{background:#fff1e5;outline:2px solid #bc4c00}.flag{color:#bc4c00;font-weight:700}\
section{margin:0 0 28px}h2{font-size:18px;margin:8px 0}.grid th.mono{text-transform:none;font-size:12px}";

/// The page header: the title, the served directories, the links.
fn header(roots: &[PathBuf], title: &str) -> String {
    let dirs = roots
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let name = esc(&r.display().to_string());
            if roots.len() > 1 {
                format!("<a href=\"/dirs/{}/\">{}</a> {name}", k + 1, k + 1)
            } else {
                name
            }
        })
        .collect::<Vec<_>>()
        .join(" · ");
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{PAGE_CSS}</style></head><body>\
<header><h1>{t}</h1><div class=\"muted\">{dirs}</div><div><a href=\"/\">runs</a> · <a href=\"/campaigns\">campaigns</a></div></header><main>",
        t = esc(title)
    )
}

fn index_page(roots: &[PathBuf], query: &str) -> String {
    let runs = filtered(roots, query);
    let verdict = query_param(query, "verdict").unwrap_or_default();
    let q = query_param(query, "q").unwrap_or_default();
    let mut h = header(roots, "shakedown runs");
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
    for (k, r) in &runs {
        let href = format!("{}/", href(roots.len(), *k, &r.path));
        let v = r.valid.map_or("none", Verdict::name);
        h.push_str(&format!(
            "<tr class=\"run\" data-path=\"{}\"><td class=\"mono\">{}</td><td>{}{}</td><td><span class=\"pill {v}\">{}</span>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"{href}report.html\">report</a> · <a href=\"{href}results.json\">results.json</a> · <a href=\"{href}\">files</a></td></tr>",
            esc(&r.path),
            esc(r.start_time.as_deref().unwrap_or(&r.stamp)),
            esc(&r.test),
            r.campaign.as_ref().map_or(String::new(), |c| format!(
                " <span class=\"muted campaign\">campaign <a href=\"/campaigns\">{}</a></span>",
                esc(c)
            )),
            if r.valid.is_some() { v } else { "no results" },
            if r.interrupted { " <span class=\"muted\">interrupted</span>" } else { "" },
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

/// Every campaign's grid over the served directories. A run is linked
/// only when its directory resolves inside the directory its record
/// came from.
fn campaign_grids(roots: &[PathBuf]) -> Vec<Grid> {
    grid::grids(grid::gather(roots), |k, rel| {
        resolve(&roots[k], rel).is_ok_and(|p| p.is_dir())
    })
}

fn campaigns_page(roots: &[PathBuf]) -> String {
    let grids = campaign_grids(roots);
    let mut h = header(roots, "shakedown campaigns");
    h.push_str("<p class=\"muted legend\">One square per run: <span class=\"sq valid\"></span> valid <span class=\"sq invalid\"></span> invalid <span class=\"sq unknown\"></span> unknown <span class=\"sq error\"></span> harness error <span class=\"sq interrupted\"></span> interrupted <span class=\"sq not-run\"></span> not run. A cell is <span class=\"flag\">flaky</span> when its finished runs disagree.</p>");
    if grids.is_empty() {
        h.push_str("<p class=\"muted\">No campaign records here (they are kept under <span class=\"mono\">campaigns/&lt;name&gt;/cells/</span>).</p>");
    }
    for g in &grids {
        let totals = g
            .totals
            .iter()
            .map(|(v, n)| format!("{n} {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        h.push_str(&format!(
            "<section class=\"campaign\" data-campaign=\"{c}\"><h2>{c}</h2><p class=\"muted\">{} test(s) × {} setting(s); runs: {}{}</p>",
            g.rows.len(),
            g.columns.len(),
            esc(&totals),
            if g.flaky.is_empty() {
                String::new()
            } else {
                format!("; <span class=\"flag\">{} flaky cell(s)</span>", g.flaky.len())
            },
            c = esc(&g.campaign),
        ));
        h.push_str("<table class=\"grid\"><thead><tr><th>test</th>");
        for c in &g.columns {
            let label = if c.is_empty() { "(no matrix)" } else { c };
            h.push_str(&format!("<th class=\"mono\">{}</th>", esc(label)));
        }
        h.push_str("</tr></thead><tbody>");
        for row in &g.rows {
            h.push_str(&format!("<tr><td>{}</td>", esc(&row.test)));
            for (column, squares) in row.cells.iter().enumerate() {
                let flaky = g
                    .flaky
                    .iter()
                    .any(|f| f.test == row.test && f.settings == g.columns[column]);
                h.push_str(if flaky {
                    "<td class=\"cell flaky\" title=\"flaky: its runs disagree\">"
                } else {
                    "<td class=\"cell\">"
                });
                for s in squares {
                    let title = esc(&format!(
                        "{}: {}{} ({}){}",
                        s.cell,
                        s.verdict,
                        if s.interrupted { ", interrupted" } else { "" },
                        crate::report::human_duration(s.duration_s),
                        if s.run.is_none() {
                            "; no run directory here"
                        } else {
                            ""
                        }
                    ));
                    let data = format!(
                        "class=\"sq {}\" data-cell=\"{}\" data-verdict=\"{}\" title=\"{title}\"",
                        s.class(),
                        esc(&s.cell),
                        esc(&s.verdict)
                    );
                    match &s.run {
                        Some(rel) => h.push_str(&format!(
                            "<a {data} href=\"{}/report.html\"></a>",
                            href(roots.len(), s.root, rel)
                        )),
                        None => h.push_str(&format!("<span {data}></span>")),
                    }
                }
                if flaky {
                    h.push_str(" <span class=\"flag\">flaky</span>");
                }
                h.push_str("</td>");
            }
            h.push_str("</tr>");
        }
        h.push_str("</tbody></table>");
        if !g.flaky.is_empty() {
            h.push_str("<h3>Flaky cells</h3><ul class=\"flaky-list\">");
            for f in &g.flaky {
                let counts = f
                    .verdicts
                    .iter()
                    .map(|(v, n)| format!("{v} {n}×"))
                    .collect::<Vec<_>>()
                    .join(", ");
                h.push_str(&format!(
                    "<li class=\"flaky\"><b>{}</b> <span class=\"mono\">{}</span>: {}</li>",
                    esc(&f.test),
                    esc(&f.settings),
                    esc(&counts)
                ));
            }
            h.push_str("</ul>");
        }
        h.push_str("</section>");
    }
    h.push_str("</main></body></html>");
    h
}

fn dir_page(root: &Path, dir: &Path, url: &str, top: &str) -> String {
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
    if url.trim_end_matches('/') != top {
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

/// What keeps one client, or many, from holding the server.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections served at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// The whole request (request line and headers; a body is never read)
    /// must arrive within this of the connection's start, else the
    /// connection is closed: a client sending one byte at a time holds a
    /// slot this long at most.
    pub request_timeout: Duration,
    /// A response write that makes no progress for this long (a client
    /// that stopped reading) closes the connection.
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 256,
            request_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `root` on an already bound listener until the process ends,
/// with the default [`Limits`].
pub fn serve_on(listener: TcpListener, root: PathBuf) -> io::Result<()> {
    serve_with(listener, root, Limits::default())
}

/// Serves `root` on an already bound listener until the process ends: one
/// request per connection (`Connection: close`), on a small tokio runtime
/// of its own (no thread per connection).
pub fn serve_with(listener: TcpListener, root: PathBuf, limits: Limits) -> io::Result<()> {
    serve_dirs(listener, vec![root], limits)
}

/// Serves several results directories as one (see the module doc) until
/// the process ends.
pub fn serve_dirs(listener: TcpListener, roots: Vec<PathBuf>, limits: Limits) -> io::Result<()> {
    if roots.is_empty() {
        return Err(io::Error::other("no results directory to serve"));
    }
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("shakedown-serve")
        .enable_all()
        .build()?;
    runtime.block_on(accept_loop(listener, Arc::new(roots), limits))
}

/// Binds `addr` and serves `root` (blocks).
pub fn serve(root: &Path, addr: SocketAddr) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    serve_on(listener, root.to_path_buf())
}

async fn accept_loop(
    listener: TcpListener,
    roots: Arc<Vec<PathBuf>>,
    limits: Limits,
) -> io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: wait for connections
            // to end rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Full: say so if the socket takes it at once, and close.
            let _ = stream.try_write(BUSY);
            continue;
        };
        let roots = roots.clone();
        tokio::spawn(async move {
            connection(stream, roots, limits).await;
            drop(slot);
        });
    }
}

const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 46\r\nConnection: close\r\n\r\n503 Service Unavailable: too many connections\n";

async fn connection(stream: tokio::net::TcpStream, roots: Arc<Vec<PathBuf>>, limits: Limits) {
    let dispatched = Arc::new(AtomicBool::new(false));
    let io = Deadlines {
        stream,
        request_by: Box::pin(tokio::time::sleep(limits.request_timeout)),
        dispatched: dispatched.clone(),
        write_timeout: limits.write_timeout,
        write_stall: None,
    };
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        dispatched.store(true, Ordering::Relaxed);
        let response = respond(&roots, &req);
        async move { Ok::<_, std::convert::Infallible>(response) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(false)
        .title_case_headers(true)
        .max_buf_size(16 * 1024)
        .serve_connection(hyper_util::rt::TokioIo::new(io), service)
        .await;
}

/// The HTTP response for a request: [`handle`]'s answer with the headers
/// every response carries.
fn respond(
    roots: &[PathBuf],
    req: &hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Payload> {
    let method = req.method().as_str();
    let target = req.uri().path_and_query().map_or("", |p| p.as_str());
    let r = if req.uri().scheme().is_none() && target.starts_with('/') {
        handle_dirs(roots, method, target)
    } else {
        Response::text(400, "expected an absolute path")
    };
    let (len, payload) = match r.body {
        Body::Bytes(b) => (b.len() as u64, Payload::Bytes(Some(b.into()))),
        Body::File(path, len) => match fs::File::open(&path) {
            Ok(file) => (len, Payload::File { file, left: len }),
            Err(_) => return plain(Response::text(404, "no such file"), method),
        },
    };
    let head_only = method == "HEAD";
    let mut builder = hyper::Response::builder()
        .status(r.status)
        .header("Content-Type", &r.content_type)
        .header("Content-Length", len)
        .header("X-Content-Type-Options", "nosniff")
        .header("Referrer-Policy", "no-referrer")
        .header("Cache-Control", "no-cache");
    for (k, v) in &r.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let body = if head_only {
        Payload::Bytes(None)
    } else {
        payload
    };
    builder
        .body(body)
        .unwrap_or_else(|_| plain(Response::text(500, "bad response header"), method))
}

/// A short text response, built without anything that can fail.
fn plain(r: Response, method: &str) -> hyper::Response<Payload> {
    let bytes = r.bytes();
    let mut resp = hyper::Response::new(if method == "HEAD" {
        Payload::Bytes(None)
    } else {
        Payload::Bytes(Some(bytes.clone().into()))
    });
    *resp.status_mut() =
        hyper::StatusCode::from_u16(r.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(hyper::header::CONTENT_LENGTH, bytes.len().into());
    resp
}

/// A response body: bytes in memory, or a file read as it is sent (in
/// chunks; a history may be large).
enum Payload {
    Bytes(Option<hyper::body::Bytes>),
    File { file: fs::File, left: u64 },
}

impl hyper::body::Body for Payload {
    type Data = hyper::body::Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        const CHUNK: u64 = 64 * 1024;
        match self.get_mut() {
            Payload::Bytes(b) => Poll::Ready(b.take().map(|b| Ok(hyper::body::Frame::data(b)))),
            Payload::File { left: 0, .. } => Poll::Ready(None),
            Payload::File { file, left } => {
                // A local file read of one chunk: short enough to do here.
                let mut buf = vec![0; CHUNK.min(*left) as usize];
                Poll::Ready(Some(match file.read(&mut buf) {
                    Ok(0) => Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file shrank while it was sent",
                    )),
                    Ok(n) => {
                        buf.truncate(n);
                        *left -= n as u64;
                        Ok(hyper::body::Frame::data(buf.into()))
                    }
                    Err(e) => Err(e),
                }))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Payload::Bytes(b) => b.is_none(),
            Payload::File { left, .. } => *left == 0,
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Payload::Bytes(b) => {
                hyper::body::SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64))
            }
            Payload::File { left, .. } => hyper::body::SizeHint::with_exact(*left),
        }
    }
}

/// A connection with the two deadlines of [`Limits`]: reads fail once the
/// request is overdue (until it has been dispatched; after that the
/// client's silence is fine), and writes fail once one has made no
/// progress for `write_timeout`.
struct Deadlines {
    stream: tokio::net::TcpStream,
    request_by: Pin<Box<tokio::time::Sleep>>,
    /// Set when the request reached the handler.
    dispatched: Arc<AtomicBool>,
    write_timeout: Duration,
    /// Armed while a write waits; cleared when one goes through.
    write_stall: Option<Pin<Box<tokio::time::Sleep>>>,
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what.to_string())
}

impl Deadlines {
    /// Maps a write's outcome through the stall timer.
    fn stalled<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.write_stall = None;
            return polled;
        }
        let timeout = self.write_timeout;
        let timer = self
            .write_stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(timed_out("the client stopped reading"))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl tokio::io::AsyncRead for Deadlines {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.dispatched.load(Ordering::Relaxed) && this.request_by.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(timed_out("the request took too long")));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Deadlines {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.stalled(cx, polled)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_flush(cx);
        this.stalled(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
