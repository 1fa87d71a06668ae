//! `shakedown serve`: a small HTTP/1.1 server (hyper on a tokio runtime of
//! two threads) for a results directory.
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
//!
//! No client can hold the server: at most [`Limits::max_connections`]
//! connections are served at once (one more gets a 503), each request
//! must arrive whole within [`Limits::request_timeout`], and a client that
//! stops reading is dropped after [`Limits::write_timeout`].

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
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("shakedown-serve")
        .enable_all()
        .build()?;
    runtime.block_on(accept_loop(listener, Arc::new(root), limits))
}

/// Binds `addr` and serves `root` (blocks).
pub fn serve(root: &Path, addr: SocketAddr) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    serve_on(listener, root.to_path_buf())
}

async fn accept_loop(listener: TcpListener, root: Arc<PathBuf>, limits: Limits) -> io::Result<()> {
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
        let root = root.clone();
        tokio::spawn(async move {
            connection(stream, root, limits).await;
            drop(slot);
        });
    }
}

const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 46\r\nConnection: close\r\n\r\n503 Service Unavailable: too many connections\n";

async fn connection(stream: tokio::net::TcpStream, root: Arc<PathBuf>, limits: Limits) {
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
        let response = respond(&root, &req);
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
fn respond(root: &Path, req: &hyper::Request<hyper::body::Incoming>) -> hyper::Response<Payload> {
    let method = req.method().as_str();
    let target = req.uri().path_and_query().map_or("", |p| p.as_str());
    let r = if req.uri().scheme().is_none() && target.starts_with('/') {
        handle(root, method, target)
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
