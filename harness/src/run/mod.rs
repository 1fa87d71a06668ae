//! The run loop: clients driven by a generator, a nemesis beside them, and
//! every operation recorded into the history.
//!
//! ```text
//!            Generator (one, shared, seeded)         Nemesis
//!                 |  next op, at the target rate        |  record(info op)
//!   worker 0 .. worker c-1  (tokio tasks, one client each, node = worker % nodes)
//!                 |  invoke / ok / fail / info          |
//!                 +---------> Recorder (one thread) <---+
//!                               index, time, history.jsonl, History
//! ```
//!
//! [`run`] goes through the phases of a test:
//!
//! 1. **main**: `concurrency` workers take ops from the generator until the
//!    time limit (or the generator runs dry, or an interrupt); the nemesis
//!    runs beside them until the phase ends;
//! 2. **heal**: the nemesis undoes every fault (also after an interrupt);
//! 3. **recovery**: wait `recovery_time` for the cluster to settle;
//! 4. **final**: each worker runs the generator's final ops (final reads);
//!
//! then the history is flushed and returned. Steps 3 and 4 are skipped
//! after an interrupt (Ctrl-C, or [`RunConfig::interrupt`] cancelled).
//!
//! Per op: the worker records the invocation, calls the client under
//! `op_timeout`, records the completion; a timeout is recorded as `info`.
//! After an `info` the worker drops its client, opens a new one and goes
//! on as a new process (`process + concurrency`): the old process may still
//! have an operation in flight, so it never invokes again (Jepsen's
//! crash semantics).

pub mod cancel;
pub mod client;
pub mod coverage;
pub mod generator;
pub mod memory;
pub mod progress;
pub mod recorder;
pub mod signals;

pub use cancel::Cancel;
pub use client::{
    BoxClient, BoxConnect, BoxFuture, Client, Completion, Connect, DynClient, DynConnect, OpRequest,
};
pub use coverage::Coverage;
pub use generator::{from_fn, FromFn, GenCtx, Generator, Rng};
pub use progress::Progress;
pub use recorder::{read_history, Counts, Recorder, RecorderConfig, RecorderThread, Tap, TapBatch};

use history::{History, Op, OpType, Process, Value};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::{sleep_until, timeout, Instant};

/// How long the nemesis may take to return from `run` once told to stop.
const NEMESIS_STOP_GRACE: Duration = Duration::from_secs(60);

/// Everything the run loop needs besides the client, generator and nemesis.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Node names handed to [`Connect::open`]; worker `w` uses `nodes[w % nodes.len()]`.
    pub nodes: Vec<String>,
    /// Number of workers (client processes at any one time).
    pub concurrency: usize,
    /// Total target rate in ops/s across all workers, with random jitter
    /// (each gap uniform in 0..2/rate); `None` runs as fast as the clients go.
    pub rate: Option<f64>,
    /// Length of the main phase.
    pub time_limit: Duration,
    /// An op not completed within this is recorded as `info`.
    pub op_timeout: Duration,
    /// Wait after healing before the final ops.
    pub recovery_time: Duration,
    /// Upper bound on the final phase (opening clients and final ops).
    pub final_time_limit: Duration,
    /// Seeds the generator's RNG.
    pub seed: u64,
    pub recorder: RecorderConfig,
    pub progress: Progress,
    /// Handle Ctrl-C, SIGTERM and SIGHUP ([`signals`]): the first cancels
    /// `interrupt` (the run stops its clients and heals), the second
    /// flushes the history and exits with status 130. A signal counted
    /// before the run (during the caller's setup, see
    /// [`signals::install`]) is the first.
    pub handle_ctrl_c: bool,
    /// Cancelled on the first signal; the caller may cancel it too (e.g. on
    /// a fatal error elsewhere). Clone it before calling [`run`] to observe it.
    pub interrupt: Cancel,
    /// The command that heals this run's cluster, named when a second
    /// signal quits before healing (e.g. `shakedown heal --cluster e2e`).
    pub heal_command: String,
    /// Cancelled to end the main phase early (the online checkers' first
    /// anomaly under `stop-on: invalid`): unlike `interrupt`, the run goes
    /// on as after its time limit: heal, recovery, final ops.
    pub stop_main: Cancel,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            nodes: vec!["n1".into()],
            concurrency: 5,
            rate: None,
            time_limit: Duration::from_secs(60),
            op_timeout: Duration::from_secs(5),
            recovery_time: Duration::from_secs(10),
            final_time_limit: Duration::from_secs(60),
            seed: 0,
            recorder: RecorderConfig::default(),
            progress: Progress::Auto,
            handle_ctrl_c: false,
            interrupt: Cancel::new(),
            heal_command: "shakedown heal".into(),
            stop_main: Cancel::new(),
        }
    }
}

