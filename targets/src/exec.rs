//! The exec client protocol: a database client in any language.
//!
//! shakedown starts `client.command` once per worker process on the
//! controller (working directory: the test file's), with the environment
//! `SHAKEDOWN_NODE`, `SHAKEDOWN_HOST` (the node this worker talks to),
//! `SHAKEDOWN_NODES`, `SHAKEDOWN_HOSTS` (all, comma-separated),
//! `SHAKEDOWN_PROCESS` (its history process id) and `SHAKEDOWN_WORKLOAD`.
//! For each operation it writes one JSON line to the client's stdin:
//!
//! ```json
//! {"f":"cas","key":7,"value":[1,2]}
//! ```
//!
//! (`key` only where the workload has one) and reads one JSON line back:
//!
//! ```json
//! {"type":"ok","value":3}
//! {"type":"fail","error":"compare failed"}
//! {"type":"info","error":"timeout"}
//! ```
//!
//! `ok`: it happened; `value` is the completion's value (what a read
//! returned, a txn's completed micro-ops); absent means the request's
//! value. `fail`: it certainly did not happen. `info`: unknown. The
//! client's stderr goes to `<run>/clients/process-<N>.stderr`.
//!
//! A client that exits, prints something that is not such a line, answers
//! with an unknown `type`, or hangs past the run's `op-timeout` gives an
//! `info` for that operation and a warning naming it and its stderr file;
//! the run loop then drops it (the process is killed) and the worker goes
//! on with a fresh client under a new process id. So does a client that
//! prints a second line after its reply, or prints anything while no
//! request is outstanding: without request ids in the protocol such a line
//! would be taken as the answer to the next request, and every answer after
//! it would shift onto the wrong op. An `ok` whose value does not fit the
//! request (see `workloads::answer`) is a protocol error too.
//!
//! Each client runs in a process group of its own, killed whole when the
//! client is dropped: a wrapper script's children die with it.

use crate::Ctx;
use harness::run::{Client, Completion, Connect, OpRequest};
use history::Value;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Longest reply line read before the client is declared broken.
pub const MAX_REPLY: u64 = 16 << 20;
/// Warnings kept per kind of problem (the rest are counted), so a flood
/// of one kind does not hide another.
const MAX_WARNINGS_PER_KIND: usize = 5;

/// `client: {command: ...}`: a program speaking the exec protocol (JSON
/// lines on stdin and stdout), one per worker, on the controller.
#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecSpec {
    /// Program and arguments, run on the controller; a program with a
    /// slash is relative to the test file, else found on the PATH.
    #[schemars(length(min = 1), example = ["python3", "client.py"])]
    pub command: Vec<String>,
    /// Extra environment for the client: a map of variable to value.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

impl ExecSpec {
    /// The program must exist: relative to the test file when it has a
    /// slash, else on the PATH.
    pub fn validate(&self, test_dir: &Path) -> Result<(), String> {
        let Some(program) = self.command.first() else {
            return Err("target.client.command: expected a program and its arguments, e.g. [python3, client.py]".into());
        };
        if program.contains('/') {
            let path = test_dir.join(program);
            if !path.is_file() {
                return Err(format!(
                    "target.client.command: {} does not exist (relative paths are relative to the test file)",
                    path.display()
                ));
            }
        } else if !on_path(program) {
            return Err(format!(
                "target.client.command: {program:?} is not on the PATH"
            ));
        }
        // Nothing in `client` is expanded: a `{host}` would reach the
        // program as text, and the client would talk to no node.
        const WHY: &str = "is not expanded in client settings (the client runs on the controller; its node is in SHAKEDOWN_NODE and SHAKEDOWN_HOST, all nodes in SHAKEDOWN_NODES and SHAKEDOWN_HOSTS)";
        for (i, arg) in self.command.iter().enumerate() {
            if let Some(word) = braced_words(arg).first() {
                return Err(format!("target.client.command[{i}]: {{{word}}} {WHY}"));
            }
        }
        for (key, value) in &self.env {
            if let Some(word) = braced_words(value).first() {
                return Err(format!("target.client.env.{key}: {{{word}}} {WHY}"));
            }
        }
        Ok(())
    }
}

