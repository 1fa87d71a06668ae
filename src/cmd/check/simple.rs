//! `shakedown check --workload bank|counter|queue|total-queue|unique-ids|long-fork`:
//! the checkers that need no search, wired to the command line.
//!
//! A foreign history does not say how its test was configured, so:
//! `--initial` gives the bank's initial balances (a map: the accounts and
//! the total) or the counter's initial value (an integer); without it the
//! bank takes them from an `init` op or from what most reads show, and the
//! counter starts at 0. Long-fork groups are the key sets the reads read.

use checkers::{bank, counter, long_fork, queue, txn, unique_ids};
use history::{History, Value};
use workloads::Checked;

/// What `--workload` names: a transactional workload (Elle) or one of
/// the simple checkers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadArg {
    Txn(txn::Workload),
    Bank,
    Counter,
    Queue,
    UniqueIds,
    LongFork,
}

impl std::str::FromStr for WorkloadArg {
    type Err = String;
    fn from_str(s: &str) -> Result<WorkloadArg, String> {
        Ok(match s {
            "bank" => WorkloadArg::Bank,
            "counter" => WorkloadArg::Counter,
            "queue" | "total-queue" => WorkloadArg::Queue,
            "unique-ids" => WorkloadArg::UniqueIds,
            "long-fork" => WorkloadArg::LongFork,
            other => other.parse().map(WorkloadArg::Txn).map_err(|_| {
                format!(
                    "unknown workload {other:?}: expected list-append, rw-register, bank, counter, \
                     queue, total-queue, unique-ids or long-fork"
                )
            })?,
        })
    }
}

impl WorkloadArg {
    pub fn name(self) -> &'static str {
        match self {
            WorkloadArg::Txn(txn::Workload::ListAppend) => "list-append",
            WorkloadArg::Txn(txn::Workload::RwRegister) => "rw-register",
            WorkloadArg::Bank => "bank",
            WorkloadArg::Counter => "counter",
            WorkloadArg::Queue => "queue",
            WorkloadArg::UniqueIds => "unique-ids",
            WorkloadArg::LongFork => "long-fork",
        }
    }

    /// The simple workload a stored run was checked with, from the kind of
    /// its checker in results.json.
    pub fn from_kind(kind: &str) -> Option<WorkloadArg> {
        match kind {
            "bank" | "counter" | "queue" | "unique-ids" | "long-fork" => kind.parse().ok(),
            _ => None,
        }
    }
}

/// The options `--initial` gives the simple checkers.
#[derive(Clone, Debug, Default)]
pub struct Initial {
    pub bank: bank::Options,
    pub counter: counter::Options,
}

impl Initial {
    /// `--initial` read for `workload`: a map of balances for the bank, an
    /// integer for the counter; `nil` (the default) leaves them unset.
    /// `text` is read as JSON first (`{"0":50}` would be EDN with a keyword
    /// `:50`), then as the EDN value `parsed`.
    pub fn new(
        workload: Option<WorkloadArg>,
        text: &str,
        parsed: &Value,
    ) -> Result<Initial, String> {
        let json = serde_json::from_str::<Value>(text).ok();
        let initial = json.as_ref().unwrap_or(parsed);
        let mut o = Initial::default();
        match (workload, initial) {
            (_, Value::Nil) => {}
            (Some(WorkloadArg::Bank), Value::Map(entries)) => {
                let mut total = 0i64;
                let mut accounts = Vec::new();
                for (k, v) in entries {
                    let Some(b) = v.as_int() else {
                        return Err(format!(
                            "--initial: account {k} has balance {v}: expected an integer"
                        ));
                    };
                    accounts.push(bank::account_name(k));
                    total += b;
                }
                o.bank.accounts = Some(accounts);
                o.bank.total = Some(total);
            }
            (Some(WorkloadArg::Bank), other) => {
                return Err(format!(
                    "--initial {other}: the bank expects a map of initial balances, e.g. '{{\"0\":50,\"1\":50}}'"
                ))
            }
            (Some(WorkloadArg::Counter), Value::Int(i)) => o.counter.initial = *i,
            (Some(WorkloadArg::Counter), other) => {
                return Err(format!(
                    "--initial {other}: the counter expects an integer initial value"
                ))
            }
            _ => {}
        }
        Ok(o)
    }
}

impl Initial {
    /// Rechecking a stored bank run: its accounts and total (from its
    /// results.json entry), unless `--initial` gave them.
    pub fn or_stored(&self, bank_result: Option<&serde_json::Value>) -> Initial {
        let mut o = self.clone();
        if let (Some(r), None) = (bank_result, &o.bank.total) {
            o.bank.total = r["total"].as_i64();
            o.bank.accounts = r["accounts"].as_array().map(|a| {
                a.iter()
                    .filter_map(|n| n.as_str().map(str::to_string))
                    .collect()
            });
        }
        o
    }
}

/// Runs the simple checker `workload` names; `None` for a transactional one.
pub fn check(history: &History, workload: WorkloadArg, initial: &Initial) -> Option<Checked> {
    Some(match workload {
        WorkloadArg::Txn(_) => return None,
        WorkloadArg::Bank => Checked::Bank(Box::new(bank::check(history, &initial.bank))),
        WorkloadArg::Counter => Checked::Counter(counter::check(history, &initial.counter)),
        WorkloadArg::Queue => Checked::Queue(queue::check(history, &queue::Options::default())),
        WorkloadArg::UniqueIds => Checked::UniqueIds(unique_ids::check(history)),
        WorkloadArg::LongFork => {
            Checked::LongFork(long_fork::check(history, &long_fork::Options::default()))
        }
    })
}

// What each workload's result is in results.json: shared with `run`.
pub use runner::outputs::{output, summary};
