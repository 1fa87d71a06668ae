//! Applying faults and healing them: [`Injector`].
//!
//! An [`Injector`] owns the cluster connection, the target's [`Hooks`] and
//! the [`ActiveFaults`], which it writes to its [`StateFile`] after every
//! change (before returning from [`Injector::apply`]). It is also the heal
//! guard: dropping it with faults still active heals them synchronously
//! (on a fresh runtime in a helper thread, over fresh SSH connections), so
//! an early return, an error or a panic unwinding through its owner still
//! leaves the cluster clean. The normal path is an explicit
//! `injector.heal_all().await`, which returns the ops to record.

use crate::clock::{self, ClockMode};
use crate::disk::{self, Mount};
use crate::net::{self, PacketSpec, NETEM_UNSUPPORTED};
use crate::process::{self, Outcome, ProcessHooks};
use crate::state::{ActiveFaults, ClockSkew, StateFile};
use crate::{json_value, Error, Grudge, Result};
use harness::control::{Cluster, Nodes};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Which nodes a process or clock fault hits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Targets {
    Nodes(Vec<String>),
    /// Whatever the target's primaries hook answers at the time.
    Primaries,
}

/// What a partition cuts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionTarget {
    Grudge(Grudge),
    /// The primaries (from the target's hook) isolated from the rest.
    Primaries,
}

/// One thing the nemesis does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "op")]
pub enum FaultOp {
    StartPartition {
        target: PartitionTarget,
    },
    StopPartition,
    Kill {
        targets: Targets,
    },
    /// Restart every killed process.
    Start,
    Pause {
        targets: Targets,
    },
    /// Resume every paused process.
    Resume,
    /// Cut the power: SIGKILL the database's process group, then drop
    /// every write to its data directories not yet fsync'ed.
    PowerLoss {
        targets: Targets,
    },
    /// Power back on: restart every database whose power was cut.
    PowerOn,
    /// With the database killed, corrupt files in its data directories,
    /// then restart it (one step: nothing stays active).
    Corrupt {
        nodes: Vec<String>,
        spec: CorruptSpec,
    },
    /// Move the named nodes' clocks by `delta_ms` each.
    BumpClock {
        deltas: BTreeMap<String, i64>,
    },
    /// Flip the nodes' clocks between their offset and offset+`delta_ms`
    /// every `period_ms` for `duration_ms`, ending where they started.
    StrobeClock {
        nodes: Vec<String>,
        delta_ms: i64,
        period_ms: u64,
        duration_ms: u64,
    },
    /// Every skewed clock back to true time.
    ResetClock,
    /// Measure and record every node's clock offset.
    CheckOffsets,
    StartPacket {
        nodes: Vec<String>,
        spec: PacketSpec,
    },
    StopPacket,
}

impl FaultOp {
    /// The history's `f` for this op.
    pub fn f(&self) -> &'static str {
        match self {
            FaultOp::StartPartition { .. } => "start-partition",
            FaultOp::StopPartition => "stop-partition",
            FaultOp::Kill { .. } => "kill",
            FaultOp::Start => "start",
            FaultOp::Pause { .. } => "pause",
            FaultOp::Resume => "resume",
            FaultOp::PowerLoss { .. } => "power-loss",
            FaultOp::PowerOn => "power-on",
            FaultOp::Corrupt { .. } => "corrupt",
            FaultOp::BumpClock { .. } => "bump-clock",
            FaultOp::StrobeClock { .. } => "strobe-clock",
            FaultOp::ResetClock => "reset-clock",
            FaultOp::CheckOffsets => "check-offsets",
            FaultOp::StartPacket { .. } => "start-packet",
            FaultOp::StopPacket => "stop-packet",
        }
    }
}

/// How files are corrupted (Jepsen's file-corruption nemesis).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum CorruptMode {
    /// Flip random bits in chunks of the files.
    Bitflip,
    /// Cut off a file's tail.
    Truncate,
    /// Put chunks back as an earlier snapshot had them (lost or
    /// misdirected writes); the first rollback on a node takes the
    /// snapshot, the next restores it.
    Rollback,
}

impl CorruptMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CorruptMode::Bitflip => "bitflip",
            CorruptMode::Truncate => "truncate",
            CorruptMode::Rollback => "rollback",
        }
    }
}