/// The `{word}`s in `text` that look like placeholders (a word of letters,
/// digits and `_`), in order: a shell's `{ true; }` or JSON is not one.
pub fn braced_words(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let word = &after[..close];
        if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            found.push(word);
            rest = &after[close + 1..];
        } else {
            // `{{a}` or `{ {a}`: the word may start at a later brace.
            rest = after;
        }
    }
    found
}

fn on_path(program: &str) -> bool {
    which(program).is_some()
}

/// `program` found on the PATH.
fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Where Debian's `python3-*` packages install their modules for.
pub const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// The Python interpreter `command` runs, if it runs one other than
/// [`SYSTEM_PYTHON`]: the program itself (`python3.12`, a venv's
/// `python`, whichever `python3` is first on the PATH), the program after
/// `env`, or a script's `#!` interpreter. Said with how it was found.
pub fn foreign_python(command: &[String], cwd: &Path) -> Option<(PathBuf, String)> {
    let resolve = |p: &str| -> Option<PathBuf> {
        if p.contains('/') {
            Some(cwd.join(p))
        } else {
            which(p)
        }
    };
    let is_python = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("python"))
    };
    let is_env = |p: &Path| p.file_name().is_some_and(|n| n == "env");
    // `env [-S] [VAR=value ...] program`: the program.
    let after_env = |words: &[&str]| -> Option<String> {
        words
            .iter()
            .find(|w| !w.starts_with('-') && !w.contains('='))
            .map(|w| w.to_string())
    };
    let mut program = resolve(command.first()?)?;
    let mut how = format!("{:?} in client.command", command[0]);
    if is_env(&program) {
        let rest: Vec<&str> = command[1..].iter().map(String::as_str).collect();
        let name = after_env(&rest)?;
        program = resolve(&name)?;
        how = format!("{name:?} after env in client.command");
    }
    let interpreter = if is_python(&program) {
        if !command[0].contains('/') {
            how = format!("{:?} on the PATH", command[0]);
        }
        program
    } else {
        // A script: its `#!` line.
        let mut head = [0u8; 256];
        let n = std::fs::File::open(&program)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
            .ok()?;
        let first = String::from_utf8_lossy(&head[..n]);
        let line = first.lines().next()?.strip_prefix("#!")?.to_string();
        let words: Vec<&str> = line.split_whitespace().collect();
        let interp = PathBuf::from(words.first()?);
        how = format!("the #! line of {}", program.display());
        if is_env(&interp) {
            let name = after_env(&words[1..])?;
            how = format!(
                "{name:?} on the PATH, from the #! line of {}",
                program.display()
            );
            which(&name)?
        } else {
            interp
        }
    };
    if !is_python(&interpreter) {
        return None;
    }
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    if canon(&interpreter) == canon(Path::new(SYSTEM_PYTHON)) {
        return None;
    }
    Some((interpreter, how))
}

/// The first line of a client's stderr that tells a Python import failed.
fn import_error(stderr: &Path) -> Option<String> {
    let text = std::fs::read(stderr).ok()?;
    let text = String::from_utf8_lossy(&text[..text.len().min(64 << 10)]);
    text.lines()
        .rev()
        .find(|l| l.contains("ModuleNotFoundError") || l.contains("ImportError"))
        .map(|l| l.trim().chars().take(200).collect())
}

/// Starts one client program per worker process.
pub struct ExecConnect {
    spec: ExecSpec,
    cwd: PathBuf,
    hosts: BTreeMap<String, String>,
    all_nodes: String,
    all_hosts: String,
    workload: String,
    stderr_dir: PathBuf,
    warnings: Warnings,
    /// The client's Python, when it is not the system's (and how it was found).
    python: Option<(PathBuf, String)>,
}