/// The fault injector, as the run loop sees it.
pub trait Nemesis: Send + 'static {
    /// Runs beside the clients during the main phase and returns once
    /// `stop` is cancelled (end of the main phase or an interrupt). Records
    /// each fault with [`Recorder::nemesis`] and shows the active ones with
    /// [`Recorder::set_faults`].
    fn run(&mut self, rec: Recorder, stop: Cancel) -> impl Future<Output = ()> + Send;

    /// Undoes every fault. Called once after the main phase, interrupted
    /// or not.
    fn heal(&mut self, rec: Recorder) -> impl Future<Output = ()> + Send;
}

/// No faults.
pub struct NoNemesis;

impl Nemesis for NoNemesis {
    async fn run(&mut self, _rec: Recorder, stop: Cancel) {
        stop.cancelled().await
    }
    async fn heal(&mut self, _rec: Recorder) {}
}

/// What a run produced.
pub struct Outcome {
    pub history: History,
    pub history_path: Option<PathBuf>,
    /// The run was interrupted (recovery and final ops skipped).
    pub interrupted: bool,
    pub counts: Counts,
    /// Length of the main phase.
    pub main_elapsed: Duration,
    /// Length of the whole run.
    pub elapsed: Duration,
    /// Things that went wrong without stopping the run: clients that could
    /// not be opened, a panicked worker or nemesis, history write errors.
    pub warnings: Vec<String>,
    /// Final ops (reads, drains) that never succeeded before the final
    /// phase ended, in words: what the database kept is then not known.
    pub final_unanswered: Vec<String>,
    /// The main phase ended before its time limit through
    /// [`RunConfig::stop_main`].
    pub stopped_early: bool,
}