/// One corruption, concrete (its seed drawn), so a replay does the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CorruptSpec {
    pub mode: CorruptMode,
    /// Globs relative to each data directory (`*`, `?`, `**`).
    pub files: Vec<String>,
    pub probability: f64,
    pub seed: u64,
}

/// What an op actually did: record `f` and `value` as an `info` op of
/// process `nemesis` (see [`Effect::op`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Effect {
    pub f: String,
    /// The exact effect, e.g. the grudge applied, the pids killed, the
    /// offsets set or measured.
    pub value: serde_json::Value,
    /// Things that did not work but do not fail the run (e.g. netem
    /// unsupported); also inside `value` under `"unsupported"`.
    pub warnings: Vec<String>,
}

impl Effect {
    fn new(f: &str, value: serde_json::Value) -> Effect {
        Effect {
            f: f.to_string(),
            value,
            warnings: Vec::new(),
        }
    }

    /// The history op (index and time are the recorder's business).
    pub fn op(&self) -> history::Op {
        history::Op::new(
            history::OpType::Info,
            history::Process::nemesis(),
            self.f.clone(),
            json_value(&self.value),
        )
    }
}

/// Asks the target which nodes are primaries now.
pub type PrimariesHook =
    Arc<dyn Fn(Cluster) -> Pin<Box<dyn Future<Output = Result<Vec<String>>> + Send>> + Send + Sync>;

/// What the target provides.
#[derive(Clone, Default)]
pub struct Hooks {
    /// Per node: how to find and start the process under test. Kill and
    /// pause are errors on nodes without hooks.
    pub process: BTreeMap<String, ProcessHooks>,
    /// Which nodes are primaries (leaders) now, for "isolate the primary"
    /// and process faults on the primaries.
    pub primaries: Option<PrimariesHook>,
    /// Override the clock mode (default: the clock shim on local-cluster nodes,
    /// the system clock elsewhere).
    pub clock_mode: Option<ClockMode>,
    /// The data directories and write-back mounts, for disk faults.
    pub disk: Option<DiskHooks>,
}

/// Where disk faults act, per node.
#[derive(Clone, Debug, Default)]
pub struct DiskHooks {
    /// The shakedown binary on the nodes (`shakedown diskfs ...`).
    pub bin: String,
    /// The target's data directories.
    pub dirs: BTreeMap<String, Vec<String>>,
    /// The write-back mounts on them (power loss needs these).
    pub mounts: BTreeMap<String, Vec<Mount>>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("process", &self.process)
            .field("primaries", &self.primaries.is_some())
            .field("clock_mode", &self.clock_mode)
            .field("disk", &self.disk)
            .finish()
    }
}

/// Applies faults, keeps the active ones on disk, heals them.
pub struct Injector {
    cluster: Cluster,
    nodes: Nodes,
    hooks: Hooks,
    state: ActiveFaults,
    file: Option<StateFile>,
    netem: Option<bool>,
}

impl Injector {
    /// An injector for `nodes`; `file` is where active faults are kept
    /// (`None`: memory only, no crash recovery). If the file lists faults
    /// left by an earlier controller they are kept and healed with ours.
    pub fn new(
        nodes: &Nodes,
        cluster: Cluster,
        hooks: Hooks,
        file: Option<StateFile>,
    ) -> Result<Injector> {
        let mut state = match &file {
            Some(f) => f.load()?.unwrap_or_default(),
            None => ActiveFaults::default(),
        };
        state.nodes = Some(nodes.clone());
        Ok(Injector {
            cluster,
            nodes: nodes.clone(),
            hooks,
            state,
            file,
            netem: None,
        })
    }

