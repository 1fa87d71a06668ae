//! A linearizability result as people see it ([`CheckerResult`]).

use super::LinResult;
use crate::result::{Blame, Block, CheckerResult, Section};
use crate::verdict::Validity;

impl CheckerResult for LinResult {
    fn valid(&self) -> Validity {
        self.valid
    }

    fn reason(&self) -> Option<String> {
        self.reason.clone()
    }

    fn blamed(&self) -> Vec<Blame> {
        self.failures
            .iter()
            .map(|f| Blame {
                index: f.op.index,
                why: "cannot be linearized".into(),
            })
            .collect()
    }

    fn summary(&self) -> Vec<String> {
        let mut lines = vec![
            format!("model {}", self.model.name()),
            format!("{} calls", self.calls),
        ];
        if self.model.has_nil_rule() {
            lines[0].push_str(&format!(", nil reads {}", self.nil_reads.name()));
        }
        if self.independent {
            lines[0].push_str(", keys from [key value] tuples");
        }
        if !self.failures.is_empty() {
            lines.push(format!(
                "{} partition(s) not linearizable",
                self.failures.len()
            ));
        }
        lines
    }

    fn section(&self) -> Section {
        let mut blocks = Vec::new();
        if let Some(reason) = &self.reason {
            blocks.push(Block::text(reason.clone()));
        }
        let mut facts = vec![("model", self.model.name().to_string())];
        if self.model.has_nil_rule() {
            facts.push(("nil reads", self.nil_reads.name().to_string()));
        }
        facts.extend([
            ("calls", self.calls.to_string()),
            ("partitions", self.partitions.to_string()),
            ("search steps", self.search_steps.to_string()),
        ]);
        blocks.push(Block::facts(facts));
        if self.model.has_nil_rule() {
            blocks.push(Block::text(format!(
                "Nil reads: {}.",
                self.nil_reads.describe()
            )));
        }
        if !self.unknown_keys.is_empty() {
            blocks.push(Block::values(
                "keys whose search ran out of budget",
                &self.unknown_keys,
                self.unknown_keys.len(),
            ));
        }
        for f in &self.failures {
            blocks.push(Block::Linearizability {
                model: self.model.name().to_string(),
                failure: Box::new(f.clone()),
            });
        }
        Section::new(blocks)
    }

    fn elapsed_ms(&self) -> Option<f64> {
        Some(self.elapsed_ms)
    }
}