impl ExecConnect {
    pub fn new(
        spec: ExecSpec,
        ctx: &Ctx,
        workload: &str,
        run_dir: &Path,
    ) -> Result<ExecConnect, String> {
        let stderr_dir = run_dir.join("clients");
        std::fs::create_dir_all(&stderr_dir)
            .map_err(|e| format!("{}: {e}", stderr_dir.display()))?;
        let names: Vec<&str> = ctx.nodes.iter().map(|n| n.name.as_str()).collect();
        let hosts: Vec<&str> = ctx.nodes.iter().map(|n| n.host.as_str()).collect();
        Ok(ExecConnect {
            cwd: ctx.test_dir.clone(),
            hosts: ctx
                .nodes
                .iter()
                .map(|n| (n.name.clone(), n.host.clone()))
                .collect(),
            all_nodes: names.join(","),
            all_hosts: hosts.join(","),
            workload: workload.to_string(),
            stderr_dir,
            warnings: Warnings::default(),
            python: foreign_python(&spec.command, &ctx.test_dir),
            spec,
        })
    }
}

impl Connect for ExecConnect {
    type Client = ExecClient;

    async fn open(&self, node: &str, process: u64) -> Result<ExecClient, String> {
        let host = self.hosts.get(node).map_or(node, String::as_str);
        let stderr_path = self.stderr_dir.join(format!("process-{process}.stderr"));
        let stderr = std::fs::File::create(&stderr_path)
            .map_err(|e| format!("{}: {e}", stderr_path.display()))?;
        let program = &self.spec.command[0];
        let mut child = Command::new(program)
            .args(&self.spec.command[1..])
            .current_dir(&self.cwd)
            .envs(&self.spec.env)
            .env("SHAKEDOWN_NODE", node)
            .env("SHAKEDOWN_HOST", host)
            .env("SHAKEDOWN_NODES", &self.all_nodes)
            .env("SHAKEDOWN_HOSTS", &self.all_hosts)
            .env("SHAKEDOWN_PROCESS", process.to_string())
            .env("SHAKEDOWN_WORKLOAD", &self.workload)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            // Its own process group, so that dropping the client kills
            // what it started too (a wrapper script's children).
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting client {:?}: {e}", self.spec.command.join(" ")))?;
        let pgid = child.id();
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Ok(ExecClient {
            child,
            pgid,
            stdin,
            stdout,
            line: String::new(),
            name: format!(
                "client {:?} of process {process} (stderr: {})",
                self.spec.command.join(" "),
                stderr_path.display()
            ),
            in_flight: None,
            warnings: self.warnings.clone(),
            answered: false,
            stderr_path,
            python: self.python.clone(),
        })
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.take()
    }
}

/// Warnings shared by every client of a run.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Kept>>);

/// (kind, message) of the warnings kept, and how many more were dropped.
type Kept = (Vec<(String, String)>, usize);

impl Warnings {
    /// `kind` groups warnings for the cap: "not a reply line", "no answer" ...
    fn push(&self, kind: &str, msg: String) {
        tracing::warn!("{msg}");
        let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if w.0.iter().filter(|(k, _)| k == kind).count() < MAX_WARNINGS_PER_KIND {
            w.0.push((kind.to_string(), msg));
        } else {
            w.1 += 1;
        }
    }

    /// `push`, unless a warning of `kind` was kept already.
    fn push_once(&self, kind: &str, msg: String) {
        let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if w.0.iter().any(|(k, _)| k == kind) {
            return;
        }
        tracing::warn!("{msg}");
        w.0.push((kind.to_string(), msg));
    }

    fn take(&self) -> Vec<String> {
        let w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<String> = w.0.iter().map(|(_, m)| m.clone()).collect();
        if w.1 > 0 {
            out.push(format!("... and {} more client problem(s)", w.1));
        }
        out
    }
}

/// One running client program.
pub struct ExecClient {
    child: Child,
    /// The client's process group (its pid at spawn): kept, because the
    /// child's pid is gone once it is reaped while its children may live.
    pgid: Option<u32>,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    line: String,
    name: String,
    /// The `f` of the request sent and not yet answered: if the client is
    /// dropped then, it hung (the run loop's timeout fired).
    in_flight: Option<&'static str>,
    warnings: Warnings,
    /// It answered a request: a later exit is not a failure to start.
    answered: bool,
    stderr_path: PathBuf,
    python: Option<(PathBuf, String)>,
}