    pub fn state(&self) -> &ActiveFaults {
        &self.state
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    pub fn names(&self) -> Vec<String> {
        self.cluster.names()
    }

    fn save(&self) -> Result<()> {
        match &self.file {
            Some(f) => f.save(&self.state),
            None => Ok(()),
        }
    }

    fn clock_mode(&self, node: &str) -> ClockMode {
        self.hooks.clock_mode.unwrap_or_else(|| {
            self.nodes
                .nodes
                .iter()
                .find(|n| n.name == node)
                .map(ClockMode::for_node)
                .unwrap_or(ClockMode::System)
        })
    }

    async fn primaries(&self) -> Result<Vec<String>> {
        match &self.hooks.primaries {
            Some(h) => h(self.cluster.clone()).await,
            None => Err(Error(
                "this target has no primaries hook (cannot find the primary)".into(),
            )),
        }
    }

    async fn resolve(&self, t: &Targets) -> Result<Vec<String>> {
        match t {
            Targets::Nodes(v) => Ok(v.clone()),
            Targets::Primaries => self.primaries().await,
        }
    }

    /// `op` with its targets made concrete: the nodes that are primaries
    /// now instead of "the primaries", so what is recorded can be applied
    /// again exactly (`--replay`). Other ops are returned as they are.
    pub async fn concrete(&self, op: &FaultOp) -> Result<FaultOp> {
        Ok(match op {
            FaultOp::StartPartition {
                target: PartitionTarget::Primaries,
            } => {
                let p = self.primaries().await?;
                FaultOp::StartPartition {
                    target: PartitionTarget::Grudge(Grudge::isolate_set(&self.names(), &p)),
                }
            }
            FaultOp::Kill {
                targets: Targets::Primaries,
            } => FaultOp::Kill {
                targets: Targets::Nodes(self.primaries().await?),
            },
            FaultOp::Pause {
                targets: Targets::Primaries,
            } => FaultOp::Pause {
                targets: Targets::Nodes(self.primaries().await?),
            },
            FaultOp::PowerLoss {
                targets: Targets::Primaries,
            } => FaultOp::PowerLoss {
                targets: Targets::Nodes(self.primaries().await?),
            },
            other => other.clone(),
        })
    }

    /// The processes a restarting op undoes: killed ones for `start`,
    /// powered-off ones for `power-on`, paused ones for `resume`.
    fn undone_by(&mut self, op: &FaultOp) -> &mut BTreeMap<String, ProcessHooks> {
        match op {
            FaultOp::Start => &mut self.state.killed,
            FaultOp::PowerOn => &mut self.state.powered_off,
            _ => &mut self.state.paused,
        }
    }

    fn disk(&self) -> Result<DiskHooks> {
        self.hooks.disk.clone().ok_or_else(|| {
            Error("disk faults need the target's data directories and shakedown's file system on the nodes, and this run set up neither".into())
        })
    }

    fn hooks_for(&self, node: &str) -> Result<ProcessHooks> {
        self.hooks
            .process
            .get(node)
            .cloned()
            .ok_or_else(|| Error(format!("{node}: the target gave no process hooks")))
    }

    /// Apply one op; the state file is updated before this returns (for
    /// starts: before the fault is applied, so a crash in between still
    /// leaves a record to heal from).
    pub async fn apply(&mut self, op: &FaultOp) -> Result<Effect> {
        let f = op.f();
        match op {
            FaultOp::StartPartition { target } => {
                let names = self.names();
                let grudge = match target {
                    PartitionTarget::Grudge(g) => g.clone().validate(&names)?,
                    PartitionTarget::Primaries => {
                        let p = self.primaries().await?;
                        Grudge::isolate_set(&names, &p)
                    }
                };
                let drops = net::drop_lists(&grudge, &self.nodes.nodes)?;
                self.state.partition = Some(grudge.clone());
                self.save()?;
                net::apply_partition(&self.cluster, &drops).await?;
                Ok(Effect::new(f, serde_json::to_value(&grudge).unwrap()))
            }
            FaultOp::StopPartition => {
                net::heal_partition(&self.cluster).await?;
                self.state.partition = None;
                self.save()?;
                Ok(Effect::new(f, json!("network healed")))
            }
            FaultOp::Kill { targets } | FaultOp::Pause { targets } => {
                let kill = matches!(op, FaultOp::Kill { .. });
                let nodes = self.resolve(targets).await?;
                let mut hooks = BTreeMap::new();
                for n in &nodes {
                    hooks.insert(n.clone(), self.hooks_for(n)?);
                }
                let mut new = Vec::new();
                for (n, h) in &hooks {
                    let set = if kill {
                        &mut self.state.killed
                    } else {
                        &mut self.state.paused
                    };
                    if set.insert(n.clone(), h.clone()).is_none() {
                        new.push(n.clone());
                    }
                }
                self.save()?;
                let hk = hooks.clone();
                let res = self
                    .cluster
                    .each(&nodes, move |r| {
                        let h = hk[r.name()].clone();
                        async move {
                            let out = if kill {
                                process::kill(&r, &h).await
                            } else {
                                process::pause(&r, &h).await
                            };
                            out.map_err(|e| node_err(r.name(), e))
                        }
                    })
                    .await;
                // Nothing was running there: nothing to undo later.
                for (n, r) in &res {
                    if matches!(r, Ok(Outcome::NotRunning)) && new.contains(n) {
                        if kill {
                            self.state.killed.remove(n);
                        } else {
                            self.state.paused.remove(n);
                        }
                    }
                }
                self.save()?;
                outcomes(f, res)
            }
            FaultOp::Start | FaultOp::Resume | FaultOp::PowerOn => {
                let resume = matches!(op, FaultOp::Resume);
                let set = self.undone_by(op).clone();
                let nodes: Vec<String> = set.keys().cloned().collect();
                let res = self
                    .cluster
                    .each(&nodes, move |r| {
                        let h = set[r.name()].clone();
                        async move {
                            let out = if resume {
                                process::resume(&r, &h).await
                            } else {
                                process::start(&r, &h).await
                            };
                            out.map_err(|e| node_err(r.name(), e))
                        }
                    })
                    .await;
                for (n, r) in &res {
                    if r.is_ok() {
                        self.undone_by(op).remove(n);
                    }
                }
                self.save()?;
                outcomes(f, res)
            }
            FaultOp::PowerLoss { targets } => {
                let nodes = self.resolve(targets).await?;
                let disk = self.disk()?;
                let mut hooks = BTreeMap::new();
                for n in &nodes {
                    let mounts = disk.mounts.get(n).cloned().unwrap_or_default();
                    if mounts.is_empty() {
                        return Err(Error(format!(
                            "{n}: power-loss needs the write-back file system on its data directories, and none is mounted"
                        )));
                    }
                    hooks.insert(n.clone(), (self.hooks_for(n)?, mounts));
                }
                for (n, (h, _)) in &hooks {
                    self.state.powered_off.insert(n.clone(), h.clone());
                }
                self.save()?;
                let res = self
                    .cluster
                    .each(&nodes, move |r| {
                        let (h, mounts) = hooks[r.name()].clone();
                        async move {
                            power_loss(&r, &h, &mounts)
                                .await
                                .map_err(|e| node_err(r.name(), e))
                        }
                    })
                    .await;
                values(f, res)
            }
            FaultOp::Corrupt { nodes, spec } => {
                let disk = self.disk()?;
                let mut work = BTreeMap::new();
                for n in nodes {
                    let dirs = disk.dirs.get(n).cloned().unwrap_or_default();
                    if dirs.is_empty() {
                        return Err(Error(format!(
                            "{n}: the target declares no data directories to corrupt"
                        )));
                    }
                    work.insert(n.clone(), (self.hooks_for(n)?, dirs));
                }
                // Killed before the files are touched: recorded first, so a
                // crash in between still restarts it on heal.
                for (n, (h, _)) in &work {
                    self.state
                        .killed
                        .entry(n.clone())
                        .or_insert_with(|| h.clone());
                }
                self.save()?;
                let bin = disk.bin.clone();
                let spec = spec.clone();
                let res = self
                    .cluster
                    .each(nodes, move |r| {
                        let (h, dirs) = work[r.name()].clone();
                        let (bin, spec) = (bin.clone(), spec.clone());
                        async move {
                            corrupt(&r, &h, &bin, &dirs, &spec)
                                .await
                                .map_err(|e| node_err(r.name(), e))
                        }
                    })
                    .await;
                // Restarted (or never stopped): nothing left to undo.
                for (n, r) in &res {
                    if r.is_ok() {
                        self.state.killed.remove(n);
                    }
                }
                self.save()?;
                values(f, res)
            }
            FaultOp::BumpClock { deltas } => {
                let mut set = BTreeMap::new();
                for (n, d) in deltas {
                    let prev = self.state.clock.get(n).map(|c| c.offset_ms).unwrap_or(0);
                    set.insert(n.clone(), (prev, prev + d));
                }
                self.set_offsets(&set).await?;
                let v: BTreeMap<&String, i64> = set.iter().map(|(n, (_, o))| (n, *o)).collect();
                Ok(Effect::new(
                    f,
                    json!({ "offsets_ms": v, "deltas_ms": deltas }),
                ))
            }
            FaultOp::StrobeClock {
                nodes,
                delta_ms,
                period_ms,
                duration_ms,
            } => {
                let base: BTreeMap<String, i64> = nodes
                    .iter()
                    .map(|n| {
                        (
                            n.clone(),
                            self.state.clock.get(n).map(|c| c.offset_ms).unwrap_or(0),
                        )
                    })
                    .collect();
                let end = tokio::time::Instant::now() + Duration::from_millis(*duration_ms);
                let mut flips = 0u64;
                let mut up = false;
                while tokio::time::Instant::now() < end {
                    up = !up;
                    let set: BTreeMap<String, (i64, i64)> = base
                        .iter()
                        .map(|(n, b)| {
                            let (from, to) = if up {
                                (*b, b + delta_ms)
                            } else {
                                (b + delta_ms, *b)
                            };
                            (n.clone(), (from, to))
                        })
                        .collect();
                    self.set_offsets(&set).await?;
                    flips += 1;
                    tokio::time::sleep(Duration::from_millis((*period_ms).max(1))).await;
                }
                if up {
                    let set: BTreeMap<String, (i64, i64)> = base
                        .iter()
                        .map(|(n, b)| (n.clone(), (b + delta_ms, *b)))
                        .collect();
                    self.set_offsets(&set).await?;
                    flips += 1;
                }
                Ok(Effect::new(
                    f,
                    json!({ "nodes": nodes, "delta_ms": delta_ms, "period_ms": period_ms,
                            "duration_ms": duration_ms, "flips": flips, "offsets_ms": base }),
                ))
            }
            FaultOp::ResetClock => {
                let set: BTreeMap<String, (i64, i64)> = self
                    .state
                    .clock
                    .iter()
                    .map(|(n, c)| (n.clone(), (c.offset_ms, 0)))
                    .collect();
                self.set_offsets(&set).await?;
                let reset: Vec<&String> = set.keys().collect();
                Ok(Effect::new(f, json!({ "reset": reset })))
            }
            FaultOp::CheckOffsets => {
                let modes: BTreeMap<String, ClockMode> = self
                    .names()
                    .into_iter()
                    .map(|n| {
                        let m = self.clock_mode(&n);
                        (n, m)
                    })
                    .collect();
                let res = self
                    .cluster
                    .each(&self.names(), move |r| {
                        let m = modes[r.name()];
                        async move {
                            clock::measure_offset(&r, m)
                                .await
                                .map_err(|e| node_err(r.name(), e))
                        }
                    })
                    .await;
                let mut v = serde_json::Map::new();
                for (n, r) in res {
                    match r {
                        Ok(ms) => v.insert(n, json!(ms)),
                        Err(e) => v.insert(n, json!({ "error": e.to_string() })),
                    };
                }
                Ok(Effect::new(f, serde_json::Value::Object(v)))
            }
            FaultOp::StartPacket { nodes, spec } => {
                for n in nodes {
                    self.state.packet.insert(n.clone(), spec.clone());
                }
                self.save()?;
                let mut effect = Effect::new(f, json!({ "nodes": nodes, "spec": spec }));
                if let Some(p) = spec.loss {
                    net::apply_loss(&self.cluster, nodes, p).await?;
                }
                if let Some(args) = spec.netem_args() {
                    let supported = match self.netem {
                        Some(s) => s,
                        None => {
                            let first = nodes.first().and_then(|n| self.cluster.node(n));
                            let s = match first {
                                Some(r) => net::probe_netem(r).await?,
                                None => false,
                            };
                            self.netem = Some(s);
                            s
                        }
                    };
                    let mut ok = supported;
                    if supported {
                        for n in nodes {
                            let r = self
                                .cluster
                                .node(n)
                                .ok_or_else(|| Error(format!("no node {n:?}")))?;
                            ok &= net::apply_netem(r, &args).await?;
                        }
                    }
                    if !ok {
                        let msg = format!("netem {args}: {NETEM_UNSUPPORTED}");
                        tracing::warn!("{msg}");
                        effect.value["unsupported"] = json!(msg);
                        effect.warnings.push(msg);
                    }
                }
                Ok(effect)
            }
            FaultOp::StopPacket => {
                let nodes: Vec<String> = self.state.packet.keys().cloned().collect();
                net::heal_packet(&self.cluster, &nodes).await?;
                self.state.packet.clear();
                self.save()?;
                Ok(Effect::new(f, json!({ "nodes": nodes })))
            }
        }
    }

    /// Set clocks: node -> (offset now, offset wanted). The state is saved
    /// with the wanted offsets first.
    async fn set_offsets(&mut self, set: &BTreeMap<String, (i64, i64)>) -> Result<()> {
        let names = self.names();
        for n in set.keys() {
            if !names.contains(n) {
                return Err(Error(format!("no node {n:?} in this cluster")));
            }
        }
        let mut modes = BTreeMap::new();
        for (n, (_, to)) in set {
            let mode = self.clock_mode(n);
            modes.insert(n.clone(), mode);
            self.state.clock.insert(
                n.clone(),
                ClockSkew {
                    mode,
                    offset_ms: *to,
                },
            );
        }
        self.save()?;
        let set2 = set.clone();
        let nodes: Vec<String> = set.keys().cloned().collect();
        let res = self
            .cluster
            .each(&nodes, move |r| {
                let (from, to) = set2[r.name()];
                let m = modes[r.name()];
                async move {
                    clock::set_offset(&r, m, from, to)
                        .await
                        .map_err(|e| node_err(r.name(), e))
                }
            })
            .await;
        net::first_error(res)?;
        self.state.clock.retain(|_, c| c.offset_ms != 0);
        self.save()
    }

    /// Undo every active fault (and, on every node, anything shakedown may
    /// have left in the network), in this order: resume paused processes,
    /// heal the network, reset clocks, restart killed processes. Returns the
    /// ops to record, one per kind of fault undone. Errors of one step do not
    /// stop the others; the first is returned after all were tried, and the
    /// faults not undone stay in the state file.
    pub async fn heal_all(&mut self) -> Result<Vec<Effect>> {
        let mut effects = Vec::new();
        let mut errors = Vec::new();
        if !self.state.paused.is_empty() {
            match self.apply(&FaultOp::Resume).await {
                Ok(e) => effects.push(e),
                Err(e) => errors.push(e.0),
            }
        }
        let had_partition = self.state.partition.is_some();
        let had_packet: Vec<String> = self.state.packet.keys().cloned().collect();
        match net::heal_all(&self.cluster).await {
            Ok(()) => {
                self.state.partition = None;
                self.state.packet.clear();
                if had_partition {
                    effects.push(Effect::new("stop-partition", json!("network healed")));
                }
                if !had_packet.is_empty() {
                    effects.push(Effect::new("stop-packet", json!({ "nodes": had_packet })));
                }
            }
            Err(e) => errors.push(e.0),
        }
        if self.state.clock.values().any(|c| c.offset_ms != 0) {
            match self.apply(&FaultOp::ResetClock).await {
                Ok(e) => effects.push(e),
                Err(e) => errors.push(e.0),
            }
        }
        // Stateless: every local node's offset file back to +0.
        let local: Vec<String> = self
            .nodes
            .nodes
            .iter()
            .filter(|n| self.clock_mode(&n.name) == ClockMode::Shim)
            .map(|n| n.name.clone())
            .collect();
        let res = self
            .cluster
            .each(&local, |r| async move {
                clock::reset_offset_file(&r)
                    .await
                    .map_err(|e| node_err(r.name(), e))
            })
            .await;
        if let Err(e) = net::first_error(res) {
            errors.push(e.0);
        }
        if !self.state.killed.is_empty() {
            match self.apply(&FaultOp::Start).await {
                Ok(e) => effects.push(e),
                Err(e) => errors.push(e.0),
            }
        }
        if !self.state.powered_off.is_empty() {
            match self.apply(&FaultOp::PowerOn).await {
                Ok(e) => effects.push(e),
                Err(e) => errors.push(e.0),
            }
        }
        if let Err(e) = self.save() {
            errors.push(e.0);
        }
        if errors.is_empty() {
            if let Some(f) = &self.file {
                if self.state.is_empty() {
                    let _ = f.remove();
                }
            }
            Ok(effects)
        } else {
            Err(Error(format!("heal incomplete: {}", errors.join("; "))))
        }
    }

    /// Give up the heal guarantee and leave every active fault in place
    /// (`shakedown fault`): the state file keeps them for a later
    /// `shakedown heal`. Returns what is active.
    pub fn leave_active(mut self) -> ActiveFaults {
        std::mem::take(&mut self.state)
    }

    /// Heal now, blocking the calling thread (for `Drop` and panic paths):
    /// a fresh runtime in a helper thread and fresh SSH connections, so it
    /// works inside or outside an async context.
    pub fn heal_blocking(&mut self) -> Result<()> {
        let nodes = self.nodes.clone();
        let hooks = self.hooks.clone();
        let state = std::mem::take(&mut self.state);
        let file = self.file.clone();
        let res = std::thread::spawn(move || -> (ActiveFaults, Result<()>) {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return (state, Err(Error(format!("cannot start a runtime: {e}")))),
            };
            rt.block_on(async move {
                let mut inj = Injector {
                    cluster: Cluster::new(&nodes),
                    nodes,
                    hooks,
                    state,
                    file,
                    netem: None,
                };
                let r = inj.heal_all().await.map(|_| ());
                inj.cluster.disconnect().await;
                (std::mem::take(&mut inj.state), r)
            })
        })
        .join();
        match res {
            Ok((state, r)) => {
                self.state = state;
                r
            }
            Err(_) => Err(Error("the heal thread panicked".into())),
        }
    }
}

