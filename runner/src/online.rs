//! The online checkers of a run, on their own thread in the controller.
//!
//! The recorder copies each op's line into a bounded channel (in batches) with `try_send`
//! ([`harness::run::Tap`]); this thread feeds them to the workload's
//! online checkers ([`checkers::online`]). When the channel was full an op
//! is missing from it (counted as `behind`): the thread notices the gap in
//! the indexes and reads the missing ops back from `history.jsonl`, which
//! the recorder writes at least twice a second, then goes on with the
//! channel. The clients never wait for it.
//!
//! At the first anomaly it says so on stderr and, under `stop-on:
//! invalid`, ends the main phase ([`harness::run::RunConfig::stop_main`]).

use checkers::online::{Online, OnlineSummary};
use harness::run::{Cancel, Tap};
use history::Op;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::error::TryRecvError;

/// Batches the channel holds (each the ops of one drain of the
/// recorder's queue, at most 1,024) before the recorder counts them as
/// behind.
pub const CHANNEL_BATCHES: usize = 256;
/// How long the missing ops may take to appear in the history file.
const CATCH_UP_WAIT: Duration = Duration::from_secs(30);

/// Gives this thread the lowest CPU priority (nice 19): when the machine's
/// cores are all busy, the clients, the recorder and the nemesis run first
/// and the online checkers fall behind, then catch up from the history file
/// (checking is never what slows the clients; the `runner` bench `online`
/// measures it). On Linux the nice value is per thread, so `setpriority`
/// on this thread's id leaves the rest of the process as it was. A failure
/// (not allowed, e.g.) leaves the thread at the normal priority.
fn yield_to_the_clients() {
    // SAFETY: plain syscalls on the calling thread's own id.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19);
    }
}

/// The running online checkers.
pub struct OnlineTask {
    thread: JoinHandle<OnlineSummary>,
}

/// Starts the thread. `stop`, when given, is cancelled at the first
/// anomaly (`stop-on: invalid`).
pub fn start(
    online: Online,
    history: PathBuf,
    stop: Option<Cancel>,
) -> std::io::Result<(OnlineTask, Tap)> {
    start_with(online, history, stop, CHANNEL_BATCHES)
}

/// [`start`] with a channel of `capacity` batches.
pub fn start_with(
    online: Online,
    history: PathBuf,
    stop: Option<Cancel>,
    capacity: usize,
) -> std::io::Result<(OnlineTask, Tap)> {
    let (tap, rx) = Tap::new(capacity);
    let task = spawn(online, history, stop, &tap, rx)?;
    Ok((task, tap))
}

