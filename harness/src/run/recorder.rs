//! The recorder: the one place where ops become history.
//!
//! Workers and the nemesis send ops over a channel to one thread, which
//! gives each a dense `index` and a `time` (nanoseconds since the run
//! started, taken when the op is received, so time never decreases along
//! the index), appends it to `history.jsonl` and keeps it in memory for the
//! checker.
//!
//! Order: a worker sends an invocation before calling the client and the
//! completion after it returns, and the channel is FIFO across senders, so
//! an op that completed before another was invoked also comes first in the
//! history: index order is a valid real-time order.
//!
//! Crash safety: lines are serialized into a buffer of whole lines and
//! written out in one `write` when it fills or `flush_interval` passes (and
//! at the end), so a SIGKILL leaves at most the last second of ops unwritten
//! and, short of a failing disk, no partial line. [`read_history`] also
//! ignores an unterminated last line, should one ever appear.

use history::{History, HistoryBuilder, Op, OpType, Process, Value};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Bytes of serialized lines buffered before a write.
const WRITE_CHUNK: usize = 256 * 1024;
/// Ops handled between checks of the flush clock.
const DRAIN_BATCH: usize = 1024;
/// Ops queued for the recorder beyond which client workers wait
/// ([`Recorder::wait_for_room`]): keeps memory bounded and the recorded
/// `time` within a few milliseconds of the event when clients outpace it.
const QUEUE_HIGH: usize = 16 * 1024;

// Ops travel unboxed: one allocation fewer per op on the hot path.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Msg {
    Op(Op),
    /// Write out everything received so far, then acknowledge.
    Flush(mpsc::SyncSender<()>),
    Close,
}

/// Live counters, readable while the run goes.
#[derive(Debug, Default)]
pub struct Counters {
    pub invoke: AtomicU64,
    pub ok: AtomicU64,
    pub fail: AtomicU64,
    pub info: AtomicU64,
    /// Ops of named processes (the nemesis).
    pub nemesis: AtomicU64,
}

/// A snapshot of the counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub invoke: u64,
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
    pub nemesis: u64,
}

impl Counters {
    pub fn snapshot(&self) -> Counts {
        Counts {
            invoke: self.invoke.load(Ordering::Relaxed),
            ok: self.ok.load(Ordering::Relaxed),
            fail: self.fail.load(Ordering::Relaxed),
            info: self.info.load(Ordering::Relaxed),
            nemesis: self.nemesis.load(Ordering::Relaxed),
        }
    }
}

impl Counts {
    /// Client ops that completed (ok + fail + info).
    pub fn completed(&self) -> u64 {
        self.ok + self.fail + self.info
    }
}

pub(crate) struct Shared {
    pub(crate) started: Instant,
    pub(crate) counters: Counters,
    pub(crate) faults: Mutex<String>,
    /// What the progress line shows of the online checkers (the tap's).
    pub(crate) online: Arc<Mutex<String>>,
    /// Messages sent and not yet handled.
    queued: AtomicUsize,
    room: Notify,
}

/// A handle on the recorder: clone it freely. The nemesis records its
/// events with [`Recorder::nemesis`] and shows what it is doing with
/// [`Recorder::set_faults`].
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
}

/// Where the recorder writes and what it keeps.
#[derive(Clone, Debug)]
pub struct RecorderConfig {
    /// `history.jsonl`; `None` keeps the history in memory only.
    pub path: Option<PathBuf>,
    /// Keep every op in memory for the checker. Without it the history is
    /// read back from `path` at the end (less memory during the run).
    pub keep_in_memory: bool,
    /// Longest time a received op stays unwritten (at most one second).
    pub flush_interval: Duration,
    /// Where each op also goes as it is recorded (the online checkers).
    pub tap: Option<Tap>,
}

