//! A transactional result as people see it ([`CheckerResult`]).

use super::{Anomaly, ConsistencyModel, TxnResult};
use crate::result::{
    Blame, Block, CheckerResult, CycleAnomaly, CycleEdge, CycleTxn, Section, Tone,
};
use crate::verdict::Validity;

/// Anomalies drawn in the report; the rest are in results.json.
const DRAWN: usize = 40;

fn names(models: &[ConsistencyModel]) -> Vec<String> {
    models.iter().map(|m| m.name().to_string()).collect()
}

impl CheckerResult for TxnResult {
    fn valid(&self) -> Validity {
        self.valid
    }

    fn reason(&self) -> Option<String> {
        self.reason.clone()
    }

    fn blamed(&self) -> Vec<Blame> {
        self.anomalies
            .iter()
            .flat_map(|a| {
                a.txns.iter().map(|t| Blame {
                    index: t.index,
                    why: format!("{} ({})", a.kind, t.name),
                })
            })
            .collect()
    }

    fn summary(&self) -> Vec<String> {
        if self.anomaly_types.is_empty() {
            return vec![format!("no anomaly in {} transactions", self.txn_count)];
        }
        let mut lines = vec![format!("anomalies: {}", self.anomaly_types.join(", "))];
        if !self.ruled_out.is_empty() {
            lines.push(format!("rules out {}", names(&self.ruled_out).join(", ")));
        }
        lines
    }

    fn section(&self) -> Section {
        let mut blocks = Vec::new();
        if let Some(reason) = &self.reason {
            blocks.push(Block::text(reason.clone()));
        }
        blocks.push(Block::facts([
            ("transactions", self.txn_count),
            ("ok", self.ok_count),
            ("info", self.info_count),
            ("fail", self.fail_count),
            ("graph edges", self.graph.edges),
        ]));
        if self.anomaly_types.is_empty() {
            blocks.push(Block::text("No anomaly found."));
        } else {
            let items = self
                .anomaly_types
                .iter()
                .map(|t| match self.anomaly_counts.get(t) {
                    Some(n) => format!("{t} ×{n}"),
                    None => t.clone(),
                })
                .collect();
            blocks.push(Block::Chips {
                name: "anomalies".into(),
                label: "anomalies:".into(),
                items,
                tone: Tone::Finding,
            });
        }
        let chips = |name: &str, label: &str, models: &[ConsistencyModel], tone| Block::Chips {
            name: name.into(),
            label: label.into(),
            items: names(models),
            tone,
        };
        if !self.ruled_out.is_empty() {
            blocks.push(chips(
                "ruled-out",
                "ruled out:",
                &self.ruled_out,
                Tone::RuledOut,
            ));
        }
        if !self.not_ruled_out.is_empty() {
            blocks.push(chips(
                "still-possible",
                "still possible:",
                &self.not_ruled_out,
                Tone::Holds,
            ));
        }
        for w in &self.warnings {
            blocks.push(Block::text(format!("⚠ {w}")));
        }
        blocks.extend(
            self.anomalies
                .iter()
                .take(DRAWN)
                .map(|a| Block::Cycle(drawn(a))),
        );
        if self.anomalies.len() > DRAWN {
            blocks.push(Block::text(format!(
                "{} more anomalies are in results.json.",
                self.anomalies.len() - DRAWN
            )));
        }
        Section::new(blocks)
    }

    fn elapsed_ms(&self) -> Option<f64> {
        Some(self.elapsed_ms as f64)
    }
}

fn drawn(a: &Anomaly) -> CycleAnomaly {
    CycleAnomaly {
        kind: a.kind.clone(),
        explanation: a.explanation.clone(),
        ruled_out: names(&a.ruled_out),
        txns: a
            .txns
            .iter()
            .map(|t| CycleTxn {
                name: t.name.clone(),
                index: t.index,
                process: t.process.clone(),
                status: t.status.to_string(),
                ops: t.ops.clone(),
            })
            .collect(),
        cycle: a
            .cycle
            .iter()
            .map(|e| CycleEdge {
                from: e.from.clone(),
                to: e.to.clone(),
                kind: e.kind.to_string(),
                key: e.key.clone(),
                value: e.value.clone(),
                why: e.why.clone(),
            })
            .collect(),
    }
}
