//! Histories that are linearizable by construction, for property tests and
//! benchmarks: concurrent clients run against a simulated single-copy
//! cas-register per key, each operation taking effect at one instant
//! between its invocation and its completion. Some operations crash (`info`:
//! they take effect later or never) and some fail (`fail`: they never take
//! effect). The generator needs no I/O and is reproducible from its seed.

use history::{History, Op, OpType, Process, Value};
use rand::{Rng as _, SeedableRng};
use rand_xoshiro::SplitMix64;

/// The generators' seeded random source: `rand_xoshiro`'s SplitMix64, a
/// named generator whose output for a seed is fixed by its specification,
/// so histories are the same on every machine and in every release for a
/// seed (and the same as from the hand-written SplitMix64 before the move
/// to `rand`: pinned in the tests below).
#[derive(Clone, Debug)]
pub struct Rng(SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(SplitMix64::seed_from_u64(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64) < p * (1u64 << 53) as f64
    }
}

#[derive(Clone, Debug)]
pub struct CasRegisterGen {
    /// History length to stop at (ops, not calls).
    pub ops: usize,
    pub keys: usize,
    pub processes: usize,
    /// Fraction of calls that crash with an unknown outcome.
    pub crash_rate: f64,
    /// Fraction of writes that fail without effect.
    pub fail_rate: f64,
    /// Values are drawn from `0..values`.
    pub values: u64,
    pub seed: u64,
}

impl Default for CasRegisterGen {
    fn default() -> Self {
        CasRegisterGen {
            ops: 1000,
            keys: 1,
            processes: 5,
            crash_rate: 0.01,
            fail_rate: 0.01,
            values: 5,
            seed: 0,
        }
    }
}

#[derive(Clone, Copy)]
enum Call {
    Read,
    Write(i64),
    Cas(i64, i64),
}

struct Pending {
    process: u64,
    key: usize,
    call: Call,
    /// The result once the call took effect: `Some(ok?, read value)`.
    effect: Option<(bool, Value)>,
}

fn apply(state: &mut Value, call: Call) -> (bool, Value) {
    match call {
        Call::Read => (true, state.clone()),
        Call::Write(v) => {
            *state = Value::Int(v);
            (true, Value::Nil)
        }
        Call::Cas(from, to) => {
            if *state == Value::Int(from) {
                *state = Value::Int(to);
                (true, Value::Nil)
            } else {
                (false, Value::Nil)
            }
        }
    }
}

impl CasRegisterGen {
    /// Generates the history. With `keys > 1` every op carries a `key`.
    pub fn history(&self) -> History {
        let mut ops: Vec<Op> = Vec::with_capacity(self.ops + self.processes);
        self.for_each(|op| ops.push(op));
        History::new(ops).expect("generated histories pair every call")
    }

    /// Generates the history op by op, holding only the calls in flight:
    /// for histories larger than memory (written to a file as they come).
    pub fn for_each(&self, mut each: impl FnMut(Op)) {
        let mut rng = Rng::new(self.seed);
        let mut state = vec![Value::Nil; self.keys];
        let mut slots: Vec<Option<Pending>> = (0..self.processes).map(|_| None).collect();
        let mut process_ids: Vec<u64> = (0..self.processes as u64).collect();
        // Crashed calls that may still take effect later.
        let mut zombies: Vec<(usize, Call)> = Vec::new();
        let emitted = std::cell::Cell::new(0u64);
        let keyed = self.keys > 1;
        let mut push = |kind, process, key: usize, f: &str, value: Value| {
            let i = emitted.get();
            emitted.set(i + 1);
            let mut op = Op::new(kind, Process::Client(process), f, value)
                .with_index(i)
                .with_time(i * 1000);
            if keyed {
                op.key = Some(Value::Int(key as i64));
            }
            each(op);
        };

        while emitted.get() < self.ops as u64 {
            // Occasionally a crashed call takes effect, long after it crashed.
            if !zombies.is_empty() && rng.chance(0.05) {
                let (key, call) = zombies.swap_remove(rng.below(zombies.len() as u64) as usize);
                if rng.chance(0.5) {
                    apply(&mut state[key], call);
                }
            }
            let slot = rng.below(self.processes as u64) as usize;
            match slots[slot].take() {
                None => {
                    let key = rng.below(self.keys as u64) as usize;
                    let v = rng.below(self.values) as i64;
                    let call = match rng.below(3) {
                        0 => Call::Read,
                        1 => Call::Write(v),
                        _ => {
                            // Compare against the current value half the time so cas succeeds often.
                            let from = match (&state[key], rng.chance(0.5)) {
                                (Value::Int(cur), true) => *cur,
                                _ => rng.below(self.values) as i64,
                            };
                            Call::Cas(from, v)
                        }
                    };
                    let (f, value) = describe(call);
                    push(OpType::Invoke, process_ids[slot], key, f, value);
                    slots[slot] = Some(Pending {
                        process: process_ids[slot],
                        key,
                        call,
                        effect: None,
                    });
                }
                Some(mut p) => {
                    let (f, value) = describe(p.call);
                    if rng.chance(self.crash_rate) {
                        // Crashed before or after taking effect: the client can't tell.
                        push(OpType::Info, p.process, p.key, f, value);
                        if p.effect.is_none() && !matches!(p.call, Call::Read) {
                            zombies.push((p.key, p.call));
                        }
                        // Jepsen semantics: the crashed process never returns.
                        process_ids[slot] += self.processes as u64;
                    } else if p.effect.is_none()
                        && matches!(p.call, Call::Write(_))
                        && rng.chance(self.fail_rate)
                    {
                        push(OpType::Fail, p.process, p.key, f, value);
                    } else if p.effect.is_none() || rng.chance(0.3) {
                        // Take effect now; complete on a later turn.
                        if p.effect.is_none() {
                            p.effect = Some(apply(&mut state[p.key], p.call));
                        }
                        slots[slot] = Some(p);
                    } else {
                        let (ok, read) = p.effect.take().unwrap();
                        let value = if matches!(p.call, Call::Read) {
                            read
                        } else {
                            value
                        };
                        let kind = if ok { OpType::Ok } else { OpType::Fail };
                        push(kind, p.process, p.key, f, value);
                    }
                }
            }
        }
    }
}

fn describe(call: Call) -> (&'static str, Value) {
    match call {
        Call::Read => ("read", Value::Nil),
        Call::Write(v) => ("write", Value::Int(v)),
        Call::Cas(a, b) => ("cas", Value::List(vec![Value::Int(a), Value::Int(b)])),
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    /// Values of the hand-written SplitMix64 the generators had before.
    #[test]
    fn seeds_give_the_values_of_the_hand_written_generator() {
        let mut r = Rng::new(42);
        let raw: Vec<u64> = (0..4).map(|_| r.next_u64()).collect();
        assert_eq!(
            raw,
            [
                13679457532755275413,
                2949826092126892291,
                5139283748462763858,
                6349198060258255764
            ]
        );
        let below: Vec<u64> = (0..6).map(|_| r.below(100)).collect();
        assert_eq!(below, [3, 86, 21, 80, 33, 61]);
        let chance: Vec<bool> = (0..6).map(|_| r.chance(0.5)).collect();
        assert_eq!(chance, [true, true, false, false, false, true]);
    }
}
