//! The run loop end to end with in-process clients: histories it records
//! check as they should, crash semantics, flushing, rate, interrupts and
//! the nemesis hooks.

use checkers::linearizable::{self, ModelKind};
use checkers::verdict::Validity;
use harness::run::memory::MemoryStore;
use harness::run::{
    self, read_history, Cancel, Client, Completion, Connect, GenCtx, Generator, Nemesis, NoNemesis,
    OpRequest, Progress, Recorder, RecorderConfig, Rng, RunConfig,
};
use history::{History, OpType, Process, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn config(path: Option<&Path>, secs: f64) -> RunConfig {
    RunConfig {
        nodes: (1..=5).map(|i| format!("n{i}")).collect(),
        concurrency: 10,
        time_limit: Duration::from_secs_f64(secs),
        recovery_time: Duration::ZERO,
        op_timeout: Duration::from_secs(2),
        progress: Progress::Off,
        recorder: RecorderConfig {
            path: path.map(Path::to_path_buf),
            flush_interval: Duration::from_millis(100),
            ..RecorderConfig::default()
        },
        ..RunConfig::default()
    }
}

/// Register ops on `keys` keys with small values: collisions make the
/// linearizability check meaningful.
fn register_op(keys: u64) -> impl FnMut(&GenCtx, &mut Rng) -> Option<OpRequest> + Send + 'static {
    move |_, rng| {
        let key = rng.below(keys) as i64;
        let op = match rng.weighted(&[5, 3, 2]) {
            0 => OpRequest::new("read", Value::Nil),
            1 => OpRequest::new("write", rng.below(4) as i64),
            _ => OpRequest::new("cas", vec![rng.below(4) as i64, rng.below(4) as i64]),
        };
        Some(op.with_key(key))
    }
}