/// A bounded channel the recorder copies each op into, in batches (the
/// ops of one drain of its queue, at most 1,024) sent with `try_send`:
/// when it is full the batch's ops are counted in `behind` and not sent
/// (the reader catches up from `history.jsonl`); the recorder, and so the
/// clients, never wait for it.
///
/// A batch is the ops' `history.jsonl` lines, copied from the bytes the
/// recorder serialized for the file: one copy of the bytes per op, where
/// cloning each `Op` (its strings and values, freed on the reader's
/// thread) cut the run loop's flat-out throughput by a third. The reader
/// parses them on its own thread, as it parses the file when it catches up.
#[derive(Clone, Debug)]
pub struct Tap {
    pub tx: tokio::sync::mpsc::Sender<TapBatch>,
    pub behind: Arc<AtomicU64>,
    /// What the progress line shows of the reader ("" for nothing).
    pub status: Arc<Mutex<String>>,
}

/// The ops of one drain: `count` ops from index `first`, as JSON lines.
#[derive(Debug)]
pub struct TapBatch {
    pub first: u64,
    pub count: usize,
    pub lines: Vec<u8>,
}

impl Tap {
    /// A tap of `capacity` batches and its receiving end.
    pub fn new(capacity: usize) -> (Tap, tokio::sync::mpsc::Receiver<TapBatch>) {
        let (tx, rx) = tokio::sync::mpsc::channel(capacity.max(1));
        (
            Tap {
                tx,
                behind: Arc::new(AtomicU64::new(0)),
                status: Arc::new(Mutex::new(String::new())),
            },
            rx,
        )
    }
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            path: None,
            keep_in_memory: true,
            flush_interval: Duration::from_millis(500),
            tap: None,
        }
    }
}

/// What the recorder thread hands back.
pub struct Recorded {
    pub history: History,
    /// Ops the history builder refused (a protocol violation: a harness
    /// bug) and write errors.
    pub errors: Vec<String>,
    pub ops: u64,
}

/// The recorder thread and the handle to stop it.
pub struct RecorderThread {
    handle: Recorder,
    thread: Option<JoinHandle<Recorded>>,
}

impl RecorderThread {
    /// Opens (truncating) the history file and starts the thread. `started`
    /// is time zero of the history.
    pub fn start(cfg: RecorderConfig, started: Instant) -> io::Result<RecorderThread> {
        let file = match &cfg.path {
            Some(p) => Some(File::create(p)?),
            None => None,
        };
        let shared = Arc::new(Shared {
            started,
            counters: Counters::default(),
            faults: Mutex::new(String::new()),
            online: cfg
                .tap
                .as_ref()
                .map(|t| t.status.clone())
                .unwrap_or_default(),
            queued: AtomicUsize::new(0),
            room: Notify::new(),
        });
        let (tx, rx) = mpsc::channel();
        let state = Writer {
            rx,
            shared: shared.clone(),
            file,
            buf: Vec::with_capacity(WRITE_CHUNK + 4096),
            keep: cfg.keep_in_memory || cfg.path.is_none(),
            builder: HistoryBuilder::new(),
            errors: Vec::new(),
            next_index: 0,
            flush_interval: cfg.flush_interval.min(Duration::from_secs(1)),
            path: cfg.path.clone(),
            tap: cfg.tap.clone(),
            tap_buf: Vec::new(),
            tap_count: 0,
            tap_first: 0,
        };
        let thread = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || state.run())?;
        Ok(RecorderThread {
            handle: Recorder { tx, shared },
            thread: Some(thread),
        })
    }

    pub fn handle(&self) -> Recorder {
        self.handle.clone()
    }

    /// Writes out and closes the history, returning it. Ops sent after this
    /// are dropped.
    pub fn finish(mut self) -> Recorded {
        let _ = self.handle.tx.send(Msg::Close);
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            _ => Recorded {
                history: History::default(),
                errors: vec!["the recorder thread panicked".into()],
                ops: 0,
            },
        }
    }
}

