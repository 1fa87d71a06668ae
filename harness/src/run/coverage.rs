//! Whether a run's history can support a verdict at all. A checker can
//! only find anomalies in what happened: a run in which no client
//! operation succeeded (the database never answered, every client failed)
//! would pass every checker while testing nothing.

use history::{History, OpType};

/// How many client operations were invoked and completed each way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub invoked: usize,
    pub ok: usize,
    pub fail: usize,
    pub info: usize,
}

impl Coverage {
    pub fn of(history: &History) -> Coverage {
        let mut c = Coverage::default();
        for op in history.ops() {
            // Only clients' ops: not the nemesis's, nor a target's
            // observations (e.g. `primaries`).
            if !op.process.is_client() {
                continue;
            }
            match op.kind {
                OpType::Invoke => c.invoked += 1,
                OpType::Ok => c.ok += 1,
                OpType::Fail => c.fail += 1,
                OpType::Info => c.info += 1,
            }
        }
        c
    }

    /// Why the history tested nothing, if it did not.
    pub fn tested_nothing(&self) -> Option<String> {
        if self.invoked == 0 {
            Some("no client operation was performed".into())
        } else if self.ok == 0 {
            Some(format!(
                "no client operation succeeded ({} invoked: {} failed, {} unknown): the database was never shown to work",
                self.invoked, self.fail, self.info
            ))
        } else {
            None
        }
    }
}