/// A reply line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    #[serde(rename = "type")]
    kind: String,
    /// Absent: the request's value. `null` is a value (a read of nothing).
    #[serde(default, deserialize_with = "present")]
    value: Option<Value>,
    #[serde(default)]
    error: Option<String>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The request line for an operation.
pub fn request_line(op: &OpRequest) -> String {
    let mut obj = serde_json::Map::new();
    obj.insert("f".into(), serde_json::Value::String(op.f.to_string()));
    if let Some(k) = &op.key {
        obj.insert("key".into(), to_json(k));
    }
    obj.insert("value".into(), to_json(&op.value));
    let mut line = serde_json::Value::Object(obj).to_string();
    line.push('\n');
    line
}

fn to_json(v: &Value) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

impl ExecClient {
    fn broken(&mut self, what: String) -> Completion {
        // The problem's kind: its first words ("the client exited", "not a reply").
        let kind: String = what
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        self.broken_as(&kind, what)
    }

    /// [`ExecClient::broken`], counted under `kind` for the warnings' cap.
    fn broken_as(&mut self, kind: &str, what: String) -> Completion {
        self.in_flight = None;
        let msg = format!("{}: {what}", self.name);
        self.warnings.push(kind, msg);
        Completion::info(what)
    }

    /// Bytes the client printed that were not read yet: in the reader's
    /// buffer, or still in the pipe (asked of the kernel, so a line that
    /// arrived while nobody polled the pipe is seen too).
    fn unread(&self) -> usize {
        let mut queued: libc::c_int = 0;
        let fd = self.stdout.get_ref().as_raw_fd();
        // SAFETY: FIONREAD stores one c_int through the pointer, which
        // points at `queued`; `fd` is the pipe this client owns.
        let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut queued) };
        let queued = if r == 0 { queued.max(0) as usize } else { 0 };
        self.stdout.buffer().len() + queued
    }

    /// The start of what is unread, for a message.
    async fn unread_text(&mut self) -> String {
        let _ = tokio::time::timeout(std::time::Duration::from_millis(20), self.stdout.fill_buf())
            .await;
        let text = String::from_utf8_lossy(self.stdout.buffer());
        text.lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(120)
            .collect()
    }

    fn exited(&mut self) -> String {
        self.import_hint();
        match self.child.try_wait() {
            Ok(Some(status)) => format!("the client exited ({status})"),
            _ => "the client closed its stdout".to_string(),
        }
    }
}

impl ExecClient {
    /// A Python client that died before its first answer, its stderr
    /// telling an import failed, run by a Python other than the system's:
    /// the module is likely installed for the other one. Said once a run.
    fn import_hint(&mut self) {
        if self.answered {
            return;
        }
        let Some((python, how)) = &self.python else {
            return;
        };
        let Some(line) = import_error(&self.stderr_path) else {
            return;
        };
        self.warnings.push_once(
            "python import",
            format!(
                "the Python client failed to start: {line:?} (in {}). It ran under {} ({how}), not {SYSTEM_PYTHON}, where Debian's python3-* packages install: install the module for that interpreter (`{} -m pip install ...`), or set client.command to [{SYSTEM_PYTHON}, ...]",
                self.stderr_path.display(),
                python.display(),
                python.display(),
            ),
        );
    }
}

