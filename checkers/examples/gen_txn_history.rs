//! Writes a generated list-append history as JSON Lines, for benchmarks of
//! the whole `shakedown check --workload list-append` pipeline (reading
//! included). The store is `checkers::txn::generate`'s: 1-5 micro-ops per
//! txn, 50 clients, 1,000 active keys (a key retires after 32 appends),
//! every txn applied atomically at its completion, so the history is
//! strict serializable unless reads are made stale. Lines are written as
//! they come: any length fits in memory.
//!
//! ```sh
//! cargo run --release -p checkers --example gen_txn_history -- 10000000 > /tmp/la-10m.jsonl
//! ```
//! Arguments: txns (default 1000000), stale (0: valid; n > 0: reads miss up
//! to n - 1 of the latest appends, an invalid history), seed (42),
//! registers (`w` / single-value reads for rw-register instead of lists: 1).

use checkers::txn::generate::{GenMop, TxnGen};
use std::fmt::Write as _;
use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| {
        args.get(i).map_or(default, |a| {
            a.parse()
                .unwrap_or_else(|_| panic!("argument {}: expected an integer, got {a:?}", i + 1))
        })
    };
    let out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    write_history(
        arg(0, 1_000_000) as usize,
        arg(1, 0),
        arg(2, 42),
        arg(3, 0) == 1,
        out,
    )
}

/// Writes `n` txns (2n ops) to `out` (see the module comment).
pub fn write_history(
    n: usize,
    stale: u64,
    seed: u64,
    registers: bool,
    mut out: impl Write,
) -> std::io::Result<()> {
    let gen = TxnGen {
        txns: n,
        stale,
        seed,
        registers,
    };
    let append = if registers { "w" } else { "append" };
    let mut line = String::with_capacity(1024);
    let mut failed = None;
    gen.for_each(|op| {
        if failed.is_some() {
            return;
        }
        line.clear();
        let kind = if op.ok { "ok" } else { "invoke" };
        let _ = write!(
            line,
            "{{\"index\":{},\"time\":{},\"type\":\"{kind}\",\"process\":{},\"f\":\"txn\",\"value\":[",
            op.index, op.time, op.process
        );
        for (i, m) in op.mops.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            let _ = match *m {
                GenMop::Append { key, value } => write!(line, "[\"{append}\",{key},{value}]"),
                GenMop::Read { key, seen: None } => write!(line, "[\"r\",{key},null]"),
                GenMop::Read {
                    key,
                    seen: Some(list),
                } if registers => match list.last() {
                    Some(x) => write!(line, "[\"r\",{key},{x}]"),
                    None => write!(line, "[\"r\",{key},null]"),
                },
                GenMop::Read {
                    key,
                    seen: Some(list),
                } => {
                    let _ = write!(line, "[\"r\",{key},[");
                    for (j, x) in list.iter().enumerate() {
                        if j > 0 {
                            line.push(',');
                        }
                        let _ = write!(line, "{x}");
                    }
                    write!(line, "]]")
                }
            };
        }
        line.push_str("]}\n");
        failed = out.write_all(line.as_bytes()).err();
    });
    match failed {
        Some(e) => Err(e),
        None => out.flush(),
    }
}
