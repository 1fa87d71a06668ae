//! Each workload's online checkers ([`checkers::online`]): what a run
//! checks while it goes, beside the offline check at the end.

use crate::Workload;
use checkers::online::{linearizable::PerKey, prefix::Recheck, simple, Check, Online, Ticks};
use checkers::verdict::Validity;
use checkers::CheckerResult;
use std::time::Duration;

/// Time budget of one prefix search of one key.
const PER_CHECK: Duration = Duration::from_secs(2);

/// The first blamed op of an invalid result.
fn first_blamed(r: &dyn CheckerResult) -> Option<u64> {
    r.blamed().iter().map(|b| b.index).min()
}

impl Workload {
    /// The online checkers of this workload (none for long-fork, whose
    /// verdict needs the whole history).
    pub fn online(&self, ticks: Ticks) -> Online {
        let checks: Vec<Box<dyn Check>> = match self {
            Workload::Register(o) => {
                let mut lin = checkers::linearizable::Options::new(
                    checkers::linearizable::ModelKind::CasRegister,
                );
                lin.time_limit = Some(Duration::from_secs(o.check_time_limit));
                vec![Box::new(
                    PerKey::new(lin, PER_CHECK).retire_after(o.ops_per_key),
                )]
            }
            Workload::Set(o) => vec![Box::new(simple::Set::new(o.checker().allow_stale))],
            Workload::Counter(_) => vec![Box::new(simple::Counter::new(
                checkers::counter::Options::default().initial,
            ))],
            Workload::UniqueIds(_) => vec![Box::new(simple::UniqueIds::default())],
            // The generator enqueues each integer once.
            Workload::Queue(_) | Workload::TotalQueue(_) => {
                vec![Box::new(simple::Queue::new(true))]
            }
            Workload::Bank(o) => {
                let o = o.clone();
                vec![Box::new(Recheck::new(
                    "bank",
                    Box::new(move |h| {
                        let r = crate::bank::check(h, &o);
                        // A total or accounts inferred from the reads so
                        // far may change with later reads.
                        let inferred = r.total_from == checkers::bank::Source::Inferred
                            || r.accounts_from == checkers::bank::Source::Inferred;
                        if r.valid != Validity::Invalid || inferred {
                            return None;
                        }
                        first_blamed(&r).map(|i| (i, r.summary().join("; ")))
                    }),
                ))]
            }
            Workload::ListAppend(o) => {
                let o = o.clone();
                vec![Box::new(Recheck::new(
                    "elle list-append",
                    Box::new(move |h| {
                        let r = crate::list_append::check(h, &o).ok()?;
                        if r.valid != Validity::Invalid {
                            return None;
                        }
                        first_blamed(&r).map(|i| (i, r.anomaly_types.join(", ")))
                    }),
                ))]
            }
            Workload::RwRegister(o) => {
                let o = o.clone();
                vec![Box::new(Recheck::new(
                    "elle rw-register",
                    Box::new(move |h| {
                        let r = crate::rw_register::check(h, &o).ok()?;
                        // Cycles only: their edges stay in the graph of
                        // any longer history.
                        let cycles: Vec<&String> =
                            r.anomaly_types.iter().filter(|k| is_cycle(k)).collect();
                        if r.valid != Validity::Invalid || cycles.is_empty() {
                            return None;
                        }
                        let at = r
                            .anomalies
                            .iter()
                            .filter(|a| is_cycle(&a.kind))
                            .flat_map(|a| a.txns.iter().map(|t| t.index))
                            .max()?;
                        Some((
                            at,
                            cycles
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                        ))
                    }),
                ))]
            }
            Workload::LongFork(_) => Vec::new(),
        };
        Online::new(checks, ticks)
    }
}

fn is_cycle(kind: &str) -> bool {
    ["G0", "G1c", "G-single", "G-nonadjacent", "G2"]
        .iter()
        .any(|p| kind.starts_with(p))
}
