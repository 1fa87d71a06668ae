//! A recorded fault schedule, read back from a run's history to be applied
//! again (`shakedown run --replay RUN_DIR`).
//!
//! Every step the nemesis takes is recorded as an `info` op of process
//! `nemesis` with two extra fields (see [`crate::runner`]):
//!
//! ```json
//! {"index":40,"time":3512000000,"type":"info","process":"nemesis","f":"kill",
//!  "value":{"n2":"killed"},"fault":{"op":"kill","targets":{"nodes":["n2"]}},"started":3409000000}
//! ```
//!
//! `fault` is the [`FaultOp`] as applied, its targets concrete (the
//! primaries of the moment named, the grudge of a random partition
//! spelled out, each clock's delta), and `started` is when the step began,
//! in ns since the run started (the start of its client phase). A replay
//! applies each `fault` at its `started` offset. Heal ops (after the main
//! phase, or of faults an earlier controller left) carry no `fault` and
//! are not part of the schedule. Histories written before these fields
//! existed cannot be replayed: their fault starts lack them, which
//! [`recorded_steps`] reports.
//!
//! On another cluster the nodes map by position: the run's i-th node is
//! the new cluster's i-th node ([`NodeMap`]).

use crate::grudge::Grudge;
use crate::inject::{FaultOp, PartitionTarget, Targets};
use history::{History, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// The extra field holding a step's op as applied.
pub const FAULT_FIELD: &str = "fault";
/// The extra field holding when a step began (ns since the run started).
pub const STARTED_FIELD: &str = "started";

/// One recorded step: apply `op` at `at` after the start of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub at: Duration,
    pub op: FaultOp,
    /// The index of the op that recorded it, for messages.
    pub index: u64,
}

/// The steps the nemesis took in `history`, in order. An error names the
/// op (by index) and what is missing or malformed.
pub fn recorded_steps(history: &History) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    for op in history.ops() {
        if !op.process.is_nemesis() {
            continue;
        }
        let field = |name: &str| op.extra.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let Some(fault) = field(FAULT_FIELD) else {
            // Heal ops and watched primaries are not steps; a fault start
            // without its fault is a history from before replays.
            if crate::FAULT_STARTS.contains(&op.f.as_str()) {
                return Err(format!(
                    "op {} ({}) does not record its fault and start time: the run was made by a shakedown without --replay support",
                    op.index, op.f
                ));
            }
            continue;
        };
        let json = serde_json::to_value(fault).map_err(|e| format!("op {}: {e}", op.index))?;
        let fault_op: FaultOp = serde_json::from_value(json).map_err(|e| {
            format!(
                "op {} ({}): its `fault` is not a fault op: {e}",
                op.index, op.f
            )
        })?;
        if fault_op.f() != op.f {
            return Err(format!(
                "op {}: its f is {:?} but its `fault` is {:?}",
                op.index,
                op.f,
                fault_op.f()
            ));
        }
        let started = match field(STARTED_FIELD) {
            Some(Value::Int(ns)) if *ns >= 0 => *ns as u64,
            Some(other) => {
                return Err(format!(
                    "op {} ({}): `started` must be a number of ns, found {other}",
                    op.index, op.f
                ))
            }
            None => {
                return Err(format!(
                    "op {} ({}): it records its fault but not when it started (`started`)",
                    op.index, op.f
                ))
            }
        };
        steps.push(Step {
            at: Duration::from_nanos(started),
            op: fault_op,
            index: op.index,
        });
    }
    Ok(steps)
}

/// The run's nodes onto another cluster's, by position.
#[derive(Clone, Debug)]
pub struct NodeMap {
    from: Vec<String>,
    to: Vec<String>,
}

impl NodeMap {
    /// `from[i]` becomes `to[i]`.
    pub fn new(from: &[String], to: &[String]) -> NodeMap {
        NodeMap {
            from: from.to_vec(),
            to: to.to_vec(),
        }
    }

    /// Whether every node keeps its name.
    pub fn is_identity(&self) -> bool {
        self.from.iter().zip(&self.to).all(|(a, b)| a == b)
    }

    /// The new name of the run's node `name`.
    pub fn node(&self, name: &str) -> Result<String, String> {
        let Some(i) = self.from.iter().position(|n| n == name) else {
            return Err(format!(
                "names node {name:?}, which the run did not have (its nodes: {})",
                self.from.join(", ")
            ));
        };
        self.to.get(i).cloned().ok_or_else(|| {
            format!(
                "names node {name:?}, node {} of the run, but this cluster has {} node(s) ({})",
                i + 1,
                self.to.len(),
                self.to.join(", ")
            )
        })
    }

