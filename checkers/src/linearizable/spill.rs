//! Histories larger than memory. Linearizability is local: a history is
//! linearizable exactly when each key's sub-history is (Herlihy & Wing's
//! P-compositionality, which [`super::check`] already relies on to search
//! keys apart). So a history too large to hold is read once, its client
//! ops are spilled to files by a hash of their key, and each of those key
//! groups is read back and checked alone, as the history of just its keys.
//! Every op keeps its index, and a group keeps its ops in history order,
//! so each key is searched exactly as the whole check would search it: the
//! same verdict and the same evidence, in the memory of one group.

use super::search::Budget;
use super::{check_part, independent, LinResult, Options, Part, PartitionVerdict};
use history::{Format, Op, OpType, Paired, Pairing, Value};
use rustc_hash::FxHasher;
use serde::Serialize;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Bytes of memory a history takes when held as ops, per byte of its
/// JSON Lines text, with room for the search: 10,000,000 cas-register ops
/// (988 MB of JSON) peak at 3.2 GB held whole.
pub const HELD_PER_FILE_BYTE: u64 = 4;

/// What the process holds whatever the history: its code, and the chunks
/// the parallel reader has in flight (4 MB of text each, parsed into ops:
/// ~50 MB at the peak on 2 cores). Taken off the limit before a history
/// or a group is sized against it, or small limits are overshot.
pub const READ_OVERHEAD: usize = 64 << 20;

/// At most this many group files are written at once (each has a buffer).
pub const MAX_GROUPS: usize = 512;

/// How many key groups a history file of `file_bytes` is best checked in
/// under `memory_limit`: 1 (hold it whole) while that takes at most half
/// the limit, else enough groups that each takes about an eighth of it.
pub fn groups_for(file_bytes: u64, memory_limit: usize) -> usize {
    let held = file_bytes.saturating_mul(HELD_PER_FILE_BYTE);
    let limit = memory_limit.saturating_sub(READ_OVERHEAD) as u64;
    if held <= limit / 2 {
        return 1;
    }
    let per_group = (limit / 8).max(1);
    (held.div_ceil(per_group) as usize).clamp(2, MAX_GROUPS)
}

/// What the search cache may take of `memory_limit` beside a history of
/// `held_file_bytes` (of JSON text, or of a spill group) held as ops:
/// the cache alone used to be allowed the whole limit, on top of the
/// history, so the process could reach one and a half times the limit.
/// At least an eighth of the limit is left to the cache (a history held
/// whole takes at most half of it, a group an eighth: [`groups_for`]).
pub fn cache_share(memory_limit: usize, held_file_bytes: u64) -> usize {
    let held = held_file_bytes.saturating_mul(HELD_PER_FILE_BYTE);
    let held = usize::try_from(held).unwrap_or(usize::MAX);
    memory_limit
        .saturating_sub(held.saturating_add(READ_OVERHEAD))
        .max(memory_limit / 8)
}

/// Where spill files go by default: `$TMPDIR`, else `/var/tmp` (on disk,
/// where `/tmp` may be memory).
pub fn default_dir() -> PathBuf {
    std::env::var_os("TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp"))
}

/// How a history was checked in key groups, for the result.
#[derive(Clone, Debug, Serialize)]
pub struct Spilled {
    pub groups: usize,
    /// Groups read back and searched (fewer when one proved the history
    /// not linearizable, or time ran out).
    pub checked: usize,
    /// Bytes written to the spill files.
    pub bytes: u64,
    /// The largest group, in bytes of spill file.
    pub largest: u64,
    /// Time spent reading the history and writing the groups.
    pub spill_ms: u64,
}

/// A file check: the result and the number of ops the file held.
pub struct FileCheck {
    pub result: LinResult,
    pub ops: u64,
}

