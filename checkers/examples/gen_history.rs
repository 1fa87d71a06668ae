//! Writes a generated cas-register history (linearizable by construction)
//! as JSON Lines, for benchmarks of the whole `shakedown check` pipeline.
//! Ops are written as they are generated, so any length fits in memory
//! (100,000,000 ops make a ~10 GB file):
//!
//! ```sh
//! cargo run --release -p checkers --example gen_history -- 1000000 1000 20 0.01 > big.jsonl
//! ```
//! Arguments: ops, keys, clients, crash rate (defaults 1000000 1000 20 0.01).

use checkers::linearizable::generate::CasRegisterGen;
use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_string());
    let gen = CasRegisterGen {
        ops: arg(0, "1000000").parse().expect("ops: an integer"),
        keys: arg(1, "1000").parse().expect("keys: an integer"),
        processes: arg(2, "20").parse().expect("clients: an integer"),
        crash_rate: arg(3, "0.01").parse().expect("crash rate: a number"),
        fail_rate: 0.01,
        values: 5,
        seed: 42,
    };
    let out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let mut out = history::jsonl::JsonlWriter::new(out);
    gen.for_each(|op| {
        if let Err(e) = out.write(&op) {
            // A closed pipe (`| head`) or a full disk: stop generating.
            eprintln!("gen_history: {e}");
            std::process::exit(1);
        }
    });
    out.flush()?;
    out.into_inner().flush()
}
