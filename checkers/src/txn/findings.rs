//! A transactional result as people see it ([`CheckerResult`]).

use super::{Anomaly, ConsistencyModel, TxnResult};
use crate::result::{
    AnomalyRecord, Blame, Block, CheckerResult, CycleAnomaly, CycleEdge, CycleTxn, Section, Tone,
};
use crate::verdict::Validity;

/// Anomalies drawn in the report; the rest are in results.json.
const DRAWN: usize = 40;

fn workload(r: &TxnResult) -> &'static str {
    match r.workload {
        super::Workload::ListAppend => "list-append",
        super::Workload::RwRegister => "rw-register",
    }
}

fn names(models: &[ConsistencyModel]) -> Vec<String> {
    models.iter().map(|m| m.name().to_string()).collect()
}

impl CheckerResult for TxnResult {
    fn valid(&self) -> Validity {
        self.valid
    }

    fn every_anomaly(&self) -> Vec<AnomalyRecord> {
        self.every_anomaly.clone()
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

    /// The anomalies with counts (and Elle's name where it differs), the
    /// models they rule out, and the models checked with the outcome. A
    /// valid result with anomalies says they are allowed.
    fn summary(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let checked = names(&self.consistency).join(", ");
        let txns = format!("{} {} transactions", self.txn_count, workload(self));
        if self.anomaly_types.is_empty() {
            lines.push(match self.valid {
                Validity::Valid => format!("checked {checked}: holds, no anomaly in {txns}"),
                _ => format!(
                    "checked {checked}: {}, no anomaly in {txns}",
                    self.valid.name()
                ),
            });
            return lines;
        }
        if self.valid == Validity::Valid {
            lines.push(format!(
                "anomalies {checked} allows: {}",
                self.anomaly_counts_line()
            ));
        } else {
            lines.push(format!("anomalies: {}", self.anomaly_counts_line()));
        }
        if self.valid == Validity::Valid {
            if !self.ruled_out.is_empty() {
                lines.push(format!(
                    "not checked, ruled out by them: {}",
                    self.ruled_out_line()
                ));
            }
        } else if !self.ruled_out.is_empty() {
            lines.push(format!("rules out {}", self.ruled_out_line()));
        }
        let outcome = match self.valid {
            Validity::Valid => "holds".to_string(),
            Validity::Invalid => {
                let violated: Vec<&str> = self
                    .consistency
                    .iter()
                    .filter(|m| self.ruled_out.contains(m))
                    .map(|m| m.name())
                    .collect();
                format!("{} ruled out", violated.join(", "))
            }
            Validity::Unknown => "unknown".to_string(),
        };
        lines.push(format!("checked {checked}: {outcome} ({txns})"));
        lines
    }

    /// For a result that is not valid, one example per anomaly kind (the
    /// first kept): its first line
    /// (the key and what was read) and the txns it names (their ops).
    fn examples(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.valid == Validity::Valid {
            // Anomalies the models checked allow: the summary names them.
            return out;
        }
        let mut seen: Vec<&str> = Vec::new();
        for a in &self.anomalies {
            if seen.contains(&a.kind.as_str()) {
                continue;
            }
            seen.push(&a.kind);
            let mut lines = a.explanation.lines();
            let first = lines.next().unwrap_or_default();
            out.push(format!("{}: {first}", a.kind));
            for l in lines.filter(|l| l.trim_start().starts_with('T')).take(3) {
                out.push(format!("  {}", l.trim_start()));
            }
            if seen.len() == 6 {
                break;
            }
        }
        out
    }

    fn section(&self) -> Section {
        let mut blocks = Vec::new();
        // The models checked, first: what the verdict is about.
        let checked = names(&self.consistency).join(", ");
        blocks.push(Block::text(match self.valid {
            Validity::Valid => format!("Checked for {checked}: holds."),
            Validity::Invalid => format!("Checked for {checked}: ruled out."),
            Validity::Unknown => format!("Checked for {checked}: unknown."),
        }));
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
        // Where the rest are: the examples kept beyond those drawn are in
        // results.json; every anomaly, a line each, in anomalies.jsonl.
        if self.anomalies.len() > DRAWN {
            blocks.push(Block::text(format!(
                "{} more examples (the earliest of each kind and a spread over the run) are in results.json, under checkers[].result.anomalies.",
                self.anomalies.len() - DRAWN
            )));
        }
        let total: usize = self.anomaly_counts.values().sum();
        if total > self.anomalies.len() {
            blocks.push(Block::text(format!(
                "{} more anomalies were found than kept as examples: anomalies.jsonl beside results.json lists every one ({total} lines for this checker: kind, the ops it names, its key).",
                total - self.anomalies.len()
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
