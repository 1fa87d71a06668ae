//! The schedule and an injector as the run loop's [`harness::run::Nemesis`].
//!
//! `run` waits for each step of the [`Schedule`], applies it, and records
//! its [`crate::Effect`] as an `info` op of process `nemesis` (after the
//! fault is in place, so the op's time is an upper bound of its start and a
//! lower bound of its end); a failed step is recorded with an `"error"`
//! value and the schedule goes on. `heal` undoes everything and records one
//! stop op per kind of fault that was active (faults an earlier, crashed
//! controller left in the state file are healed the same way before the
//! first step). If neither runs to the end
//! (early return, panic), dropping the nemesis heals synchronously.

use crate::inject::{FaultOp, Injector};
use crate::schedule::Schedule;
use harness::run::{Cancel, Nemesis, Recorder};
use serde_json::json;

pub struct ScheduledNemesis {
    pub injector: Injector,
    schedule: Schedule,
    /// Warnings to surface in the run's summary (e.g. netem unsupported).
    pub warnings: Vec<String>,
}

impl ScheduledNemesis {
    pub fn new(injector: Injector, schedule: Schedule) -> ScheduledNemesis {
        ScheduledNemesis {
            injector,
            schedule,
            warnings: Vec::new(),
        }
    }

    /// Apply `op` and record what happened.
    pub async fn step(&mut self, rec: &Recorder, op: &FaultOp) {
        match self.injector.apply(op).await {
            Ok(effect) => {
                for w in &effect.warnings {
                    if !self.warnings.contains(w) {
                        self.warnings.push(w.clone());
                    }
                }
                rec.nemesis(effect.f.clone(), crate::json_value(&effect.value));
            }
            Err(e) => {
                tracing::warn!("nemesis {}: {e}", op.f());
                rec.nemesis(op.f(), crate::json_value(&json!({ "error": e.0 })));
            }
        }
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
        while let Some((wait, op)) = self.schedule.next() {
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