/// Checks the history file at `path` as `shakedown check` does: held
/// whole when that takes at most half of `opts.memory_limit` (or when it
/// is checked as one object), else key group by key group through spill
/// files in `spill_dir` ([`groups_for`]).
pub fn check_file(
    path: &Path,
    format: Option<Format>,
    opts: &Options,
    spill_dir: &Path,
) -> Result<FileCheck, String> {
    let len = std::fs::metadata(path).map_or(0, |m| m.len());
    let groups = groups_for(len, opts.memory_limit);
    if groups > 1 && opts.partition_by_key {
        return check_by_groups(path, format, opts, spill_dir, groups);
    }
    let history = history::read_file(path, format).map_err(|e| e.to_string())?;
    // The search cache shares the limit with the history held whole.
    let opts = Options {
        memory_limit: cache_share(opts.memory_limit, len),
        ..opts.clone()
    };
    let result = super::check(&history, &opts).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(FileCheck {
        result,
        ops: history.len() as u64,
    })
}

/// Checks the history in `path` key group by key group, through `groups`
/// spill files in `dir` (unnamed once created: nothing is left behind).
/// Errors name the file (and line) for malformed input, as reading the
/// whole history would.
pub fn check_by_groups(
    path: &Path,
    format: Option<Format>,
    opts: &Options,
    dir: &Path,
    groups: usize,
) -> Result<FileCheck, String> {
    let started = Instant::now();
    let mut writer = GroupWriter::new(dir, groups.clamp(1, MAX_GROUPS))?;
    let read = spill_ops(path, format, opts, &mut writer)?;
    let mut files = writer.finish()?;
    // The search cache shares the limit with the largest group held.
    let largest = files.iter().map(|(_, b)| *b).max().unwrap_or(0);
    let budget = Budget::new(
        opts.time_limit.map(|t| started + t),
        cache_share(opts.memory_limit, largest),
    );
    let spill_ms = started.elapsed().as_millis() as u64;

    // The group opts: ops are already split from [key value] tuples.
    let group_opts = Options {
        independent: false,
        ..opts.clone()
    };
    let mut total = Part::default();
    let mut checked = 0;
    for (group, (file, bytes)) in files.iter_mut().enumerate() {
        let bytes = *bytes;
        if total.invalid() {
            break; // the verdict is known; the other groups cannot change it
        }
        if budget.deadline.is_some_and(|d| Instant::now() >= d) {
            total.verdicts.push(PartitionVerdict::Unknown(format!(
                "the time limit was reached with {} of {} key groups checked",
                checked,
                files.len()
            )));
            break;
        }
        if bytes == 0 {
            continue;
        }
        if bytes.saturating_mul(HELD_PER_FILE_BYTE) > opts.memory_limit as u64 {
            // One key (or a few) this large cannot be split further.
            total.verdicts.push(PartitionVerdict::Unknown(format!(
                "key group {group} holds {} MB of history, more than the memory limit ({} MB, --memory-limit) lets it hold at once",
                bytes >> 20,
                opts.memory_limit >> 20
            )));
            continue;
        }
        let history = read_group(file, bytes)?;
        let part = check_part(&history, &group_opts, &budget)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        total.absorb(part);
        checked += 1;
    }
    // Counted as read, so that groups left unchecked still count.
    total.invoked = read.invoked;
    total.calls = read.invoked - read.failed;
    let mut result = total.finish(opts, started);
    result.spilled = Some(Spilled {
        groups: files.len(),
        checked,
        bytes: files.iter().map(|(_, b)| b).sum(),
        largest: files.iter().map(|(_, b)| *b).max().unwrap_or(0),
        spill_ms,
    });
    Ok(FileCheck {
        result,
        ops: read.ops,
    })
}

/// An invocation whose completion has not been read yet.
struct Open {
    /// The invocation's `f`, as a number in [`Interned`].
    f: u32,
    index: u64,
    route: Route,
}

enum Route {
    /// Written to this group.
    Group(usize),
    /// An invocation without a key: its completion's key decides where it
    /// goes (as the whole check partitions it), so it waits, as a line.
    Held { position: u64, line: Vec<u8> },
}

/// What the first pass read.
struct Read {
    ops: u64,
    /// Client invocations, and completions that failed.
    invoked: usize,
    failed: usize,
}

