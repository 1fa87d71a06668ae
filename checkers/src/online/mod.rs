//! Online checking: checkers that consume a history as it is recorded and
//! report anomalies as soon as a prefix of the history proves them.
//!
//! Each online checker ([`Check`]) is fed the ops in index order, the same
//! ops the recorder writes to `history.jsonl`, and is asked now and then
//! ([`Online::tick`]) to do its heavier work. An anomaly it reports is one
//! the offline checker of the whole history must also report: every online
//! checker judges only what no later op can undo.
//!
//! - [`linearizable::PerKey`]: per key, the existing linearizability
//!   search on the key's prefix. Linearizability is prefix-closed: a
//!   prefix whose pending calls are taken as of unknown outcome (they may
//!   have taken effect or not) is linearizable whenever the whole is, so a
//!   prefix that is not proves the whole is not. Keys are checked when
//!   they have no call in flight (a closed prefix), and dropped once
//!   retired (their last op issued and completed), which bounds memory.
//! - [`simple`]: set (stale reads, unexpected elements), counter bounds,
//!   unique-id duplicates, queue duplicates, each exact and incremental.
//! - [`prefix::Recheck`]: any offline checker re-run on the prefix every so
//!   often (bank totals, transactional cycles), trusted only for what a
//!   prefix proves.
//!
//! What needs the final reads (lost elements) is decided at the end, by
//! the offline check, which stays the authority.

pub mod linearizable;
pub mod prefix;
pub mod simple;

use history::Op;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Anomalies kept with their details (the count goes on).
const MAX_KEPT: usize = 100;

/// An anomaly an online checker found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// The online checker that found it (`linearizable`, `set` ...).
    pub checker: String,
    /// The history index of the op that completes the evidence (the read
    /// that was stale, the call that cannot be linearized).
    pub index: u64,
    /// That op's time, nanoseconds since the run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_ns: Option<u64>,
    /// The index of the last op consumed when it was found.
    pub seen_at_index: u64,
    /// In words.
    pub what: String,
}

/// One online checker: fed every op in index order.
pub trait Check: Send {
    fn name(&self) -> &'static str;
    /// One op of the history (client or nemesis), in index order.
    fn push(&mut self, op: &Op, out: &mut Vec<Anomaly>);
    /// Heavier work (searches), called every so often and at the end.
    fn tick(&mut self, _out: &mut Vec<Anomaly>) {}
    /// The history has ended: anomalies that needed the whole history to
    /// be confirmed (an element no add ever wrote).
    fn finish(&mut self, out: &mut Vec<Anomaly>) {
        self.tick(out)
    }
    /// Approximate bytes held.
    fn retained_bytes(&self) -> usize {
        0
    }
    /// Why part of the history went unchecked online, if it did.
    fn incomplete(&self) -> Option<String> {
        None
    }
}

/// When [`Online::push`] does the heavier work by itself.
#[derive(Clone, Copy, Debug)]
pub enum Ticks {
    /// Every this long (a live run).
    Every(Duration),
    /// Every this many ops (a replay, reproducible).
    Ops(u64),
    /// Only when the caller calls [`Online::tick`].
    Manual,
}

/// The online checkers of a run, and what they found.
pub struct Online {
    checks: Vec<Box<dyn Check>>,
    ticks: Ticks,
    last_tick: Instant,
    ops: u64,
    last_index: u64,
    found: Vec<Anomaly>,
    count: usize,
    scratch: Vec<Anomaly>,
    check_time: Duration,
}

/// What results.json records of the online checkers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OnlineSummary {
    /// The online checkers that ran.
    pub checkers: Vec<String>,
    /// Ops consumed.
    pub ops: u64,
    /// Ops the channel from the recorder had no room for: read back from
    /// the history file instead (the checker caught up; clients never wait).
    #[serde(default)]
    pub behind: u64,
    pub anomaly_count: usize,
    /// The first anomalies, in the order found (up to 100).
    pub anomalies: Vec<Anomaly>,
    /// The first anomaly, placed in the run: its time and the faults active
    /// then ("found at 00:23, 4 s after partition ... began").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<FirstSeen>,
    /// The run's main phase ended at the first anomaly (`stop-on: invalid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_early: Option<String>,
    /// Part of the history was not checked online, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<String>,
    /// Seconds spent in the online checkers.
    #[serde(default)]
    pub check_s: f64,
}