/// Runs a test: main phase with the nemesis, heal, recovery, final ops.
/// Must be called inside a tokio runtime (multi-threaded for throughput).
pub async fn run<C, G, N>(
    cfg: RunConfig,
    connect: Arc<C>,
    generator: G,
    nemesis: N,
) -> Result<Outcome, String>
where
    C: Connect,
    G: Generator,
    N: Nemesis,
{
    if cfg.nodes.is_empty() {
        return Err("no nodes to run clients against".into());
    }
    if cfg.concurrency == 0 {
        return Err("concurrency must be at least 1".into());
    }
    let started = std::time::Instant::now();
    let recorder = RecorderThread::start(cfg.recorder.clone(), started).map_err(|e| {
        let path = cfg.recorder.path.as_deref().unwrap_or("history".as_ref());
        format!("creating {}: {e}", path.display())
    })?;
    let rec = recorder.handle();
    let interrupt = cfg.interrupt.clone();
    let mut background = Vec::new();
    if cfg.handle_ctrl_c {
        background.push(tokio::spawn(on_signals(
            interrupt.clone(),
            rec.clone(),
            cfg.heal_command.clone(),
        )));
    }
    let (phase_tx, phase_rx) = tokio::sync::watch::channel("main");
    background.push(tokio::spawn(progress::run(
        cfg.progress,
        rec.clone(),
        phase_rx,
    )));

    let warnings = Arc::new(Mutex::new(Vec::new()));
    let main_stop = Cancel::new();
    background.push(tokio::spawn({
        let (interrupt, main_stop) = (interrupt.clone(), main_stop.clone());
        async move {
            interrupt.cancelled().await;
            main_stop.cancel();
        }
    }));
    background.push(tokio::spawn({
        let (early, main_stop) = (cfg.stop_main.clone(), main_stop.clone());
        async move {
            early.cancelled().await;
            main_stop.cancel();
        }
    }));

    // Main phase.
    tracing::info!(
        concurrency = cfg.concurrency,
        nodes = cfg.nodes.len(),
        "main phase: {:?}",
        cfg.time_limit
    );
    let nemesis_task = tokio::spawn({
        let (rec, stop) = (rec.clone(), main_stop.clone());
        let mut nemesis = nemesis;
        async move {
            nemesis.run(rec, stop).await;
            nemesis
        }
    });
    let common = Arc::new(Common {
        sched: Mutex::new(Sched {
            generator,
            rng: Rng::seed(cfg.seed),
            jitter: Rng::seed(cfg.seed ^ 0x5eed_f1a7),
            next_slot: Instant::now(),
            exhausted: false,
        }),
        interval: cfg
            .rate
            .filter(|r| *r > 0.0)
            .map(|r| Duration::from_secs_f64(1.0 / r)),
        op_timeout: cfg.op_timeout,
        concurrency: cfg.concurrency,
        nodes: cfg.nodes.clone(),
        connect,
        rec: rec.clone(),
        warnings: warnings.clone(),
    });
    let main_start = Instant::now();
    let deadline = main_start + cfg.time_limit;
    let handles: Vec<_> = (0..cfg.concurrency)
        .map(|w| {
            let mut worker = Worker::new(w, common.clone());
            let stop = main_stop.clone();
            tokio::spawn(async move {
                worker.main_phase(&stop, deadline).await;
                worker
            })
        })
        .collect();
    let mut workers = Vec::with_capacity(handles.len());
    for h in handles {
        match h.await {
            Ok(w) => workers.push(w),
            Err(e) => warn(&warnings, format!("a client worker panicked: {e}")),
        }
    }
    let main_elapsed = main_start.elapsed();
    let stopped_early = cfg.stop_main.is_cancelled() && !interrupt.is_cancelled();
    main_stop.cancel();

    // Heal.
    let _ = phase_tx.send("heal");
    tracing::info!("healing");
    let mut nemesis_task = nemesis_task;
    match timeout(NEMESIS_STOP_GRACE, &mut nemesis_task).await {
        Ok(Ok(mut nemesis)) => nemesis.heal(rec.clone()).await,
        Ok(Err(e)) => warn(
            &warnings,
            format!(
                "the nemesis panicked ({e}): faults may remain; run `{}`",
                cfg.heal_command
            ),
        ),
        Err(_) => {
            // Dropping the nemesis is its last chance to heal.
            nemesis_task.abort();
            let _ = nemesis_task.await;
            warn(
                &warnings,
                format!(
                    "the nemesis did not stop within {NEMESIS_STOP_GRACE:?} and was dropped: faults may remain; run `{}`",
                    cfg.heal_command
                ),
            );
        }
    }

    // Recovery and final ops.
    if !interrupt.is_cancelled() && !cfg.recovery_time.is_zero() {
        let _ = phase_tx.send("recovery");
        tracing::info!("recovery: {:?}", cfg.recovery_time);
        tokio::select! {
            _ = tokio::time::sleep(cfg.recovery_time) => {}
            _ = interrupt.cancelled() => {}
        }
    }
    let mut final_unanswered = Vec::new();
    if !interrupt.is_cancelled() {
        let _ = phase_tx.send("final");
        let deadline = Instant::now() + cfg.final_time_limit;
        let handles: Vec<_> = workers
            .into_iter()
            .map(|mut worker| {
                let stop = interrupt.clone();
                tokio::spawn(async move { worker.final_phase(&stop, deadline).await })
            })
            .collect();
        for h in handles {
            match h.await {
                Ok(unanswered) => final_unanswered.extend(unanswered),
                Err(e) => warn(
                    &warnings,
                    format!("a client worker panicked in the final phase: {e}"),
                ),
            }
        }
    }

    for b in &background {
        b.abort();
    }
    progress::finish(cfg.progress);
    let client_warnings = common.connect.warnings();
    drop(common);
    let recorded = tokio::task::spawn_blocking(move || recorder.finish())
        .await
        .map_err(|e| format!("closing the history: {e}"))?;
    let counts = rec.counts();
    let mut warnings = std::mem::take(&mut *warnings.lock().unwrap());
    warnings.extend(client_warnings);
    warnings.extend(recorded.errors);
    Ok(Outcome {
        history: recorded.history,
        history_path: cfg.recorder.path.clone(),
        interrupted: interrupt.is_cancelled(),
        counts,
        main_elapsed,
        elapsed: started.elapsed(),
        warnings,
        final_unanswered,
        stopped_early,
    })
}