/// The first pass: every client op to the group of its key, with its
/// position in the history.
fn spill_ops(
    path: &Path,
    format: Option<Format>,
    opts: &Options,
    writer: &mut GroupWriter,
) -> Result<Read, String> {
    let (mut invoked, mut failed_calls) = (0, 0);
    let mut pairing: Pairing<Open> = Pairing::default();
    let mut fs = Interned::default();
    let mut position = 0u64;
    let mut write_error: Option<std::io::Error> = None;
    let read = history::stream::for_each_op_text(path, format, |op, text| {
        let pos = position;
        position += 1;
        if !op.process.is_client() {
            return Ok(ControlFlow::Continue(()));
        }
        // Independent histories are split here, so each group is checked
        // as a plain keyed history (the line is then written anew).
        let (op, text) = if opts.independent {
            (independent::split_op(&op)?, None)
        } else {
            (op, text)
        };
        let key = group_key(&op);
        // The key's group (a keyless invocation's is decided later).
        let group = writer.group_of(key);
        let f = fs.intern(&op.f);
        let held = match (key, op.kind) {
            (None, OpType::Invoke) => Some(line_of(&op, text)?),
            _ => None,
        };
        let carry = || Open {
            f,
            index: op.index,
            route: match held {
                None => Route::Group(group),
                Some(line) => Route::Held {
                    position: pos,
                    line,
                },
            },
        };
        let paired = pairing.push(op.parts(), carry, |o| (fs.name(o.f), o.index))?;
        match (&paired, op.kind) {
            (Paired::Invoke, _) => invoked += 1,
            (Paired::Completes(_), OpType::Fail) => failed_calls += 1,
            _ => {}
        }
        let wrote = match paired {
            Paired::Event => Ok(()),
            Paired::Invoke => match key {
                Some(_) => writer.write(group, pos, &op, text),
                None => Ok(()),
            },
            Paired::Completes(open) => match open.route {
                Route::Group(g) => writer.write(g, pos, &op, text),
                Route::Held { position, line } => writer
                    .write_line(group, position, &line)
                    .and_then(|()| writer.write(group, pos, &op, text)),
            },
        };
        if let Err(e) = wrote {
            write_error = Some(e);
            return Ok(ControlFlow::Break(()));
        }
        Ok(ControlFlow::Continue(()))
    });
    read.map_err(|e| e.to_string())?;
    if let Some(e) = write_error {
        return Err(writer.write_error(e));
    }
    // Invocations never completed and without a key: the keyless group.
    for open in pairing.into_open() {
        if let Route::Held { position, line } = open.route {
            let g = writer.group_of(None);
            writer
                .write_line(g, position, &line)
                .map_err(|e| writer.write_error(e))?;
        }
    }
    Ok(Read {
        ops: position,
        invoked,
        failed: failed_calls,
    })
}

/// The `f`s of a history (a handful: read, write, cas), numbered, so an
/// open invocation carries a number rather than a copy of its name.
#[derive(Default)]
struct Interned {
    names: Vec<String>,
    numbers: rustc_hash::FxHashMap<String, u32>,
}

impl Interned {
    fn intern(&mut self, f: &str) -> u32 {
        if let Some(&n) = self.numbers.get(f) {
            return n;
        }
        let n = self.names.len() as u32;
        self.names.push(f.to_string());
        self.numbers.insert(f.to_string(), n);
        n
    }

    fn name(&self, n: u32) -> &str {
        &self.names[n as usize]
    }
}

/// The key an op is checked under (the whole check's partition key).
fn group_key(op: &Op) -> Option<&Value> {
    op.key.as_ref()
}

/// The op as a JSON line: its text in the file when there is one.
fn line_of(op: &Op, text: Option<&[u8]>) -> Result<Vec<u8>, String> {
    match text {
        Some(t) => Ok(t.to_vec()),
        None => serde_json::to_vec(op)
            .map_err(|e| format!("op index {}: cannot write it as JSON: {e}", op.index)),
    }
}