impl Drop for Injector {
    fn drop(&mut self) {
        let active = !self.state.is_empty();
        if !active {
            return;
        }
        eprintln!(
            "nemesis: healing faults still active at exit: {}",
            self.state.summary()
        );
        if let Err(e) = self.heal_blocking() {
            let hint = match &self.file {
                Some(f) => format!(
                    "; the faults are listed in {}: run `shakedown heal --state {}`",
                    f.path.display(),
                    f.path.display()
                ),
                None => String::new(),
            };
            eprintln!("nemesis: {e}{hint}");
        }
    }
}

/// A nemesis error as a control-plane error of `node`, without repeating
/// the node's name.
fn node_err(node: &str, e: Error) -> harness::control::Error {
    let msg =
        e.0.strip_prefix(&format!("{node}: "))
            .unwrap_or(&e.0)
            .to_string();
    harness::control::Error::new(node, harness::control::ErrorKind::Local(msg))
}

/// Power loss on one node: the database's process group killed (nothing
/// more reaches the disk), then every unsynced write dropped. The value
/// says what was dropped, per data directory: files and bytes.
async fn power_loss(
    remote: &harness::control::Remote,
    hooks: &ProcessHooks,
    mounts: &[Mount],
) -> Result<serde_json::Value> {
    let killed = process::kill(remote, hooks).await?;
    let mut dropped = serde_json::Map::new();
    let (mut files, mut bytes) = (0u64, 0u64);
    for m in mounts {
        let mut reply = disk::request(remote, m, "drop").await?;
        let list = reply["files"].as_array().cloned().unwrap_or_default();
        files += list.len() as u64;
        bytes += reply["bytes"].as_u64().unwrap_or(0);
        // A long list is cut for the history; the totals stay exact.
        if list.len() > 20 {
            reply["files"] = json!(list[..20]);
            reply["files_omitted"] = json!(list.len() - 20);
        }
        if let Some(o) = reply.as_object_mut() {
            o.remove("ok");
        }
        dropped.insert(m.dir.clone(), reply);
    }
    Ok(json!({
        "killed": killed.pid(),
        "dropped_files": files,
        "dropped_bytes": bytes,
        "dirs": dropped,
    }))
}