impl Client for ExecClient {
    async fn invoke(&mut self, op: &OpRequest) -> Completion {
        // Anything printed while no request was outstanding would be read
        // as this request's answer: refuse it before sending.
        if self.unread() > 0 {
            let shown = self.unread_text().await;
            return self.broken_as(
                "stray line",
                format!(
                    "protocol error: printed a line when no request was outstanding (before {:?} was sent): {shown:?}; the request was not sent",
                    op.f
                ),
            );
        }
        let request = request_line(op);
        self.in_flight = Some(op.f);
        if let Err(e) = self.stdin.write_all(request.as_bytes()).await {
            // Give the process a moment to be reaped so the message can say
            // how it ended.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let why = self.exited();
            return self.broken(format!("{why}; writing the request failed: {e}"));
        }
        if let Err(e) = self.stdin.flush().await {
            return self.broken(format!("writing the request failed: {e}"));
        }
        self.line.clear();
        let read = (&mut self.stdout)
            .take(MAX_REPLY)
            .read_line(&mut self.line)
            .await;
        match read {
            Ok(0) => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                let why = self.exited();
                return self.broken(format!("{why} instead of answering {:?}", op.f));
            }
            Ok(_) if !self.line.ends_with('\n') => {
                return self.broken(format!(
                    "reply to {:?} longer than {} MiB or cut short",
                    op.f,
                    MAX_REPLY >> 20
                ));
            }
            Ok(_) => {}
            Err(e) => return self.broken(format!("reading the reply failed: {e}")),
        }
        if self.unread() > 0 {
            // Which line answers this request is unknown now.
            let shown = self.unread_text().await;
            return self.broken_as(
                "second line",
                format!(
                    "protocol error: printed a second line after its reply to {:?}: {shown:?}",
                    op.f
                ),
            );
        }
        self.in_flight = None;
        self.answered = true;
        let reply: Reply = match serde_json::from_str(self.line.trim_end()) {
            Ok(r) => r,
            Err(e) => {
                let shown: String = self.line.trim_end().chars().take(120).collect();
                return self.broken(format!(
                    "not a reply line ({e}): {shown:?}; expected {{\"type\":\"ok\"|\"fail\"|\"info\", ...}}"
                ));
            }
        };
        match reply.kind.as_str() {
            "ok" => Completion::Ok(reply.value.unwrap_or_else(|| op.value.clone())),
            "fail" => Completion::Fail(reply.error.unwrap_or_else(|| "failed".into())),
            "info" => Completion::Info(reply.error.unwrap_or_else(|| "unknown outcome".into())),
            other => self.broken(format!(
                "unknown reply type {other:?}; expected ok, fail or info"
            )),
        }
    }

    fn describe(&self) -> Option<String> {
        Some(self.name.clone())
    }
}