/// The first Ctrl-C / SIGTERM / SIGHUP interrupts the run; the second
/// flushes the history and quits, naming the command that heals.
async fn on_signals(interrupt: Cancel, rec: Recorder, heal_command: String) {
    if let Err(e) = signals::install() {
        tracing::warn!("cannot watch for signals: {e}");
        return;
    }
    let first = signals::wait_for(1).await;
    if !interrupt.is_cancelled() {
        eprintln!(
            "\ninterrupted by {}: stopping clients and healing (signal again to quit at once)",
            first.last
        );
        tracing::warn!("interrupted by {}", first.last);
        interrupt.cancel();
    }
    signals::wait_for(2).await;
    signals::quit(&heal_command, || rec.flush());
}

fn warn(warnings: &Mutex<Vec<String>>, msg: String) {
    tracing::warn!("{msg}");
    let mut w = warnings.lock().unwrap();
    if w.len() < 50 && !w.contains(&msg) {
        w.push(msg);
    }
}

struct Sched<G> {
    generator: G,
    rng: Rng,
    jitter: Rng,
    /// Earliest start of the next op when rate-limited.
    next_slot: Instant,
    exhausted: bool,
}

struct Common<C: Connect, G> {
    sched: Mutex<Sched<G>>,
    interval: Option<Duration>,
    op_timeout: Duration,
    concurrency: usize,
    nodes: Vec<String>,
    connect: Arc<C>,
    rec: Recorder,
    warnings: Arc<Mutex<Vec<String>>>,
}

struct Worker<C: Connect, G> {
    id: usize,
    process: u64,
    node: usize,
    client: Option<C::Client>,
    common: Arc<Common<C, G>>,
}

impl<C: Connect, G: Generator> Worker<C, G> {
    fn new(id: usize, common: Arc<Common<C, G>>) -> Self {
        Worker {
            id,
            process: id as u64,
            node: id % common.nodes.len(),
            client: None,
            common,
        }
    }

    fn ctx(&self) -> GenCtx {
        GenCtx {
            worker: self.id,
            process: self.process,
            node: self.node,
            nodes: self.common.nodes.len(),
            concurrency: self.common.concurrency,
            elapsed: self.common.rec.elapsed(),
        }
    }

    async fn main_phase(&mut self, stop: &Cancel, deadline: Instant) {
        let c = self.common.clone();
        loop {
            if stop.is_cancelled() || Instant::now() >= deadline {
                return;
            }
            if !self.ensure_client(stop, deadline).await {
                return;
            }
            if let Some(interval) = c.interval {
                let now = Instant::now();
                let at = {
                    let mut s = c.sched.lock().unwrap();
                    let at = s.next_slot.max(now);
                    let gap = interval.mul_f64(2.0 * s.jitter.f64());
                    s.next_slot = at + gap;
                    at
                };
                if at >= deadline {
                    return;
                }
                if at > now {
                    tokio::select! {
                        _ = sleep_until(at) => {}
                        _ = stop.cancelled() => return,
                    }
                }
            }
            let ctx = self.ctx();
            let req = {
                let mut s = c.sched.lock().unwrap();
                let s = &mut *s;
                if s.exhausted {
                    None
                } else {
                    let r = s.generator.next(&ctx, &mut s.rng);
                    s.exhausted = r.is_none();
                    r
                }
            };
            let Some(req) = req else { return };
            self.perform(req).await;
        }
    }

