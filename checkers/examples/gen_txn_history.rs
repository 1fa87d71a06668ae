//! Writes a generated list-append history as JSON Lines, for benchmarks of
//! the whole `shakedown check --workload list-append` pipeline (reading
//! included). The store is simulated as in `benches/txn.rs`: 1-5 micro-ops
//! per txn, 50 clients, 1,000 active keys (a key retires after 32 appends),
//! every txn applied atomically at its completion, so the history is
//! strict serializable unless reads are made stale.
//!
//! ```sh
//! cargo run --release -p checkers --example gen_txn_history -- 10000000 > /tmp/la-10m.jsonl
//! ```
//! Arguments: txns (default 1000000), stale (0: valid; n > 0: reads miss up
//! to n - 1 of the latest appends, an invalid history), seed (42),
//! registers (`w` / single-value reads for rw-register instead of lists: 1).

use std::io::{BufWriter, Write};

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const CLIENTS: usize = 50;
const ACTIVE_KEYS: u64 = 1_000;
const WRITES_PER_KEY: usize = 32;

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
    let mut rng = Rng(seed);

    let mut lists: Vec<Vec<i64>> = vec![Vec::new(); ACTIVE_KEYS as usize];
    let mut active: Vec<usize> = (0..ACTIVE_KEYS as usize).collect();
    let mut running: Vec<Option<Vec<(bool, usize, i64)>>> = vec![None; CLIENTS];
    let (mut started, mut done, mut next_val, mut index) = (0, 0, 1i64, 0u64);
    let append = if registers { "w" } else { "append" };
    let mut line = String::with_capacity(1024);
    while done < n {
        let c = rng.below(CLIENTS as u64) as usize;
        line.clear();
        // One op per microsecond or so.
        let time = index * 1_000 + rng.below(1_000);
        match running[c].take() {
            None if started < n => {
                started += 1;
                let len = 1 + rng.below(5) as usize;
                let mut plan = Vec::with_capacity(len);
                for _ in 0..len {
                    let slot = rng.below(ACTIVE_KEYS) as usize;
                    if lists[active[slot]].len() >= WRITES_PER_KEY {
                        active[slot] = lists.len();
                        lists.push(Vec::new());
                    }
                    let is_append = rng.below(2) == 0;
                    plan.push((is_append, active[slot], next_val));
                    next_val += is_append as i64;
                }
                line.push_str(&format!(
                    "{{\"index\":{index},\"time\":{time},\"type\":\"invoke\",\"process\":{c},\"f\":\"txn\",\"value\":["
                ));
                for (i, &(is_append, k, v)) in plan.iter().enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    if is_append {
                        line.push_str(&format!("[\"{append}\",{k},{v}]"));
                    } else {
                        line.push_str(&format!("[\"r\",{k},null]"));
                    }
                }
                running[c] = Some(plan);
            }
            None => continue,
            Some(plan) => {
                line.push_str(&format!(
                    "{{\"index\":{index},\"time\":{time},\"type\":\"ok\",\"process\":{c},\"f\":\"txn\",\"value\":["
                ));
                for (i, (is_append, k, v)) in plan.into_iter().enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    if is_append {
                        lists[k].push(v);
                        line.push_str(&format!("[\"{append}\",{k},{v}]"));
                        continue;
                    }
                    let lag = if stale > 0 {
                        rng.below(stale) as usize
                    } else {
                        0
                    };
                    let seen = &lists[k][..lists[k].len().saturating_sub(lag)];
                    line.push_str(&format!("[\"r\",{k},"));
                    if registers {
                        match seen.last() {
                            Some(x) => line.push_str(&x.to_string()),
                            None => line.push_str("null"),
                        }
                    } else {
                        line.push('[');
                        for (j, x) in seen.iter().enumerate() {
                            if j > 0 {
                                line.push(',');
                            }
                            line.push_str(&x.to_string());
                        }
                        line.push(']');
                    }
                    line.push(']');
                }
                done += 1;
            }
        }
        line.push_str("]}\n");
        out.write_all(line.as_bytes())?;
        index += 1;
    }
    out.flush()
}