impl Drop for ExecClient {
    fn drop(&mut self) {
        if let Some(f) = self.in_flight {
            self.warnings.push(
                "no answer",
                format!(
                    "{}: no answer to {f:?} within the op-timeout; killed",
                    self.name
                ),
            );
        }
        // The whole group: a wrapper script's children too. The group id
        // cannot name an unrelated group while any member lives (the kernel
        // keeps the number taken), and this runs once, right away.
        if let Some(pgid) = self.pgid.and_then(|p| libc::pid_t::try_from(p).ok()) {
            // SAFETY: kill(2) with a negative pid signals that group only.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
        // kill_on_drop ends the process; this reaps it sooner.
        let _ = self.child.start_kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_one_json_line() {
        let op = OpRequest::new("cas", Value::List(vec![1.into(), 2.into()])).with_key(7);
        assert_eq!(
            request_line(&op),
            "{\"f\":\"cas\",\"key\":7,\"value\":[1,2]}\n"
        );
        let op = OpRequest::new("read", Value::Nil);
        assert_eq!(request_line(&op), "{\"f\":\"read\",\"value\":null}\n");
    }

    #[test]
    fn replies_tell_absent_from_null() {
        let r: Reply = serde_json::from_str(r#"{"type":"ok"}"#).unwrap();
        assert!(r.value.is_none());
        let r: Reply = serde_json::from_str(r#"{"type":"ok","value":null}"#).unwrap();
        assert_eq!(r.value, Some(Value::Nil));
        assert!(serde_json::from_str::<Reply>(r#"{"type":"ok","vaule":1}"#).is_err());
    }

    fn script(dir: &Path, name: &str, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Which Python a command runs: the program, the one after `env`, a
    /// script's `#!`; the system's is not "foreign".
    #[test]
    fn the_client_python_is_found_from_the_command() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        script(
            d,
            "venv/bin/python3",
            "#!/bin/sh\nexec /usr/bin/python3 \"$@\"\n",
        );
        script(d, "by_venv.py", "#!venv/bin/python3\n");
        script(d, "by_env.py", "#!/usr/bin/env python3\nprint(1)\n");
        script(d, "client.sh", "#!/bin/sh\n");
        let cmd = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (p, how) = foreign_python(&cmd(&["venv/bin/python3", "c.py"]), d).unwrap();
        assert_eq!(p, d.join("venv/bin/python3"));
        assert!(how.contains("client.command"), "{how}");
        assert!(foreign_python(&cmd(&["/usr/bin/python3", "c.py"]), d).is_none());
        assert!(foreign_python(&cmd(&["client.sh"]), d).is_none());
        let (p, how) = foreign_python(&cmd(&["./by_venv.py"]), d).unwrap();
        assert_eq!(p, PathBuf::from("venv/bin/python3"));
        assert!(how.contains("#! line"), "{how}");
        // `python3` on this machine's PATH, directly or through env, is
        // the system's only if it resolves to /usr/bin/python3.
        let system = which("python3").map(|p| std::fs::canonicalize(p).unwrap())
            == std::fs::canonicalize(SYSTEM_PYTHON).ok();
        for c in [
            cmd(&["./by_env.py"]),
            cmd(&["python3", "c.py"]),
            cmd(&["/usr/bin/env", "python3", "c.py"]),
        ] {
            assert_eq!(foreign_python(&c, d).is_none(), system, "{c:?}");
        }
    }

    async fn first_warnings(dir: &Path, command: &[&str]) -> (Completion, Vec<String>) {
        let spec = ExecSpec {
            command: command.iter().map(|s| s.to_string()).collect(),
            env: BTreeMap::new(),
        };
        let ctx = Ctx {
            nodes: vec![harness::control::Node::new("n1", "127.0.0.1")],
            test_dir: dir.to_path_buf(),
            run_id: "r".into(),
            db_env: Default::default(),
        };
        let run = dir.join("run");
        let connect = ExecConnect::new(spec, &ctx, "register", &run).unwrap();
        let mut client = connect.open("n1", 0).await.unwrap();
        let done = client
            .invoke(&OpRequest::new("read", Value::Nil).with_key(1))
            .await;
        drop(client);
        (done, connect.warnings())
    }

    /// A client run by a Python that is not /usr/bin/python3, failing at
    /// start on an import, gets a warning naming that Python and the fix;
    /// under /usr/bin/python3 only the usual one.
    #[tokio::test]
    async fn an_import_error_under_another_python_says_which_ran_it() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        script(
            d,
            "venv/bin/python3",
            "#!/bin/sh\nexec /usr/bin/python3 \"$@\"\n",
        );
        std::fs::write(d.join("client.py"), "import shakedown_no_such_module\n").unwrap();
        let (done, warnings) = first_warnings(d, &["venv/bin/python3", "client.py"]).await;
        assert!(matches!(done, Completion::Info(_)), "{done:?}");
        let hint = warnings
            .iter()
            .find(|w| w.contains("the Python client failed to start"))
            .unwrap_or_else(|| panic!("{warnings:?}"));
        assert!(
            hint.contains("No module named 'shakedown_no_such_module'"),
            "{hint}"
        );
        assert!(
            hint.contains(&format!(
                "It ran under {}",
                d.join("venv/bin/python3").display()
            )),
            "{hint}"
        );
        assert!(hint.contains("not /usr/bin/python3"), "{hint}");
        assert!(hint.contains("-m pip install"), "{hint}");
        let (_, warnings) = first_warnings(d, &["/usr/bin/python3", "client.py"]).await;
        assert!(!warnings.is_empty());
        assert!(
            warnings.iter().all(|w| !w.contains("failed to start")),
            "{warnings:?}"
        );
    }
}
