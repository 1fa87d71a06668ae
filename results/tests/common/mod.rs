//! Run directories for tests and the size/speed measurement: a valid
//! timed register run with faults, an invalid linearizability run (a
//! planted read of a value never written, the value being markup), and
//! the invalid transactional run of the Elle paper's example.
#![allow(dead_code)]

use checkers::linearizable::{self, generate::CasRegisterGen, ModelKind};
use history::{History, Op, OpType, Process, Value};
use results::{CheckerOutput, RunInfo, RunSummary};
use std::path::{Path, PathBuf};

pub const XSS: &str = "<script>alert(1)</script>";

pub fn corpus() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in [
        here.join("../../shared/corpus"),
        PathBuf::from("/work/shared/corpus"),
    ] {
        if dir.is_dir() {
            return dir;
        }
    }
    here.join("../../shared/corpus")
}

/// A generated cas-register history given realistic times (one op every
/// `step_us` microseconds with jittered latencies) and nemesis ops: a
/// partition, a kill, a pause and a clock bump, whose values carry markup.
pub fn timed_register_history(ops: usize, seed: u64, processes: usize) -> History {
    timed_history(ops, seed, processes, 1)
}

/// The same over `keys` independent registers (ops carry a `key`).
pub fn timed_history(ops: usize, seed: u64, processes: usize, keys: usize) -> History {
    let gen = CasRegisterGen {
        ops,
        processes,
        keys,
        seed,
        crash_rate: 0.003,
        fail_rate: 0.02,
        ..CasRegisterGen::default()
    };
    let h = gen.history();
    let n = h.len().max(1) as u64;
    let span_ns: u64 = 60_000_000_000; // one minute
    let mut out: Vec<Op> = Vec::with_capacity(h.len() + 8);
    let nem =
        |f: &str, v: Value, t: u64| Op::new(OpType::Info, Process::nemesis(), f, v).with_time(t);
    let faults = [
        (
            0.15,
            "start-partition",
            Value::from(format!("majority {XSS}")),
        ),
        (0.30, "stop-partition", Value::Nil),
        (0.45, "kill", Value::from(vec!["n1", "n2"])),
        (0.52, "start", Value::from(vec!["n1", "n2"])),
        (0.65, "pause", Value::from("n3")),
        (0.72, "resume", Value::from("n3")),
        (0.80, "bump-clock", Value::from("n4 +250ms")),
        (0.90, "reset-clock", Value::Nil),
    ];
    let mut next_fault = 0;
    for (i, op) in h.into_ops().into_iter().enumerate() {
        let frac = i as f64 / n as f64;
        while next_fault < faults.len() && faults[next_fault].0 <= frac {
            let (_, f, v) = &faults[next_fault];
            out.push(nem(f, v.clone(), (frac * span_ns as f64) as u64));
            next_fault += 1;
        }
        // Latency grows during the partition, so the charts show something.
        let t = (frac * span_ns as f64) as u64 + (i as u64 * 7919 % 1000) * 1000;
        out.push(op.with_time(t));
    }
    // Times must not go backwards.
    let mut last = 0;
    for op in &mut out {
        let t = op.time.unwrap_or(0).max(last);
        op.time = Some(t);
        last = t;
    }
    History::indexed(out).expect("pairs kept")
}

pub fn lin_check(h: &History) -> CheckerOutput {
    let mut opts = linearizable::Options::new(ModelKind::CasRegister);
    opts.time_limit = Some(std::time::Duration::from_secs(60));
    CheckerOutput::linearizable(&linearizable::check(h, &opts).expect("checkable"))
}

fn info(test: &str) -> RunInfo {
    RunInfo {
        test: test.into(),
        target: Some("etcd".into()),
        workload: Some("register".into()),
        nodes: (1..=5).map(|i| format!("n{i}")).collect(),
        start_unix_ms: Some(1_763_790_000_000),
        end_unix_ms: Some(1_763_790_062_500),
        ..RunInfo::default()
    }
}

/// A valid register run with faults.
pub fn valid_run(dir: &Path) -> RunSummary {
    let h = timed_register_history(3000, 7, 5);
    let c = lin_check(&h);
    assert_eq!(
        c.valid,
        results::Verdict::Valid,
        "the generator makes linearizable histories"
    );
    results::write_run(dir, &info("etcd-register"), &h, vec![c]).unwrap()
}

/// A register run made invalid by one read of a value never written
/// (the value is `<script>alert(1)</script>`).
pub fn invalid_lin_run(dir: &Path) -> RunSummary {
    let h = timed_register_history(3000, 11, 5);
    let mut ops = h.into_ops();
    let target = ops.len() / 2;
    let pos = (target..ops.len())
        .find(|&i| ops[i].kind == OpType::Ok && ops[i].f == "read")
        .expect("a read");
    ops[pos].value = Value::from(XSS);
    let h = History::new(ops).unwrap();
    let c = lin_check(&h);
    assert_eq!(c.valid, results::Verdict::Invalid);
    results::write_run(dir, &info("etcd-register-broken"), &h, vec![c]).unwrap()
}

/// The Elle paper's list-append example, checked for serializability.
pub fn invalid_txn_run(dir: &Path) -> RunSummary {
    let path = corpus().join("transactional/elle-paper-example.edn");
    let h = history::read_file(&path, None).expect("corpus history");
    let r = checkers::txn::check(&h, &checkers::txn::Options::default());
    let c = CheckerOutput::txn("elle list-append", &r);
    assert_eq!(c.valid, results::Verdict::Invalid);
    let mut i = info("list-append");
    i.workload = Some("list-append".into());
    i.source = Some(path.display().to_string());
    results::write_run(dir, &i, &h, vec![c]).unwrap()
}

/// A real Jepsen etcd history (jepsen.util log: no op times, so the
/// report places ops by history index), not linearizable.
pub fn corpus_lin_run(dir: &Path) -> RunSummary {
    let path = corpus().join("linearizability/etcd/etcd_000.log");
    let h = history::read_file(&path, None).expect("corpus history");
    let c = lin_check(&h);
    assert_eq!(c.valid, results::Verdict::Invalid);
    let i = RunInfo {
        test: "etcd_000".into(),
        target: Some("etcd".into()),
        source: Some(path.display().to_string()),
        ..RunInfo::default()
    };
    results::write_run(dir, &i, &h, vec![c]).unwrap()
}