/// The spill files: one per key group, each line `POSITION<TAB>JSON`.
/// Each file is removed from its directory as soon as it is created: it
/// lives while it is open, so the space is returned however the check
/// ends, a kill included.
struct GroupWriter {
    dir: PathBuf,
    files: Vec<(BufWriter<File>, u64)>,
    scratch: Vec<u8>,
}

impl GroupWriter {
    fn new(dir: &Path, groups: usize) -> Result<GroupWriter, String> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut files = Vec::with_capacity(groups);
        for g in 0..groups {
            let path = dir.join(format!(
                "shakedown-spill-{}-{stamp}-{g}",
                std::process::id()
            ));
            let file = File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
                .and_then(|f| std::fs::remove_file(&path).map(|()| f))
                .map_err(|e| {
                    format!("cannot create a spill file in {} (set TMPDIR to a directory with room): {e}", dir.display())
                })?;
            files.push((BufWriter::with_capacity(64 << 10, file), 0));
        }
        Ok(GroupWriter {
            dir: dir.to_path_buf(),
            files,
            scratch: Vec::new(),
        })
    }

    fn group_of(&self, key: Option<&Value>) -> usize {
        let mut h = FxHasher::default();
        key.hash(&mut h);
        // The high bits: FxHash's low bits are weak for small integers.
        ((h.finish() >> 32) % self.files.len() as u64) as usize
    }

    fn write(
        &mut self,
        group: usize,
        position: u64,
        op: &Op,
        text: Option<&[u8]>,
    ) -> std::io::Result<()> {
        match text {
            Some(t) => self.write_line(group, position, t),
            None => {
                let mut line = std::mem::take(&mut self.scratch);
                line.clear();
                serde_json::to_writer(&mut line, op)?;
                let r = self.write_line(group, position, &line);
                self.scratch = line;
                r
            }
        }
    }

    fn write_line(&mut self, group: usize, position: u64, line: &[u8]) -> std::io::Result<()> {
        let (out, bytes) = &mut self.files[group];
        write!(out, "{position}\t")?;
        out.write_all(line)?;
        out.write_all(b"\n")?;
        let digits = position.checked_ilog10().unwrap_or(0) as u64 + 1;
        *bytes += digits + 1 + line.len() as u64 + 1;
        Ok(())
    }

    fn write_error(&self, e: std::io::Error) -> String {
        format!(
            "writing spill files in {} (set TMPDIR to a directory with room): {e}",
            self.dir.display()
        )
    }

    /// Flushes every file: (file, bytes) per group.
    fn finish(self) -> Result<Vec<(File, u64)>, String> {
        let dir = self.dir;
        self.files
            .into_iter()
            .map(|(out, bytes)| {
                let file = out.into_inner().map_err(|e| {
                    format!(
                        "writing spill files in {} (set TMPDIR to a directory with room): {}",
                        dir.display(),
                        e.error()
                    )
                })?;
                Ok((file, bytes))
            })
            .collect()
    }
}

/// Reads a group back: its ops parsed on every core, in history order.
fn read_group(file: &mut File, len: u64) -> Result<history::History, String> {
    use std::io::{Read, Seek};
    let mut bytes = Vec::with_capacity(len as usize);
    file.seek(std::io::SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(|e| format!("reading a spill file back: {e}"))?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Several pieces per thread, so that moving them into one list holds
    // little more than the list itself.
    let pieces = split_at_lines(&bytes, threads * 4);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let parsed: Vec<std::sync::Mutex<Option<Result<Records, String>>>> =
        pieces.iter().map(|_| Default::default()).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(piece) = pieces.get(i) else { break };
                let records = parse_records(piece);
                if let Ok(mut slot) = parsed[i].lock() {
                    *slot = Some(records);
                }
            });
        }
    });
    drop(bytes);
    let mut all = Records::default();
    for p in parsed {
        let records = p.into_inner().ok().flatten();
        let mut records = records
            .unwrap_or_else(|| Err("a parser thread failed".into()))
            .map_err(|e| format!("a spill file read back: {e}"))?;
        all.positions.append(&mut records.positions);
        all.ops.append(&mut records.ops);
    }
    // Held invocations were written when their completion came: put every
    // op back at its place in the history.
    let mut ops = all.ops;
    if !all.positions.is_sorted() {
        let mut order: Vec<usize> = (0..ops.len()).collect();
        order.sort_by_key(|&i| all.positions[i]);
        let mut slots: Vec<Option<Op>> = ops.into_iter().map(Some).collect();
        ops = order.into_iter().filter_map(|i| slots[i].take()).collect();
    }
    history::History::from_ops(ops)
}