/// When the first anomaly was seen, relative to the run and its faults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FirstSeen {
    pub checker: String,
    pub index: u64,
    /// Seconds since the run started, of the op that completed the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_s: Option<f64>,
    /// The faults active then, each with how long it had been active.
    #[serde(default)]
    pub faults: Vec<ActiveFault>,
    /// `found at 00:23, 4 s after partition {...} began`.
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActiveFault {
    pub name: String,
    pub value: String,
    pub since_s: f64,
}

impl Online {
    pub fn new(checks: Vec<Box<dyn Check>>, ticks: Ticks) -> Online {
        Online {
            checks,
            ticks,
            last_tick: Instant::now(),
            ops: 0,
            last_index: 0,
            found: Vec::new(),
            count: 0,
            scratch: Vec::new(),
            check_time: Duration::ZERO,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// Feeds one op; returns how many anomalies were found with it.
    pub fn push(&mut self, op: &Op) -> usize {
        let t = Instant::now();
        self.ops += 1;
        self.last_index = op.index;
        for c in &mut self.checks {
            c.push(op, &mut self.scratch);
        }
        self.check_time += t.elapsed();
        let due = match self.ticks {
            Ticks::Every(d) => self.last_tick.elapsed() >= d,
            Ticks::Ops(n) => self.ops % n.max(1) == 0,
            Ticks::Manual => false,
        };
        let mut n = self.absorb();
        if due {
            n += self.tick();
        }
        n
    }

    /// [`Online::tick`] if its interval has passed (a live run with no new
    /// op: the last ops still get their check).
    pub fn tick_if_due(&mut self) -> usize {
        match self.ticks {
            Ticks::Every(d) if self.last_tick.elapsed() >= d => self.tick(),
            _ => 0,
        }
    }

    /// Does the heavier work now; returns how many anomalies it found.
    pub fn tick(&mut self) -> usize {
        let t = Instant::now();
        for c in &mut self.checks {
            c.tick(&mut self.scratch);
        }
        self.last_tick = Instant::now();
        self.check_time += t.elapsed();
        self.absorb()
    }

    /// The history ended.
    pub fn finish(&mut self) -> usize {
        let t = Instant::now();
        for c in &mut self.checks {
            c.finish(&mut self.scratch);
        }
        self.check_time += t.elapsed();
        self.absorb()
    }

    fn absorb(&mut self) -> usize {
        let n = self.scratch.len();
        for mut a in self.scratch.drain(..) {
            a.seen_at_index = self.last_index;
            self.count += 1;
            if self.found.len() < MAX_KEPT {
                self.found.push(a);
            }
        }
        n
    }

    pub fn anomaly_count(&self) -> usize {
        self.count
    }

    pub fn anomalies(&self) -> &[Anomaly] {
        &self.found
    }

    pub fn ops(&self) -> u64 {
        self.ops
    }

    /// Approximate bytes the checkers hold.
    pub fn retained_bytes(&self) -> usize {
        self.checks.iter().map(|c| c.retained_bytes()).sum()
    }

    pub fn summary(&self) -> OnlineSummary {
        OnlineSummary {
            checkers: self.checks.iter().map(|c| c.name().to_string()).collect(),
            ops: self.ops,
            behind: 0,
            anomaly_count: self.count,
            anomalies: self.found.clone(),
            first: None,
            stopped_early: None,
            incomplete: self.checks.iter().filter_map(|c| c.incomplete()).collect(),
            check_s: self.check_time.as_secs_f64(),
        }
    }
}

/// Feeds a whole history through `online` as if it were live (ticking as
/// its [`Ticks`] say), then finishes it: what a replay of a recorded run
/// finds online. Returns the anomalies found.
pub fn replay(online: &mut Online, history: &history::History) -> usize {
    let mut n = 0;
    for op in history.ops() {
        n += online.push(op);
    }
    n + online.finish()
}

/// Rough heap bytes of an op (for [`Check::retained_bytes`]).
pub(crate) fn op_bytes(op: &Op) -> usize {
    std::mem::size_of::<Op>() + op.f.capacity() + value_bytes(&op.value)
}

fn value_bytes(v: &history::Value) -> usize {
    use history::Value;
    match v {
        Value::Str(s) | Value::Keyword(s) => s.capacity(),
        Value::List(l) | Value::Set(l) => l
            .iter()
            .map(|x| std::mem::size_of::<Value>() + value_bytes(x))
            .sum(),
        Value::Map(m) => m
            .iter()
            .map(|(a, b)| 2 * std::mem::size_of::<Value>() + value_bytes(a) + value_bytes(b))
            .sum(),
        _ => 0,
    }
}