    fn nodes(&self, names: &[String]) -> Result<Vec<String>, String> {
        names.iter().map(|n| self.node(n)).collect()
    }

    pub fn grudge(&self, g: &Grudge) -> Result<Grudge, String> {
        let mut out = BTreeMap::new();
        for (n, drops) in &g.0 {
            let drops = drops
                .iter()
                .map(|d| self.node(d))
                .collect::<Result<_, _>>()?;
            out.insert(self.node(n)?, drops);
        }
        Ok(Grudge(out))
    }

    /// `op` with every node it names mapped.
    pub fn op(&self, op: &FaultOp) -> Result<FaultOp, String> {
        let targets = |t: &Targets| -> Result<Targets, String> {
            Ok(match t {
                Targets::Nodes(v) => Targets::Nodes(self.nodes(v)?),
                Targets::Primaries => Targets::Primaries,
            })
        };
        Ok(match op {
            FaultOp::StartPartition { target } => FaultOp::StartPartition {
                target: match target {
                    PartitionTarget::Grudge(g) => PartitionTarget::Grudge(self.grudge(g)?),
                    PartitionTarget::Primaries => PartitionTarget::Primaries,
                },
            },
            FaultOp::Kill { targets: t } => FaultOp::Kill {
                targets: targets(t)?,
            },
            FaultOp::Pause { targets: t } => FaultOp::Pause {
                targets: targets(t)?,
            },
            FaultOp::PowerLoss { targets: t } => FaultOp::PowerLoss {
                targets: targets(t)?,
            },
            FaultOp::Corrupt { nodes, spec } => FaultOp::Corrupt {
                nodes: self.nodes(nodes)?,
                spec: spec.clone(),
            },
            FaultOp::BumpClock { deltas } => FaultOp::BumpClock {
                deltas: deltas
                    .iter()
                    .map(|(n, d)| Ok((self.node(n)?, *d)))
                    .collect::<Result<_, String>>()?,
            },
            FaultOp::StrobeClock {
                nodes,
                delta_ms,
                period_ms,
                duration_ms,
            } => FaultOp::StrobeClock {
                nodes: self.nodes(nodes)?,
                delta_ms: *delta_ms,
                period_ms: *period_ms,
                duration_ms: *duration_ms,
            },
            FaultOp::StartPacket { nodes, spec } => FaultOp::StartPacket {
                nodes: self.nodes(nodes)?,
                spec: spec.clone(),
            },
            FaultOp::StopPartition
            | FaultOp::Start
            | FaultOp::Resume
            | FaultOp::PowerOn
            | FaultOp::ResetClock
            | FaultOp::CheckOffsets
            | FaultOp::StopPacket => op.clone(),
        })
    }

