//! The schedule and an injector as the run loop's [`harness::run::Nemesis`].
//!
//! `run` waits for each step of the [`Schedule`] (or, replaying a run, for
//! each recorded step's offset from the start of the run), applies it, and
//! records its [`crate::Effect`] as an `info` op of process `nemesis`
//! (after the fault is in place, so the op's time is an upper bound of its
//! start and a lower bound of its end); a failed step is recorded with an
//! `"error"` value and the schedule goes on. Every step's op also carries
//! what `--replay` needs to apply it again exactly: `fault`, the op with
//! concrete targets (see [`crate::replay`]), and `started`, when the step
//! began (ns since the run started). `heal` undoes everything and records
//! one stop op per kind of fault that was active (faults an earlier,
//! crashed controller left in the state file are healed the same way
//! before the first step); heal ops carry no `fault`: they are not part of
//! the schedule. If neither runs to the end (early return, panic), dropping
//! the nemesis heals synchronously.

use crate::inject::{FaultOp, Injector};
use crate::replay::{Step, FAULT_FIELD, STARTED_FIELD};
use crate::schedule::Schedule;
use harness::run::{Cancel, Nemesis, Recorder};
use history::{Op, OpType, Process, Value};
use serde_json::json;
use std::time::Duration;

/// When a step is due.
enum Due {
    /// This long after the previous step ended (a seeded schedule).
    After(Duration),
    /// At this offset from the start of the run (a replayed schedule).
    At(Duration),
}

pub struct ScheduledNemesis {
    pub injector: Injector,
    steps: Box<dyn Iterator<Item = (Due, FaultOp)> + Send>,
    /// Warnings to surface in the run's summary (e.g. netem unsupported).
    pub warnings: Vec<String>,
}

impl ScheduledNemesis {
    pub fn new(injector: Injector, schedule: Schedule) -> ScheduledNemesis {
        ScheduledNemesis {
            injector,
            steps: Box::new(schedule.map(|(wait, op)| (Due::After(wait), op))),
            warnings: Vec::new(),
        }
    }

    /// Applies `steps` (a recorded schedule, see [`crate::replay`]) each
    /// at its offset from the start of the run; a step whose time has
    /// passed (the one before took longer) follows at once.
    pub fn replay(injector: Injector, steps: Vec<Step>) -> ScheduledNemesis {
        ScheduledNemesis {
            injector,
            steps: Box::new(steps.into_iter().map(|s| (Due::At(s.at), s.op))),
            warnings: Vec::new(),
        }
    }

    /// Apply `op` and record what happened, with the op made concrete
    /// (`fault`) and when the step began (`started`).
    pub async fn step(&mut self, rec: &Recorder, op: &FaultOp) {
        let started = rec.elapsed();
        let (op, result) = match self.injector.concrete(op).await {
            Ok(op) => {
                let r = self.injector.apply(&op).await;
                (op, r)
            }
            Err(e) => (op.clone(), Err(e)),
        };
        let mut recorded = match result {
            Ok(effect) => {
                for w in &effect.warnings {
                    if !self.warnings.contains(w) {
                        self.warnings.push(w.clone());
                    }
                }
                effect.op()
            }
            Err(e) => {
                tracing::warn!("nemesis {}: {e}", op.f());
                Op::new(
                    OpType::Info,
                    Process::nemesis(),
                    op.f(),
                    crate::json_value(&json!({ "error": e.0 })),
                )
            }
        };
        let fault = serde_json::to_value(&op).expect("a fault op is plain data");
        recorded
            .extra
            .push((FAULT_FIELD.into(), crate::json_value(&fault)));
        recorded.extra.push((
            STARTED_FIELD.into(),
            Value::Int(i64::try_from(started.as_nanos()).unwrap_or(i64::MAX)),
        ));
        rec.record(recorded);
        rec.set_faults(self.injector.state().summary());
    }
}

impl Nemesis for ScheduledNemesis {
    async fn run(&mut self, rec: Recorder, stop: Cancel) {
        // Faults left in the state file by a controller that crashed: undo
        // them before the first step so they do not run unrecorded.
        if !self.injector.state().is_empty() {
            tracing::warn!(
                "nemesis: healing faults left by an earlier run: {}",
                self.injector.state().summary()
            );
            self.heal(rec.clone()).await;
        }
        while let Some((due, op)) = self.steps.next() {
            let wait = match due {
                Due::After(wait) => wait,
                Due::At(at) => at.saturating_sub(rec.elapsed()),
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.cancelled() => return,
            }
            if stop.is_cancelled() {
                return;
            }
            self.step(&rec, &op).await;
        }
        stop.cancelled().await
    }

    async fn heal(&mut self, rec: Recorder) {
        match self.injector.heal_all().await {
            Ok(effects) => {
                for e in effects {
                    rec.nemesis(e.f.clone(), crate::json_value(&e.value));
                }
            }
            Err(e) => {
                tracing::error!("nemesis heal: {e}");
                rec.nemesis("heal", crate::json_value(&json!({ "error": e.0 })));
            }
        }
        rec.set_faults(self.injector.state().summary());
    }
}