/// Corruption on one node: the database killed, each data directory's
/// matching files corrupted (`shakedown diskfs corrupt`, seeded), the
/// database restarted. For `rollback`, the first time takes the snapshot
/// (kept beside the directory) that a later rollback restores.
async fn corrupt(
    remote: &harness::control::Remote,
    hooks: &ProcessHooks,
    bin: &str,
    dirs: &[String],
    spec: &CorruptSpec,
) -> Result<serde_json::Value> {
    use harness::control::quote::q;
    let killed = process::kill(remote, hooks).await?;
    let mut per_dir = serde_json::Map::new();
    for (i, dir) in dirs.iter().enumerate() {
        let dir = dir.trim_end_matches('/');
        let snapshots = format!("{dir}.snapshot");
        let globs: Vec<String> = spec.files.iter().map(|g| q(g)).collect();
        let seed = spec.seed.wrapping_add(i as u64);
        // `probability` is the bit flip's (per bit). Truncate cuts every
        // matching file and rollback restores every chunk that changed
        // (diskfs's defaults for them): a per-bit 0.001 passed to them
        // would make them near no-ops.
        let cmd = match spec.mode {
            CorruptMode::Rollback => format!(
                "if [ -d {s} ]; then exec {bin} diskfs corrupt --dir {d} --files {g} --mode rollback --seed {seed} --snapshots {s}; else exec {bin} diskfs snapshot --dir {d} --files {g} --snapshots {s}; fi",
                s = q(&snapshots),
                bin = q(bin),
                d = q(dir),
                g = globs.join(" "),
            ),
            CorruptMode::Truncate => format!(
                "exec {bin} diskfs corrupt --dir {d} --files {g} --mode truncate --seed {seed}",
                bin = q(bin),
                d = q(dir),
                g = globs.join(" "),
            ),
            CorruptMode::Bitflip => format!(
                "exec {bin} diskfs corrupt --dir {d} --files {g} --mode bitflip --probability {p} --seed {seed}",
                bin = q(bin),
                d = q(dir),
                g = globs.join(" "),
                p = spec.probability,
            ),
        };
        let out = remote
            .run(
                harness::control::Cmd::new(cmd)
                    .sudo("root")
                    .timeout(Duration::from_secs(300)),
            )
            .await?;
        let reply: Option<serde_json::Value> = serde_json::from_str(out.stdout_str().trim()).ok();
        let mut reply = match reply {
            Some(v) if out.success() && v["ok"] == json!(true) => v,
            Some(v) => {
                return Err(Error(format!(
                    "corrupt {dir}: {}",
                    v["error"].as_str().unwrap_or("failed")
                )))
            }
            None => return Err(Error(format!("corrupt {dir}: {}", out.stderr_str().trim()))),
        };
        if let Some(o) = reply.as_object_mut() {
            o.remove("ok");
        }
        per_dir.insert(dir.to_string(), reply);
    }
    let started = process::start(remote, hooks).await?;
    Ok(json!({
        "killed": killed.pid(),
        "dirs": per_dir,
        "restarted": started.pid(),
    }))
}

