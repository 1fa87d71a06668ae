//! Writes sample run directories: `make_runs OUT_DIR [OPS]` makes
//! OUT_DIR/{valid,invalid-lin,invalid-txn}, and with OPS a timed register
//! run of that many ops in OUT_DIR/big (for the 1,000,000-op measurement).

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().expect("usage: make_runs OUT_DIR [OPS]"));
    let big: Option<usize> = args.next().map(|s| s.parse().expect("OPS is a number"));
    let txn = args.next().as_deref() == Some("txn");
    match big {
        None => {
            for (name, f) in [
                (
                    "valid",
                    common::valid_run as fn(&std::path::Path) -> results::RunSummary,
                ),
                ("invalid-lin", common::invalid_lin_run),
                ("invalid-txn", common::invalid_txn_run),
            ] {
                let dir = out.join(name);
                std::fs::create_dir_all(&dir).unwrap();
                let s = f(&dir);
                println!("{}: {}", dir.display(), s.valid);
            }
        }
        Some(ops) if txn => {
            // A list-append history of `ops` ops, no checker: the size of
            // a report whose every op has a long, distinct value.
            let dir = out.join("big-txn");
            std::fs::create_dir_all(&dir).unwrap();
            let h = list_append_history(ops);
            let t = Instant::now();
            let info = results::RunInfo {
                test: "big-txn".into(),
                ..Default::default()
            };
            let s = results::write_run(&dir, &info, &h, Vec::new()).unwrap();
            let size = std::fs::metadata(dir.join("report.html")).unwrap().len();
            println!(
                "wrote {} ({} ops, report.html {:.1} MB) in {:.2?}",
                dir.display(),
                s.ops.ops,
                size as f64 / 1e6,
                t.elapsed()
            );
        }
        Some(ops) => {
            let dir = out.join("big");
            std::fs::create_dir_all(&dir).unwrap();
            let t = Instant::now();
            let h = common::timed_history(ops, 3, 10, 100);
            // One wrong read in the middle, so the report has a blamed op.
            let mut all = h.into_ops();
            let mid = (all.len() / 2..all.len())
                .find(|&i| all[i].kind == history::OpType::Ok && all[i].f == "read")
                .unwrap();
            all[mid].value = history::Value::from(common::XSS);
            let h = history::History::new(all).unwrap();
            println!("generated {} ops in {:.2?}", h.len(), t.elapsed());
            let t = Instant::now();
            let c = common::lin_check(&h);
            println!("checked ({}) in {:.2?}", c.valid, t.elapsed());
            let t = Instant::now();
            let info = results::RunInfo {
                test: "big".into(),
                ..Default::default()
            };
            let s = results::write_run(&dir, &info, &h, vec![c]).unwrap();
            let size = std::fs::metadata(dir.join("report.html")).unwrap().len();
            println!(
                "wrote {} ({} ops, report.html {:.1} MB) in {:.2?}",
                dir.display(),
                s.ops.ops,
                size as f64 / 1e6,
                t.elapsed()
            );
        }
    }
}

/// Txns of 2-4 micro-ops over 1,000 keys, 10 workers, one op every 60 µs:
/// appends of fresh values and reads returning the key's list so far
/// (cut to its last 8 elements to keep reads realistic in size).
fn list_append_history(ops: usize) -> history::History {
    use history::{Op, OpType, Process, Value};
    let mut lists: Vec<Vec<i64>> = vec![Vec::new(); 1000];
    let mut next = 0i64;
    let mut rng = checkers::linearizable::generate::Rng::new(9);
    let mut out = Vec::with_capacity(ops);
    let mut t = 0u64;
    while out.len() + 2 <= ops {
        let p = (out.len() / 2 % 10) as u64;
        let mut mops = Vec::new();
        for _ in 0..2 + rng.below(3) {
            let k = rng.below(1000) as usize;
            if rng.chance(0.5) {
                next += 1;
                lists[k].push(next);
                mops.push(Value::List(vec![
                    "append".into(),
                    Value::Int(k as i64),
                    Value::Int(next),
                ]));
            } else {
                let l = &lists[k];
                let tail: Vec<Value> = l[l.len().saturating_sub(8)..]
                    .iter()
                    .map(|&v| Value::Int(v))
                    .collect();
                mops.push(Value::List(vec![
                    "r".into(),
                    Value::Int(k as i64),
                    Value::List(tail),
                ]));
            }
        }
        let inv = Op::new(
            OpType::Invoke,
            Process::Client(p),
            "txn",
            Value::List(mops.clone()),
        )
        .with_time(t);
        t += 30_000 + rng.below(60_000);
        out.push(inv);
        out.push(Op::new(OpType::Ok, Process::Client(p), "txn", Value::List(mops)).with_time(t));
    }
    history::History::indexed(out).unwrap()
}