/// Ops of a group, with their positions in the history.
#[derive(Default)]
struct Records {
    positions: Vec<u64>,
    ops: Vec<Op>,
}

/// `bytes` cut into about `n` pieces of whole lines.
fn split_at_lines(bytes: &[u8], n: usize) -> Vec<&[u8]> {
    let mut pieces = Vec::with_capacity(n);
    let mut rest = bytes;
    for i in (1..=n).rev() {
        if rest.is_empty() {
            break;
        }
        let want = rest.len() / i;
        let cut = match rest[want..].iter().position(|&b| b == b'\n') {
            Some(nl) => want + nl + 1,
            None => rest.len(),
        };
        let (piece, tail) = rest.split_at(cut);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

fn parse_records(piece: &[u8]) -> Result<Records, String> {
    let mut out = Records::default();
    for line in piece.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let tab = line
            .iter()
            .position(|&b| b == b'\t')
            .ok_or("a line without its position")?;
        let position: u64 = std::str::from_utf8(&line[..tab])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("a line with a bad position")?;
        let op = history::jsonl::parse_line(&line[tab + 1..], position as usize + 1, position)
            .map_err(|e| e.to_string())?;
        out.positions.push(position);
        out.ops.push(op);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{check, generate::CasRegisterGen, ModelKind};
    use super::*;
    use crate::verdict::Validity;
    use history::{History, Process};

    fn write_jsonl(dir: &Path, ops: &[Op]) -> PathBuf {
        let path = dir.join("history.jsonl");
        let mut w = history::jsonl::JsonlWriter::new(File::create(&path).unwrap());
        for op in ops {
            w.write(op).unwrap();
        }
        w.flush().unwrap();
        path
    }

    fn opts() -> Options {
        Options {
            threads: 1,
            ..Options::new(ModelKind::CasRegister)
        }
    }

    /// Checks `path` in `groups` key groups under `dir`, and checks that
    /// the spill directory is gone afterwards.
    fn spilled(path: &Path, opts: &Options, groups: usize) -> Result<FileCheck, String> {
        let spill = tempfile::tempdir().unwrap();
        let r = check_by_groups(path, None, opts, spill.path(), groups);
        let left: Vec<_> = std::fs::read_dir(spill.path()).unwrap().collect();
        assert!(left.is_empty(), "spill files left behind: {left:?}");
        r
    }

    fn generated(ops: usize) -> History {
        CasRegisterGen {
            ops,
            keys: 40,
            processes: 10,
            crash_rate: 0.02,
            ..Default::default()
        }
        .history()
    }

    fn json<T: Serialize>(v: &T) -> serde_json::Value {
        serde_json::to_value(v).unwrap()
    }

    #[test]
    fn a_valid_history_gets_the_whole_checks_verdict_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let h = generated(20_000);
        let path = write_jsonl(dir.path(), h.ops());
        let whole = check(&h, &opts()).unwrap();
        let got = spilled(&path, &opts(), 5).unwrap();
        let r = &got.result;
        assert_eq!(whole.valid, Validity::Valid);
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.reason);
        assert_eq!(got.ops, 20_000);
        assert_eq!(
            (r.calls, r.partitions, r.search_steps),
            (whole.calls, whole.partitions, whole.search_steps)
        );
        let s = r.spilled.as_ref().unwrap();
        assert_eq!((s.groups, s.checked), (5, 5));
        assert!(s.bytes > std::fs::metadata(&path).unwrap().len() / 2);
    }

    #[test]
    fn a_bad_read_gives_the_whole_checks_failure_and_evidence() {
        let dir = tempfile::tempdir().unwrap();
        let mut ops = generated(20_000).into_ops();
        // A read deep in the history returns 99, a value never written.
        let bad = (ops.len() / 2..)
            .find(|&i| ops[i].kind == OpType::Ok && ops[i].f == "read")
            .unwrap();
        ops[bad].value = Value::Int(99);
        let h = History::new(ops).unwrap();
        let path = write_jsonl(dir.path(), h.ops());
        let whole = check(&h, &opts()).unwrap();
        let got = spilled(&path, &opts(), 7).unwrap().result;
        assert_eq!(whole.valid, Validity::Invalid);
        assert_eq!(got.valid, Validity::Invalid);
        assert_eq!(got.failures.len(), 1);
        assert_eq!(json(&got.failures), json(&whole.failures));
        assert_eq!(got.failures[0].key, h.ops()[bad].key);
    }

    fn op(kind: OpType, p: u64, f: &str, key: Option<&str>, value: Value) -> Op {
        let mut op = Op::new(kind, Process::Client(p), f, value);
        op.key = key.map(Value::from);
        op
    }

    /// Lines without an index are numbered by position, nemesis events are
    /// skipped, and an invocation without a key goes where its
    /// completion's key sends it, at its own place in the history.
    #[test]
    fn unindexed_ops_and_keyless_invocations_keep_their_place() {
        use OpType::*;
        let dir = tempfile::tempdir().unwrap();
        let nemesis = Op::new(Info, Process::nemesis(), "start-partition", Value::Nil);
        let ops = [
            nemesis,
            op(Invoke, 0, "write", None, 1.into()),
            op(Invoke, 1, "read", Some("x"), Value::Nil),
            op(Invoke, 2, "write", Some("y"), 5.into()),
            op(Ok, 0, "write", Some("x"), 1.into()),
            op(Ok, 2, "write", Some("y"), 5.into()),
            op(Ok, 1, "read", Some("x"), 2.into()),
            op(Invoke, 3, "write", None, 3.into()),
        ];
        let text: String = ops
            .iter()
            .map(|op| {
                let mut v = serde_json::to_value(op).unwrap();
                v.as_object_mut().unwrap().remove("index");
                format!("{v}\n")
            })
            .collect();
        let path = dir.path().join("h.jsonl");
        std::fs::write(&path, text).unwrap();
        let whole = check(&history::read_file(&path, None).unwrap(), &opts()).unwrap();
        for groups in [1, 2, 3, 8] {
            let got = spilled(&path, &opts(), groups).unwrap();
            assert_eq!(got.ops, 8);
            let r = got.result;
            assert_eq!(r.valid, Validity::Invalid, "{groups} groups");
            assert_eq!(r.calls, whole.calls);
            assert_eq!(r.partitions, whole.partitions);
            assert_eq!(json(&r.failures), json(&whole.failures));
            assert_eq!(r.failures[0].op.index, 2, "the read of 2, at position 2");
            assert_eq!(r.failures[0].key, Some(Value::from("x")));
        }
    }

    #[test]
    fn a_protocol_error_names_the_line_as_reading_the_whole_file_does() {
        let dir = tempfile::tempdir().unwrap();
        let ops = [
            op(OpType::Invoke, 0, "read", Some("x"), Value::Nil),
            op(OpType::Ok, 0, "read", Some("x"), Value::Nil),
            op(OpType::Invoke, 0, "read", Some("x"), Value::Nil),
            op(OpType::Invoke, 0, "write", Some("x"), 1.into()),
        ];
        let path = write_jsonl(dir.path(), &ops);
        let whole = history::read_file(&path, None).unwrap_err().to_string();
        let got = spilled(&path, &opts(), 3).err().unwrap();
        assert_eq!(got, whole);
        assert!(
            got.contains(":4:") && got.contains("has not completed"),
            "{got}"
        );
    }

    /// EDN (no line text to copy: ops are written anew) of a Jepsen
    /// `independent` history, whose values are `[key value]` tuples.
    #[test]
    fn an_independent_edn_history_is_split_and_checked_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let h = generated(5_000);
        let path = dir.path().join("history.edn");
        let mut w = history::edn::EdnWriter::new(File::create(&path).unwrap());
        for op in h.ops() {
            let mut op = op.clone();
            let key = op.key.take().unwrap();
            op.value = Value::List(vec![key, op.value]);
            w.write(&op).unwrap();
        }
        w.flush().unwrap();
        let opts = Options {
            independent: true,
            ..opts()
        };
        let whole = check(&history::read_file(&path, None).unwrap(), &opts).unwrap();
        let r = spilled(&path, &opts, 4).unwrap().result;
        assert_eq!((whole.valid, r.valid), (Validity::Valid, Validity::Valid));
        assert!(r.independent);
        assert_eq!((r.calls, r.partitions), (whole.calls, whole.partitions));
        assert_eq!(r.partitions, 40);
    }

    #[test]
    fn nothing_to_check_is_unknown_with_the_whole_checks_reason() {
        let dir = tempfile::tempdir().unwrap();
        let ops = [
            op(OpType::Invoke, 0, "write", Some("x"), 1.into()),
            op(OpType::Fail, 0, "write", Some("x"), 1.into()),
            op(OpType::Invoke, 1, "write", Some("y"), 1.into()),
            op(OpType::Fail, 1, "write", Some("y"), 1.into()),
        ];
        let path = write_jsonl(dir.path(), &ops);
        let whole = check(&History::new(ops).unwrap(), &opts()).unwrap();
        let r = spilled(&path, &opts(), 2).unwrap().result;
        assert_eq!(
            (whole.valid, r.valid),
            (Validity::Unknown, Validity::Unknown)
        );
        assert_eq!(r.reason, whole.reason);
        assert!(r.reason.unwrap().contains("2 failed"));
    }

    #[test]
    fn a_group_too_large_for_the_limit_or_no_time_left_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_jsonl(dir.path(), generated(2_000).ops());
        let tiny = Options {
            memory_limit: 1000,
            ..opts()
        };
        let r = spilled(&path, &tiny, 2).unwrap().result;
        assert_eq!(r.valid, Validity::Unknown);
        assert!(
            r.reason.as_ref().unwrap().contains("--memory-limit"),
            "{:?}",
            r.reason
        );

        let no_time = Options {
            time_limit: Some(std::time::Duration::ZERO),
            ..opts()
        };
        let r = spilled(&path, &no_time, 3).unwrap().result;
        assert_eq!(r.valid, Validity::Unknown);
        let reason = r.reason.unwrap();
        assert!(
            reason.contains("time limit") && reason.contains("0 of 3"),
            "{reason}"
        );
    }

    #[test]
    fn a_spill_directory_that_cannot_be_written_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_jsonl(dir.path(), generated(100).ops());
        let missing = dir.path().join("no-such-dir");
        let e = check_by_groups(&path, None, &opts(), &missing, 2)
            .err()
            .unwrap();
        assert!(e.contains("no-such-dir") && e.contains("TMPDIR"), "{e}");
    }

    #[test]
    fn the_group_count_keeps_a_group_to_an_eighth_of_the_limit() {
        const G: usize = 1 << 30;
        assert_eq!(
            groups_for(100 << 20, 4 * G),
            1,
            "400 MB held fits in half of 4 GB"
        );
        assert_eq!(groups_for(988_000_000, 4 * G), 8);
        // 78 since the reader's 64 MB are taken off the limit (77 before).
        assert_eq!(groups_for(10_274_541_249, 4 * G), 78);
        assert_eq!(groups_for(u64::MAX, 4 * G), MAX_GROUPS);
        assert_eq!(groups_for(1 << 20, 1000), MAX_GROUPS);
    }
}