impl Drop for RecorderThread {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = self.handle.tx.send(Msg::Close);
            let _ = t.join();
        }
    }
}

impl Recorder {
    /// Records an op: its `index` and `time` are assigned on receipt.
    pub fn record(&self, op: Op) {
        self.shared.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(Msg::Op(op)).is_err() {
            self.shared.queued.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Waits while the recorder is far behind (backpressure for clients
    /// faster than the recorder; the nemesis never waits).
    pub async fn wait_for_room(&self) {
        let shared = &self.shared;
        while shared.queued.load(Ordering::Relaxed) > QUEUE_HIGH {
            let room = shared.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            if shared.queued.load(Ordering::SeqCst) <= QUEUE_HIGH {
                return;
            }
            room.await;
        }
    }

    /// Records a nemesis event: an `info` op of process `nemesis`.
    pub fn nemesis(&self, f: impl Into<String>, value: Value) {
        self.record(Op::new(OpType::Info, Process::nemesis(), f, value));
    }

    /// What the progress line shows as active faults ("" when none).
    pub fn set_faults(&self, faults: impl Into<String>) {
        *self.shared.faults.lock().unwrap() = faults.into();
    }

    pub fn faults(&self) -> String {
        self.shared.faults.lock().unwrap().clone()
    }

    /// What the progress line shows of the online checkers ("" for
    /// nothing), e.g. `online: 2 anomalies`: the tap's status, which the
    /// online thread writes.
    pub fn online(&self) -> String {
        self.shared.online.lock().unwrap().clone()
    }

    pub fn counts(&self) -> Counts {
        self.shared.counters.snapshot()
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.shared.started.elapsed()
    }

    /// Writes everything received so far to the file (blocking until done).
    pub fn flush(&self) {
        let (ack, done) = mpsc::sync_channel(1);
        if self.tx.send(Msg::Flush(ack)).is_ok() {
            let _ = done.recv();
        }
    }
}

struct Writer {
    rx: mpsc::Receiver<Msg>,
    shared: Arc<Shared>,
    file: Option<File>,
    /// Whole serialized lines not yet written.
    buf: Vec<u8>,
    keep: bool,
    builder: HistoryBuilder,
    errors: Vec<String>,
    next_index: u64,
    flush_interval: Duration,
    path: Option<PathBuf>,
    tap: Option<Tap>,
    /// The lines of the ops for the tap, sent after each drain.
    tap_buf: Vec<u8>,
    /// How many ops `tap_buf` holds, from index `tap_first`.
    tap_count: usize,
    tap_first: u64,
}

impl Writer {
    fn run(mut self) -> Recorded {
        let mut next_flush = Instant::now() + self.flush_interval;
        'outer: loop {
            let wait = next_flush.saturating_duration_since(Instant::now());
            let first = match self.rx.recv_timeout(wait) {
                Ok(m) => Some(m),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            if let Some(msg) = first {
                let mut msg = msg;
                let mut handled = 0;
                loop {
                    let is_op = matches!(msg, Msg::Op(_));
                    match msg {
                        Msg::Op(op) => self.accept(op),
                        Msg::Flush(ack) => {
                            self.write_out();
                            let _ = ack.send(());
                        }
                        Msg::Close => break 'outer,
                    }
                    handled += is_op as usize;
                    if handled == DRAIN_BATCH {
                        break;
                    }
                    match self.rx.try_recv() {
                        Ok(m) => msg = m,
                        Err(_) => break,
                    }
                }
                self.send_tap();
                let before = self.shared.queued.fetch_sub(handled, Ordering::SeqCst);
                if before > QUEUE_HIGH && before - handled <= QUEUE_HIGH {
                    self.shared.room.notify_waiters();
                }
            }
            if self.buf.len() >= WRITE_CHUNK {
                self.write_out();
            }
            let now = Instant::now();
            if now >= next_flush {
                self.write_out();
                next_flush = now + self.flush_interval;
            }
        }
        // Ops still queued behind Close (none, normally) are kept too.
        while let Ok(msg) = self.rx.try_recv() {
            if let Msg::Op(op) = msg {
                self.accept(op);
            }
        }
        self.send_tap();
        self.tap = None;
        self.write_out();
        if let Some(f) = &self.file {
            if let Err(e) = f.sync_data() {
                self.errors.push(format!("syncing the history file: {e}"));
            }
        }
        let ops = self.next_index;
        let history = if self.keep {
            std::mem::take(&mut self.builder).finish()
        } else {
            let path = self
                .path
                .as_ref()
                .expect("a history file when not kept in memory");
            match read_history(path) {
                Ok(h) => h,
                Err(e) => {
                    self.errors.push(e);
                    History::default()
                }
            }
        };
        Recorded {
            history,
            errors: std::mem::take(&mut self.errors),
            ops,
        }
    }

    fn accept(&mut self, mut op: Op) {
        op.index = self.next_index;
        self.next_index += 1;
        op.time = Some(self.shared.started.elapsed().as_nanos() as u64);
        let c = &self.shared.counters;
        let counter = match (&op.process, op.kind) {
            (Process::Named(_), _) => &c.nemesis,
            (_, OpType::Invoke) => &c.invoke,
            (_, OpType::Ok) => &c.ok,
            (_, OpType::Fail) => &c.fail,
            (_, OpType::Info) => &c.info,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if self.file.is_some() || self.tap.is_some() {
            let start = self.buf.len();
            if let Err(e) = serde_json::to_writer(&mut self.buf, &op) {
                self.error(format!("serializing op {}: {e}", op.index));
            }
            self.buf.push(b'\n');
            if self.tap.is_some() {
                if self.tap_count == 0 {
                    self.tap_first = op.index;
                }
                self.tap_buf.extend_from_slice(&self.buf[start..]);
                self.tap_count += 1;
            }
        }
        if self.keep {
            if let Err(e) = self.builder.push(op) {
                self.error(format!("history protocol: {e}"));
            }
        }
    }

    /// The ops accepted since the last call, to the tap.
    fn send_tap(&mut self) {
        let Some(tap) = &self.tap else { return };
        if self.tap_count == 0 {
            return;
        }
        let batch = TapBatch {
            first: self.tap_first,
            count: std::mem::take(&mut self.tap_count),
            lines: std::mem::take(&mut self.tap_buf),
        };
        if let Err(tokio::sync::mpsc::error::TrySendError::Full(b)) = tap.tx.try_send(batch) {
            tap.behind.fetch_add(b.count as u64, Ordering::Relaxed);
        }
    }

    fn write_out(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        if let Some(f) = &mut self.file {
            if let Err(e) = f.write_all(&self.buf) {
                let msg = format!("writing the history file: {e}");
                self.error(msg);
            }
        }
        self.buf.clear();
    }

    fn error(&mut self, msg: String) {
        if self.errors.len() < 100 {
            self.errors.push(msg);
        }
    }
}

/// Reads a `history.jsonl` written by the recorder, including one left by a
/// controller that was killed: an unterminated last line (a write cut
/// short) is ignored, as is an invocation whose completion never made it
/// (the history treats it as unknown).
pub fn read_history(path: &Path) -> Result<History, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut input = BufReader::with_capacity(1 << 16, file);
    let mut builder = HistoryBuilder::new();
    let mut line = Vec::new();
    let mut n = 0usize;
    loop {
        line.clear();
        let read = input
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if read == 0 || line.last() != Some(&b'\n') {
            break;
        }
        n += 1;
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let op = history::jsonl::parse_line(text, n, builder.len() as u64)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        builder
            .push(op)
            .map_err(|e| format!("{}:{n}: {e}", path.display()))?;
    }
    Ok(builder.finish())
}
