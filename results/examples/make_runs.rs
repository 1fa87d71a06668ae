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