/// Starts the thread on the receiving end of `tap`.
fn spawn(
    mut online: Online,
    history: PathBuf,
    stop: Option<Cancel>,
    tap: &Tap,
    mut rx: tokio::sync::mpsc::Receiver<harness::run::TapBatch>,
) -> std::io::Result<OnlineTask> {
    // The thread holds no sender: the channel closes when the recorder and
    // the run's config are gone, which is how the thread learns the end.
    let t = Status {
        behind: tap.behind.clone(),
        status: tap.status.clone(),
    };
    let thread = std::thread::Builder::new()
        .name("online-check".into())
        .spawn(move || {
            yield_to_the_clients();
            let started = Instant::now();
            let mut state = State {
                next: 0,
                tail: None,
                path: history,
                gave_up: None,
                stopped: None,
                stop,
                reported: 0,
            };
            set_status(&t, &online);
            loop {
                match rx.try_recv() {
                    Ok(batch) => {
                        let lines = batch.lines.split(|&b| b == b'\n').filter(|l| !l.is_empty());
                        for (i, line) in lines.enumerate() {
                            let index = batch.first + i as u64;
                            match history::jsonl::parse_line(line, index as usize + 1, index) {
                                Ok(op) => state.take(&mut online, op),
                                Err(e) => {
                                    state.give_up(format!("op {index} from the recorder: {e}"));
                                    break;
                                }
                            }
                            state.after(&mut online, &t, started);
                        }
                    }
                    Err(TryRecvError::Empty) => {
                        online.tick_if_due();
                        state.after(&mut online, &t, started);
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(TryRecvError::Disconnected) => break,
                }
            }
            // The recorder has closed the history: whatever the channel
            // had no room for at the end is in the file.
            state.catch_up(&mut online, u64::MAX, Duration::ZERO);
            online.finish();
            state.after(&mut online, &t, started);
            let mut s = online.summary();
            s.behind = t.behind.load(Ordering::Relaxed);
            s.stopped_early = state.stopped.clone();
            if let Some(why) = state.gave_up {
                s.incomplete.push(why);
            }
            s
        })?;
    Ok(OnlineTask { thread })
}

impl OnlineTask {
    /// Waits for the thread (the run loop has returned and dropped its
    /// end of the channel).
    pub fn finish(self) -> OnlineSummary {
        self.thread.join().unwrap_or_else(|_| OnlineSummary {
            incomplete: vec!["the online checkers panicked".into()],
            ..OnlineSummary::default()
        })
    }
}

/// What the thread shares with the recorder and the progress line.
struct Status {
    behind: std::sync::Arc<std::sync::atomic::AtomicU64>,
    status: std::sync::Arc<std::sync::Mutex<String>>,
}

fn set_status(tap: &Status, online: &Online) {
    let n = online.anomaly_count();
    let behind = tap.behind.load(Ordering::Relaxed);
    let mut s = format!("online: {n} anomal{}", if n == 1 { "y" } else { "ies" });
    if behind > 0 {
        s.push_str(&format!(" (caught up on {behind} ops)"));
    }
    *tap.status.lock().unwrap_or_else(|e| e.into_inner()) = s;
}

struct State {
    /// The index of the next op to check.
    next: u64,
    tail: Option<Tail>,
    path: PathBuf,
    gave_up: Option<String>,
    stopped: Option<String>,
    stop: Option<Cancel>,
    reported: usize,
}

impl State {
    fn give_up(&mut self, why: String) {
        if self.gave_up.is_none() {
            self.gave_up = Some(format!(
                "online checking stopped at op {}: {why}",
                self.next
            ));
        }
    }

    fn take(&mut self, online: &mut Online, op: Op) {
        if self.gave_up.is_some() || op.index < self.next {
            return;
        }
        if op.index > self.next {
            self.catch_up(online, op.index, CATCH_UP_WAIT);
            if self.gave_up.is_some() || op.index < self.next {
                return;
            }
        }
        online.push(&op);
        self.next = op.index + 1;
    }

    /// Reads ops `next..until` back from the history file, waiting up to
    /// `wait` for them to be written.
    fn catch_up(&mut self, online: &mut Online, until: u64, wait: Duration) {
        if self.gave_up.is_some() || self.next >= until {
            return;
        }
        if self.tail.is_none() {
            match Tail::open(&self.path) {
                Ok(t) => self.tail = Some(t),
                Err(e) => {
                    self.gave_up =
                        Some(format!("online checking stopped at op {}: {e}", self.next));
                    return;
                }
            }
        }
        let tail = self.tail.as_mut().expect("open");
        let deadline = Instant::now() + wait;
        while self.next < until {
            match tail.next_op() {
                Ok(Some(op)) => {
                    if op.index >= self.next {
                        if op.index > self.next {
                            self.gave_up = Some(format!(
                                "online checking stopped at op {}: the history file skips to op {}",
                                self.next, op.index
                            ));
                            return;
                        }
                        online.push(&op);
                        self.next = op.index + 1;
                    }
                }
                Ok(None) if until == u64::MAX || Instant::now() >= deadline => {
                    if until != u64::MAX {
                        self.gave_up = Some(format!(
                            "online checking stopped at op {}: it was not written to {} within {:?}",
                            self.next,
                            self.path.display(),
                            wait
                        ));
                    }
                    return;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => {
                    self.gave_up =
                        Some(format!("online checking stopped at op {}: {e}", self.next));
                    return;
                }
            }
        }
    }

    /// After each op: the progress line, the first anomaly on stderr and
    /// the early stop.
    fn after(&mut self, online: &mut Online, tap: &Status, started: Instant) {
        let n = online.anomaly_count();
        if n == self.reported {
            return;
        }
        set_status(tap, online);
        if self.reported == 0 {
            if let Some(a) = online.anomalies().first() {
                let at = a
                    .time_ns
                    .map(Duration::from_nanos)
                    .unwrap_or_else(|| started.elapsed());
                let line = format!(
                    "first online anomaly at {} ({}): {}",
                    clock(at),
                    a.checker,
                    a.what
                );
                eprintln!("\nshakedown: {line}");
                tracing::warn!("{line}");
                if let Some(stop) = &self.stop {
                    self.stopped = Some(format!(
                        "stop-on: invalid: the {line}; the main phase ended at {}",
                        clock(started.elapsed())
                    ));
                    eprintln!("shakedown: stop-on: invalid: ending the main phase (heal, final reads, check as usual)");
                    stop.cancel();
                }
            }
        }
        self.reported = n;
    }
}

/// `mm:ss`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// `history.jsonl` read as it grows.
struct Tail {
    input: BufReader<File>,
    line: Vec<u8>,
    n: usize,
}

impl Tail {
    fn open(path: &Path) -> Result<Tail, String> {
        let f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Tail {
            input: BufReader::with_capacity(1 << 16, f),
            line: Vec::new(),
            n: 0,
        })
    }

    /// The next whole line's op, or `None` when the file ends (for now).
    fn next_op(&mut self) -> Result<Option<Op>, String> {
        loop {
            let read = self
                .input
                .read_until(b'\n', &mut self.line)
                .map_err(|e| e.to_string())?;
            if read == 0 || self.line.last() != Some(&b'\n') {
                return Ok(None);
            }
            self.n += 1;
            let text = self.line.trim_ascii();
            if text.is_empty() {
                self.line.clear();
                continue;
            }
            let op = history::jsonl::parse_line(text, self.n, 0).map_err(|e| e.to_string());
            self.line.clear();
            return op.map(Some);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::run::{RecorderConfig, RecorderThread};
    use history::{Op, OpType, Process, Value};

    /// Ops for a register that goes stale at op `stale_at` (a read
    /// returning the first value written after a later write), else
    /// correct: one client, sequential.
    fn record(rec: &harness::run::Recorder, calls: usize, stale_at: Option<usize>) {
        let mut value = None;
        for i in 0..calls {
            let key = Value::Int((i / 100) as i64);
            let (f, v) = if i % 2 == 0 {
                ("write", Value::Int(i as i64))
            } else {
                ("read", Value::Nil)
            };
            rec.record(
                Op::new(OpType::Invoke, Process::Client(0), f, v.clone()).with_key(key.clone()),
            );
            let out = match f {
                "write" => {
                    value = Some(i as i64);
                    v
                }
                _ if Some(i) == stale_at => Value::Int(-1),
                _ => value.map_or(Value::Nil, Value::Int),
            };
            rec.record(Op::new(OpType::Ok, Process::Client(0), f, out).with_key(key));
        }
    }

    fn online() -> Online {
        workloads::Workload::by_name("register")
            .unwrap()
            .online(checkers::online::Ticks::Every(Duration::from_millis(50)))
    }

    fn run(capacity: usize, stale_at: Option<usize>, stop: Option<Cancel>) -> OnlineSummary {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let (task, tap) = start_with(online(), path.clone(), stop, capacity).unwrap();
        let rec = RecorderThread::start(
            RecorderConfig {
                path: Some(path),
                flush_interval: Duration::from_millis(50),
                tap: Some(tap),
                ..RecorderConfig::default()
            },
            std::time::Instant::now(),
        )
        .unwrap();
        record(&rec.handle(), 20_000, stale_at);
        let recorded = rec.finish();
        assert_eq!(recorded.history.len(), 40_000);
        task.finish()
    }

    /// A channel too small for the ops: the thread reads the missing ones
    /// back from the file, and every op is checked.
    #[test]
    fn a_full_channel_is_caught_up_from_the_history_file() {
        // A channel of one batch, already full, whose reader starts only
        // once the recorder is done: every batch finds no room (whatever
        // the machine's load), so every op must come from the file.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let (tap, rx) = Tap::new(1);
        let empty = harness::run::TapBatch {
            first: 0,
            count: 0,
            lines: Vec::new(),
        };
        tap.tx.try_send(empty).unwrap();
        let rec = RecorderThread::start(
            RecorderConfig {
                path: Some(path.clone()),
                flush_interval: Duration::from_millis(50),
                tap: Some(tap.clone()),
                ..RecorderConfig::default()
            },
            std::time::Instant::now(),
        )
        .unwrap();
        record(&rec.handle(), 20_000, None);
        assert_eq!(rec.finish().history.len(), 40_000);
        let task = spawn(online(), path, None, &tap, rx).unwrap();
        drop(tap);
        let s = task.finish();
        assert_eq!(s.behind, 40_000, "every op missed the channel: {s:?}");
        assert_eq!(s.ops, 40_000, "{s:?}");
        assert_eq!(s.anomaly_count, 0, "{s:?}");
        assert!(s.incomplete.is_empty(), "{s:?}");
        // And a small channel beside a live reader (full or not, as the
        // machine's load has it) loses nothing either.
        let s = run(4, None, None);
        assert_eq!(s.ops, 40_000, "{s:?}");
        assert_eq!(s.anomaly_count, 0, "{s:?}");
        assert!(s.incomplete.is_empty(), "{s:?}");
    }

    /// A stale read among ops read back from the file is found, and under
    /// `stop-on: invalid` the stop is signalled and said.
    #[test]
    fn an_anomaly_is_found_behind_and_stops_the_run() {
        let stop = Cancel::new();
        let s = run(4, Some(15_001), Some(stop.clone()));
        assert_eq!(s.anomaly_count, 1, "{s:?}");
        assert_eq!(s.anomalies[0].checker, "linearizable");
        assert_eq!(s.anomalies[0].index, 30_003, "the stale read's completion");
        assert!(stop.is_cancelled());
        assert!(s
            .stopped_early
            .unwrap()
            .starts_with("stop-on: invalid: the first online anomaly at"));
    }
}