    /// Returns the final ops that never succeeded, in words ("read on n1").
    async fn final_phase(&mut self, stop: &Cancel, deadline: Instant) -> Vec<String> {
        let ctx = self.ctx();
        let ops = self.common.sched.lock().unwrap().generator.final_ops(&ctx);
        let mut unanswered = Vec::new();
        // Like Jepsen's `until-ok`: a final op that failed or timed out is
        // tried again until one succeeds or the phase ends. A single failed
        // final read (a connection the last restart broke, a node still
        // catching up) would otherwise leave nothing to compare with, and
        // the verdict unknown. Final ops are reads and drains: another
        // attempt is just another op in the history, and checkers already
        // treat a drain of unknown outcome as one that may have taken
        // elements.
        let mut ops = ops.into_iter();
        while let Some(req) = ops.next() {
            let mut backoff = Duration::from_millis(50);
            let answered = loop {
                if stop.is_cancelled() || !self.ensure_client(stop, deadline).await {
                    break false;
                }
                if self.perform(req.clone()).await == OpType::Ok {
                    break true;
                }
                let wake = (Instant::now() + backoff).min(deadline);
                tokio::select! {
                    _ = sleep_until(wake) => {}
                    _ = stop.cancelled() => break false,
                }
                if Instant::now() >= deadline {
                    break false;
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
            };
            if !answered {
                // This op and every one after it: the phase is over.
                let node = &self.common.nodes[self.node];
                for r in std::iter::once(req).chain(ops.by_ref()) {
                    unanswered.push(match &r.key {
                        Some(k) => format!("{} of key {k} on {node}", r.f),
                        None => format!("{} on {node}", r.f),
                    });
                }
            }
        }
        unanswered
    }

    /// Opens a client if there is none, retrying with backoff; false if the
    /// phase ended first.
    async fn ensure_client(&mut self, stop: &Cancel, deadline: Instant) -> bool {
        let c = self.common.clone();
        let node = &c.nodes[self.node];
        let mut backoff = Duration::from_millis(50);
        while self.client.is_none() {
            match timeout(c.op_timeout, c.connect.open(node, self.process)).await {
                Ok(Ok(client)) => self.client = Some(client),
                Ok(Err(e)) => warn(&c.warnings, format!("opening a client on {node}: {e}")),
                Err(_) => warn(
                    &c.warnings,
                    format!(
                        "opening a client on {node}: timed out after {:?}",
                        c.op_timeout
                    ),
                ),
            }
            if self.client.is_none() {
                let wake = (Instant::now() + backoff).min(deadline);
                tokio::select! {
                    _ = sleep_until(wake) => {}
                    _ = stop.cancelled() => return false,
                }
                if Instant::now() >= deadline {
                    return false;
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
        true
    }

    /// Performs one op and records its invocation and completion; returns
    /// how it completed.
    async fn perform(&mut self, req: OpRequest) -> OpType {
        let c = &*self.common;
        let client = self.client.as_mut().expect("a client");
        c.rec.wait_for_room().await;
        let process = Process::Client(self.process);
        // Every op names the node that served it, so an explanation can say
        // "read -> 3 from n2".
        let node = c.nodes[self.node].clone();
        let mut invoke = Op::new(OpType::Invoke, process.clone(), req.f, req.value.clone());
        invoke.key = req.key.clone();
        invoke.node = Some(node.clone());
        c.rec.record(invoke);
        let outcome = match timeout(c.op_timeout, client.invoke(&req)).await {
            Ok(outcome) => outcome,
            Err(_) => Completion::Info(format!("timeout after {:?}", c.op_timeout)),
        };
        let (kind, value, error) = match outcome {
            Completion::Ok(v) => (OpType::Ok, v, None),
            Completion::Fail(e) => (OpType::Fail, req.value, Some(Value::Str(e))),
            Completion::Info(e) => (OpType::Info, req.value, Some(Value::Str(e))),
        };
        let mut done = Op::new(kind, process, req.f, value);
        done.key = req.key;
        done.node = Some(node);
        done.error = error;
        c.rec.record(done);
        if kind == OpType::Info {
            // Crash semantics: the old process may still have its op in
            // flight; go on as a new process on a new connection.
            self.process += c.concurrency as u64;
            self.client = None;
        }
        // A client that answers without awaiting would otherwise never
        // yield to the other tasks on this thread.
        tokio::task::coop::consume_budget().await;
        kind
    }
}