    /// Every step mapped; an error names the step's op.
    pub fn steps(&self, steps: &[Step]) -> Result<Vec<Step>, String> {
        steps
            .iter()
            .map(|s| {
                Ok(Step {
                    at: s.at,
                    op: self
                        .op(&s.op)
                        .map_err(|e| format!("op {} ({}) {e}", s.index, s.op.f()))?,
                    index: s.index,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::PacketSpec;
    use history::{Op, OpType, Process};

    fn names(prefix: &str, n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("{prefix}{i}")).collect()
    }

    /// A nemesis op as the runner records it.
    fn step_op(f: &str, value: serde_json::Value, fault: &FaultOp, started_ns: i64) -> Op {
        let mut op = Op::new(
            OpType::Info,
            Process::nemesis(),
            f,
            crate::json_value(&value),
        );
        op.extra.push((
            FAULT_FIELD.into(),
            crate::json_value(&serde_json::to_value(fault).unwrap()),
        ));
        op.extra
            .push((STARTED_FIELD.into(), Value::Int(started_ns)));
        op
    }

    fn history(ops: Vec<Op>) -> History {
        let ops = ops.into_iter().enumerate().map(|(i, mut op)| {
            op.index = i as u64;
            op.time = Some(i as u64 * 1_000_000_000);
            op
        });
        History::new(ops).unwrap()
    }

    fn kill(nodes: &[&str]) -> FaultOp {
        FaultOp::Kill {
            targets: Targets::Nodes(nodes.iter().map(|s| s.to_string()).collect()),
        }
    }

    /// Steps come back in order with their ops and offsets, through the
    /// JSONL text; heal ops and client ops are not steps.
    #[test]
    fn recorded_steps_read_back_through_jsonl() {
        let grudge = Grudge::isolate(&names("n", 3), "n2");
        let partition = FaultOp::StartPartition {
            target: PartitionTarget::Grudge(grudge.clone()),
        };
        let bump = FaultOp::BumpClock {
            deltas: [("n3".to_string(), -2500)].into_iter().collect(),
        };
        let h = history(vec![
            Op::invoke(0, "read", Value::Nil),
            step_op(
                "kill",
                serde_json::json!({"n1": "killed"}),
                &kill(&["n1"]),
                1_200_000_000,
            ),
            step_op(
                "start-partition",
                serde_json::to_value(&grudge).unwrap(),
                &partition,
                2_500_000_000,
            ),
            step_op("bump-clock", serde_json::json!({}), &bump, 3_000_000_000),
            Op::new(
                OpType::Info,
                Process::nemesis(),
                "stop-partition",
                Value::Str("network healed".into()),
            ),
        ]);
        let mut text = Vec::new();
        {
            let mut w = history::jsonl::JsonlWriter::new(&mut text);
            for op in h.ops() {
                w.write(op).unwrap();
            }
            w.flush().unwrap();
        }
        let ops = history::jsonl::JsonlReader::new(&text[..]).map(|op| op.unwrap());
        let back = History::new(ops).unwrap();
        let steps = recorded_steps(&back).unwrap();
        assert_eq!(
            steps,
            vec![
                Step {
                    at: Duration::from_millis(1200),
                    op: kill(&["n1"]),
                    index: 1
                },
                Step {
                    at: Duration::from_millis(2500),
                    op: partition,
                    index: 2
                },
                Step {
                    at: Duration::from_millis(3000),
                    op: bump,
                    index: 3
                },
            ]
        );
    }

    #[test]
    fn a_fault_start_without_its_fault_is_an_older_history() {
        let h = history(vec![Op::new(
            OpType::Info,
            Process::nemesis(),
            "kill",
            crate::json_value(&serde_json::json!({"n1": "killed"})),
        )]);
        let e = recorded_steps(&h).unwrap_err();
        assert!(
            e.starts_with("op 0 (kill) does not record its fault"),
            "{e}"
        );
        let mut op = step_op("kill", serde_json::json!({}), &kill(&["n1"]), 5);
        op.extra.retain(|(k, _)| k != STARTED_FIELD);
        let e = recorded_steps(&history(vec![op])).unwrap_err();
        assert!(e.contains("not when it started"), "{e}");
        let op = step_op("pause", serde_json::json!({}), &kill(&["n1"]), 5);
        let e = recorded_steps(&history(vec![op])).unwrap_err();
        assert!(
            e.contains("its f is \"pause\" but its `fault` is \"kill\""),
            "{e}"
        );
    }

    /// By position: n2 of the run is b2 of the new cluster, in every kind
    /// of target; a node the new cluster lacks is an error naming it.
    #[test]
    fn nodes_map_by_position() {
        let map = NodeMap::new(&names("n", 3), &names("b", 3));
        assert!(!map.is_identity());
        let g = Grudge::isolate(&names("n", 3), "n2");
        let op = FaultOp::StartPartition {
            target: PartitionTarget::Grudge(g),
        };
        assert_eq!(
            map.op(&op).unwrap(),
            FaultOp::StartPartition {
                target: PartitionTarget::Grudge(Grudge::isolate(&names("b", 3), "b2"))
            }
        );
        assert_eq!(map.op(&kill(&["n1", "n3"])).unwrap(), kill(&["b1", "b3"]));
        let strobe = FaultOp::StrobeClock {
            nodes: vec!["n3".into()],
            delta_ms: 40,
            period_ms: 10,
            duration_ms: 100,
        };
        assert!(
            matches!(map.op(&strobe).unwrap(), FaultOp::StrobeClock { nodes, .. } if nodes == ["b3"])
        );
        let packet = FaultOp::StartPacket {
            nodes: vec!["n1".into()],
            spec: PacketSpec::default(),
        };
        assert!(
            matches!(map.op(&packet).unwrap(), FaultOp::StartPacket { nodes, .. } if nodes == ["b1"])
        );
        let steps = vec![Step {
            at: Duration::ZERO,
            op: kill(&["n3"]),
            index: 7,
        }];
        let small = NodeMap::new(&names("n", 3), &names("b", 2));
        let e = small.steps(&steps).unwrap_err();
        assert_eq!(
            e,
            "op 7 (kill) names node \"n3\", node 3 of the run, but this cluster has 2 node(s) (b1, b2)"
        );
        assert!(NodeMap::new(&names("n", 3), &names("n", 3)).is_identity());
    }
}