/// Per-node JSON values as an effect; any node's error fails the op.
fn values(f: &str, res: harness::control::PerNode<serde_json::Value>) -> Result<Effect> {
    let mut v = serde_json::Map::new();
    let mut errors = Vec::new();
    for (n, r) in res {
        match r {
            Ok(o) => {
                v.insert(n, o);
            }
            Err(e) => {
                errors.push(e.to_string());
                v.insert(n, json!({ "error": e.to_string() }));
            }
        }
    }
    if errors.is_empty() {
        Ok(Effect::new(f, serde_json::Value::Object(v)))
    } else {
        Err(Error(format!("{f}: {}", errors.join("; "))))
    }
}

fn outcomes(f: &str, res: harness::control::PerNode<Outcome>) -> Result<Effect> {
    let res = res
        .into_iter()
        .map(|(n, r)| {
            (
                n,
                r.map(|o| serde_json::to_value(&o).expect("an outcome is plain data")),
            )
        })
        .collect();
    values(f, res)
}

/// `shakedown heal`: undo everything in the state file `file` (if any) and,
/// on every node of `nodes` (or the nodes the file names), everything
/// shakedown may have left in the network and in clock offset files. Safe to
/// run at any time, any number of times. Returns what was undone.
pub async fn heal(nodes: Option<&Nodes>, file: &StateFile) -> Result<Vec<Effect>> {
    let saved = file.load()?;
    let mount_file = disk::MountFile::for_state(file);
    let mounted_on = mount_file.load()?.nodes;
    let nodes = match (
        nodes,
        saved
            .as_ref()
            .and_then(|s| s.nodes.as_ref())
            .or(mounted_on.as_ref()),
    ) {
        (Some(n), _) => n.clone(),
        (None, Some(n)) => n.clone(),
        (None, None) => {
            return Err(Error(format!(
                "no nodes to heal: {} does not exist and no nodes file was given",
                file.path.display()
            )))
        }
    };
    let cluster = Cluster::new(&nodes);
    let mut inj = Injector::new(
        &nodes,
        cluster.clone(),
        Hooks::default(),
        Some(file.clone()),
    )?;
    // Mounts first: their databases are stopped and the file system
    // flushed and unmounted before a killed database is restarted, so it
    // restarts on its plain data directory.
    let mounts = disk::heal_mounts(Some(&nodes), &mount_file).await;
    let r = inj.heal_all().await;
    cluster.disconnect().await;
    // Healed or not, the injector must not heal again on drop from here
    // (the state file keeps whatever is left).
    inj.state = ActiveFaults::default();
    let mut effects = r?;
    let unmounted = mounts?;
    if !unmounted.is_empty() {
        effects.push(Effect::new("unmount", json!({ "unmounted": unmounted })));
    }
    Ok(effects)
}