fn cas_register(history: &History) -> linearizable::LinResult {
    let mut opts = linearizable::Options::new(ModelKind::CasRegister);
    opts.time_limit = Some(Duration::from_secs(60));
    linearizable::check(history, &opts).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_register_history_is_linearizable_and_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let mut cfg = config(Some(&path), 0.5);
    // Slow enough to keep per-key histories small for the checker.
    cfg.rate = Some(4000.0);
    let out = run::run(
        cfg,
        Arc::new(MemoryStore::new()),
        run::from_fn(register_op(50)),
        NoNemesis,
    )
    .await
    .unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert!(out.counts.ok > 500, "{:?}", out.counts);
    assert_eq!(out.counts.invoke, out.counts.completed());
    assert_eq!(out.history.len() as u64, 2 * out.counts.invoke);
    // Dense indexes, times that never go back.
    let ops = out.history.ops();
    for (i, w) in ops.windows(2).enumerate() {
        assert_eq!(w[0].index, i as u64);
        assert!(w[0].time <= w[1].time);
    }
    // The file holds exactly the same history.
    let on_disk = read_history(&path).unwrap();
    assert_eq!(on_disk.ops(), out.history.ops());
    let r = cas_register(&out.history);
    assert_eq!(
        r.valid,
        Validity::Valid,
        "{:?}",
        r.failures.first().map(|f| &f.explanation)
    );
    assert_eq!(r.partitions, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_reads_are_caught() {
    let mut cfg = config(None, 0.3);
    cfg.rate = Some(2000.0);
    let out = run::run(
        cfg,
        Arc::new(MemoryStore::with_stale_reads()),
        run::from_fn(register_op(10)),
        NoNemesis,
    )
    .await
    .unwrap();
    let r = cas_register(&out.history);
    assert_eq!(r.valid, Validity::Invalid);
    let failure = &r.failures[0];
    assert_eq!(failure.op.f, "read", "{}", failure.explanation);
}

/// Hangs on writes of 0; answers everything else at once.
struct Hanging {
    opens: Arc<AtomicUsize>,
}
struct HangingClient;

impl Client for HangingClient {
    async fn invoke(&mut self, op: &OpRequest) -> Completion {
        if op.value == Value::Int(0) {
            std::future::pending::<()>().await;
        }
        if op.value == Value::Int(1) {
            return Completion::fail("refused");
        }
        Completion::Ok(op.value.clone())
    }
}

impl Connect for Hanging {
    type Client = HangingClient;
    async fn open(&self, _node: &str, _process: u64) -> Result<HangingClient, String> {
        self.opens.fetch_add(1, Ordering::SeqCst);
        Ok(HangingClient)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_are_info_and_the_worker_continues_as_a_new_process() {
    let mut cfg = config(None, 1.0);
    cfg.concurrency = 3;
    cfg.op_timeout = Duration::from_millis(50);
    cfg.rate = Some(300.0);
    let opens = Arc::new(AtomicUsize::new(0));
    let gen = run::from_fn(|_, rng: &mut Rng| Some(OpRequest::new("write", rng.below(6) as i64)));
    let out = run::run(
        cfg,
        Arc::new(Hanging {
            opens: opens.clone(),
        }),
        gen,
        NoNemesis,
    )
    .await
    .unwrap();
    let ops = out.history.ops();
    let infos: Vec<_> = ops.iter().filter(|o| o.kind == OpType::Info).collect();
    assert!(infos.len() >= 5, "only {} timeouts", infos.len());
    assert!(ops.iter().any(|o| o.kind == OpType::Fail));
    for info in &infos {
        assert_eq!(info.value, Value::Int(0));
        assert!(
            info.error
                .as_ref()
                .and_then(Value::as_str)
                .unwrap()
                .starts_with("timeout"),
            "{info:?}"
        );
        let Process::Client(p) = info.process else {
            panic!()
        };
        // The crashed process never invokes again ...
        assert!(!ops
            .iter()
            .any(|o| o.index > info.index && o.process == info.process));
        // ... its worker goes on as process p + concurrency (unless the run
        // ended first).
        let successor = Process::Client(p + 3);
        let later = ops
            .iter()
            .any(|o| o.index > info.index && o.process == successor);
        let near_end = info.time.unwrap() > out.main_elapsed.as_nanos() as u64 - 500_000_000;
        assert!(later || near_end, "no process {successor} after {info:?}");
    }
    // Three initial clients, plus one reopened after each info.
    let opens = opens.load(Ordering::SeqCst);
    assert!(
        opens >= 3 + infos.len() - 3 && opens <= 3 + infos.len(),
        "{opens} opens, {} infos",
        infos.len()
    );
    // Every op is either completed or was in flight at the end.
    assert_eq!(out.counts.invoke, out.counts.completed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_file_is_flushed_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let mut cfg = config(Some(&path), 3.0);
    cfg.rate = Some(1000.0);
    let started = Instant::now();
    let run = tokio::spawn(run::run(
        cfg,
        Arc::new(MemoryStore::new()),
        run::from_fn(register_op(10)),
        NoNemesis,
    ));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mid = read_history(&path).unwrap();
    let seen = started.elapsed();
    assert!(!run.is_finished());
    // Flushed every 100 ms, and the promise is at least every second:
    // nothing that happened more than a second before the read is missing.
    let last = mid.ops().last().unwrap().time.unwrap() as u128;
    assert!(
        last + 1_000_000_000 >= seen.as_nanos(),
        "last op on disk at {last} ns, read at {seen:?}"
    );
    assert!(mid.len() > 1000, "{}", mid.len());
    let out = run.await.unwrap().unwrap();
    assert!(out.history.len() > mid.len());
    assert_eq!(&out.history.ops()[..mid.len()], mid.ops());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_is_respected() {
    let mut cfg = config(None, 2.0);
    cfg.rate = Some(250.0);
    cfg.concurrency = 4;
    let out = run::run(
        cfg,
        Arc::new(MemoryStore::new()),
        run::from_fn(register_op(10)),
        NoNemesis,
    )
    .await
    .unwrap();
    let n = out.counts.invoke as f64;
    assert!((400.0..600.0).contains(&n), "{n} ops in 2 s at 250/s");
    // Jitter: the gaps between invocations vary.
    let times: Vec<u64> = out
        .history
        .ops()
        .iter()
        .filter(|o| o.kind == OpType::Invoke)
        .map(|o| o.time.unwrap())
        .collect();
    let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let (lo, hi) = (gaps.iter().min().unwrap(), gaps.iter().max().unwrap());
    assert!(*hi > 3 * (*lo).max(1), "gaps {lo}..{hi} ns");
}

/// Records start/stop events, counts heals; final reads on every worker.
#[derive(Clone, Default)]
struct Faulty {
    heals: Arc<AtomicUsize>,
}

impl Nemesis for Faulty {
    async fn run(&mut self, rec: Recorder, stop: Cancel) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => return,
            }
            rec.nemesis("start-partition", Value::from("majority"));
            rec.set_faults("partition");
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => return,
            }
            rec.nemesis("stop-partition", Value::Nil);
            rec.set_faults("");
        }
    }

    async fn heal(&mut self, rec: Recorder) {
        self.heals.fetch_add(1, Ordering::SeqCst);
        rec.nemesis("heal", Value::Nil);
    }
}

struct WithFinalReads;

impl Generator for WithFinalReads {
    fn next(&mut self, ctx: &GenCtx, rng: &mut Rng) -> Option<OpRequest> {
        register_op(5)(ctx, rng)
    }
    fn final_ops(&mut self, ctx: &GenCtx) -> Vec<OpRequest> {
        vec![OpRequest::new("read", Value::Nil).with_key(ctx.worker as i64 % 5)]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nemesis_events_heal_recovery_and_final_reads() {
    let mut cfg = config(None, 0.7);
    cfg.rate = Some(500.0);
    cfg.recovery_time = Duration::from_millis(200);
    let nemesis = Faulty::default();
    let out = run::run(
        cfg,
        Arc::new(MemoryStore::new()),
        WithFinalReads,
        nemesis.clone(),
    )
    .await
    .unwrap();
    assert!(!out.interrupted);
    assert_eq!(nemesis.heals.load(Ordering::SeqCst), 1);
    let ops = out.history.ops();
    let nem: Vec<_> = ops.iter().filter(|o| o.process.is_nemesis()).collect();
    assert!(nem.len() >= 4, "{nem:?}");
    assert!(nem.iter().all(|o| o.kind == OpType::Info));
    assert_eq!(nem.last().unwrap().f, "heal");
    // The final reads come after the heal and the recovery wait, one per worker.
    let heal = nem.last().unwrap();
    let finals: Vec<_> = ops.iter().filter(|o| o.index > heal.index).collect();
    assert_eq!(finals.len(), 20, "{finals:?}");
    assert!(finals[0].time.unwrap() - heal.time.unwrap() >= 190_000_000);
    assert!(finals.iter().all(|o| o.f == "read"));
    assert_eq!(out.counts.nemesis, nem.len() as u64);
    assert_eq!(cas_register(&out.history).valid, Validity::Valid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_stops_clients_heals_and_skips_the_final_phase() {
    let mut cfg = config(None, 30.0);
    cfg.rate = Some(500.0);
    cfg.recovery_time = Duration::from_secs(30);
    let interrupt = cfg.interrupt.clone();
    let nemesis = Faulty::default();
    let started = Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        interrupt.cancel();
    });
    let out = run::run(
        cfg,
        Arc::new(MemoryStore::new()),
        WithFinalReads,
        nemesis.clone(),
    )
    .await
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(out.interrupted);
    assert_eq!(nemesis.heals.load(Ordering::SeqCst), 1);
    let last = out.history.ops().last().unwrap();
    assert_eq!(last.f, "heal", "no final ops after an interrupt");
    assert_eq!(out.counts.invoke, out.counts.completed());
}

/// Answers every write; the first read fails, the second hangs (a timeout),
/// the third answers: a node that is still coming back at the end.
struct SlowToRecover {
    reads: Arc<AtomicUsize>,
}
struct SlowToRecoverClient {
    reads: Arc<AtomicUsize>,
}

impl Client for SlowToRecoverClient {
    async fn invoke(&mut self, op: &OpRequest) -> Completion {
        if op.f != "read" {
            return Completion::Ok(op.value.clone());
        }
        match self.reads.fetch_add(1, Ordering::SeqCst) {
            0 => Completion::fail("connection reset"),
            1 => std::future::pending().await,
            _ => Completion::Ok(Value::Int(7)),
        }
    }
}

impl Connect for SlowToRecover {
    type Client = SlowToRecoverClient;
    async fn open(&self, _node: &str, _process: u64) -> Result<Self::Client, String> {
        Ok(SlowToRecoverClient {
            reads: self.reads.clone(),
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_final_read_that_fails_or_times_out_is_tried_again_until_it_succeeds() {
    let mut cfg = config(None, 0.2);
    cfg.nodes = vec!["n1".into()];
    cfg.concurrency = 1;
    cfg.rate = Some(50.0);
    cfg.op_timeout = Duration::from_millis(100);
    let reads = Arc::new(AtomicUsize::new(0));
    struct WritesThenOneRead;
    impl Generator for WritesThenOneRead {
        fn next(&mut self, _: &GenCtx, _: &mut Rng) -> Option<OpRequest> {
            Some(OpRequest::new("write", 1))
        }
        fn final_ops(&mut self, _: &GenCtx) -> Vec<OpRequest> {
            vec![OpRequest::new("read", Value::Nil)]
        }
    }
    let out = run::run(
        cfg,
        Arc::new(SlowToRecover {
            reads: reads.clone(),
        }),
        WritesThenOneRead,
        NoNemesis,
    )
    .await
    .unwrap();
    let reads: Vec<_> = out
        .history
        .ops()
        .iter()
        .filter(|o| o.f == "read" && o.kind != OpType::Invoke)
        .map(|o| o.kind)
        .collect();
    // One final op, three attempts: failed, timed out (info), ok; nothing after.
    assert_eq!(reads, vec![OpType::Fail, OpType::Info, OpType::Ok]);
    let last = out.history.ops().last().unwrap();
    assert_eq!(
        (last.f.as_str(), last.value.clone()),
        ("read", Value::Int(7))
    );
    assert!(
        out.final_unanswered.is_empty(),
        "{:?}",
        out.final_unanswered
    );
}

/// A database that never answers a read again: every final op is retried
/// until the final phase ends, and the outcome names them, so the run can
/// say what it did not read (and not call lost writes a pass).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_ops_that_never_succeed_are_named_in_the_outcome() {
    let mut cfg = config(None, 0.2);
    cfg.nodes = vec!["n1".into()];
    cfg.concurrency = 1;
    cfg.rate = Some(50.0);
    cfg.final_time_limit = Duration::from_millis(600);
    struct NeverReads;
    struct NeverReadsClient;
    impl Client for NeverReadsClient {
        async fn invoke(&mut self, op: &OpRequest) -> Completion {
            match op.f {
                "read" => Completion::fail("the database is still recovering"),
                _ => Completion::Ok(op.value.clone()),
            }
        }
    }
    impl Connect for NeverReads {
        type Client = NeverReadsClient;
        async fn open(&self, _node: &str, _process: u64) -> Result<Self::Client, String> {
            Ok(NeverReadsClient)
        }
    }
    struct WritesThenTwoReads;
    impl Generator for WritesThenTwoReads {
        fn next(&mut self, _: &GenCtx, _: &mut Rng) -> Option<OpRequest> {
            Some(OpRequest::new("write", 1))
        }
        fn final_ops(&mut self, _: &GenCtx) -> Vec<OpRequest> {
            vec![
                OpRequest::new("read", Value::Nil),
                OpRequest::new("read", Value::Nil).with_key(3),
            ]
        }
    }
    let started = Instant::now();
    let out = run::run(cfg, Arc::new(NeverReads), WritesThenTwoReads, NoNemesis)
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(!out.interrupted);
    // The first read was tried again and again; the second never got a turn.
    let failed_reads = out
        .history
        .ops()
        .iter()
        .filter(|o| o.f == "read" && o.kind == OpType::Fail)
        .count();
    assert!(failed_reads >= 3, "{failed_reads} attempts");
    assert_eq!(
        out.final_unanswered,
        vec!["read on n1".to_string(), "read of key 3 on n1".to_string()]
    );
}

/// Opens fail on node n1 for the first half second.
struct Flaky {
    started: Instant,
}

impl Connect for Flaky {
    type Client = <MemoryStore as Connect>::Client;
    async fn open(&self, node: &str, process: u64) -> Result<Self::Client, String> {
        if node == "n1" && self.started.elapsed() < Duration::from_millis(500) {
            return Err("connection refused".into());
        }
        MemoryStore::new().open(node, process).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_cannot_open_are_retried_and_reported() {
    let mut cfg = config(None, 1.0);
    cfg.nodes = vec!["n1".into(), "n2".into()];
    cfg.concurrency = 2;
    cfg.rate = Some(200.0);
    let gen = run::from_fn(|ctx: &GenCtx, _: &mut Rng| {
        Some(OpRequest::new("write", ctx.node as i64).with_key(ctx.worker as i64))
    });
    let out = run::run(
        cfg,
        Arc::new(Flaky {
            started: Instant::now(),
        }),
        gen,
        NoNemesis,
    )
    .await
    .unwrap();
    assert_eq!(
        out.warnings,
        vec!["opening a client on n1: connection refused".to_string()]
    );
    let mut first: HashMap<i64, u64> = HashMap::new();
    for o in out.history.ops() {
        first
            .entry(o.value.as_int().unwrap())
            .or_insert(o.time.unwrap());
    }
    assert!(
        first[&0] >= 450_000_000,
        "n1 worked before it could open: {first:?}"
    );
    assert!(first[&1] < 400_000_000, "{first:?}");
}

#[test]
fn a_truncated_last_line_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    std::fs::write(
        &path,
        "{\"index\":0,\"time\":1,\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"value\":1}\n\
         {\"index\":1,\"time\":2,\"type\":\"ok\",\"process\":0,\"f\":\"write\",\"value\":1}\n\
         {\"index\":2,\"time\":3,\"type\":\"inv",
    )
    .unwrap();
    assert_eq!(read_history(&path).unwrap().len(), 2);
    // A garbled line in the middle is an error, not silently skipped.
    std::fs::write(&path, "{\"index\":0,\"ty\n{}\n").unwrap();
    assert!(read_history(&path).is_err());
}

/// The child half of `sigkill_leaves_a_checkable_history`: runs until killed.
#[test]
#[ignore = "run by sigkill_leaves_a_checkable_history in a child process"]
fn child_runs_until_killed() {
    let Ok(path) = std::env::var("SHAKEDOWN_CHILD_HISTORY") else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut cfg = config(Some(Path::new(&path)), 60.0);
    cfg.recorder.flush_interval = Duration::from_millis(500);
    rt.block_on(run::run(
        cfg,
        Arc::new(MemoryStore::new()),
        run::from_fn(register_op(1000)),
        NoNemesis,
    ))
    .unwrap();
}

#[test]
fn sigkill_leaves_a_checkable_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_runs_until_killed",
            "--ignored",
            "--nocapture",
        ])
        .env("SHAKEDOWN_CHILD_HISTORY", &path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1800));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let history = read_history(&path).unwrap();
    assert!(history.len() > 10_000, "{} ops on disk", history.len());
    assert!(history
        .ops()
        .iter()
        .enumerate()
        .all(|(i, o)| o.index == i as u64));
    let r = cas_register(&history);
    assert_eq!(r.valid, Validity::Valid);
}
