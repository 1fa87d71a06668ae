//! The nemesis section of a test file and the schedule it produces.
//!
//! ```yaml
//! nemesis:
//!   faults: [partition, kill, pause, clock, packet]
//!   interval: 10          # seconds between nemesis steps (jittered 0.5x..1.5x)
//!   seed: 42              # default: the run's seed
//!   partition: { modes: [isolate, halves, majority, majorities-ring, bridge] }
//!   kill: { targets: [one, minority] }
//!   pause: { targets: [one, majority, primaries] }
//!   clock: { modes: [bump, strobe], max-offset-ms: 30000 }
//!   packet: { loss: 0.2, targets: [all] }
//!   power-loss: { targets: [one] }      # the default; kill + drop unsynced writes
//!   corrupt: { targets: [one], files: ["member/wal/*.wal"], modes: [bitflip, truncate, rollback], probability: 0.001 }
//! ```
//!
//! Every setting is checked while the file is read, so a bad one is an
//! error naming its line before any node is touched: `interval` from
//! 0.01 s to a day, `loss` in 0..1, netem percentages in 0..100, delays up
//! to a minute, clock offsets up to a year, no `primaries` target for
//! clock or packet faults (they act on every node they name), a `grudge`
//! mode only with a `grudge`, and no node holding a grudge against itself.
//! Whether a grudge names nodes of the cluster is checked by
//! [`NemesisConfig::validate`] once the nodes are known.
//!
//! Faults come and go: while one is active, a step usually stops the one
//! that started first; a quarter of the time it starts a second kind on top
//! instead (a partition during a pause; at most two at once). With nothing
//! active, a step starts a random kind. So the cluster spends stretches
//! under faults and stretches recovering, and the runner heals whatever is
//! still active at the end. Clock changes are
//! followed by a `check-offsets`. The whole schedule is a pure function of
//! the config, the node names and the seed.

use crate::grudge::{Grudge, Rng};
use crate::inject::{CorruptMode, CorruptSpec, FaultOp, PartitionTarget, Targets};
use crate::net::PacketSpec;
use crate::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;

/// A kind of fault the nemesis injects.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Network partitions (`partition:`), as iptables DROP rules.
    Partition,
    /// SIGKILL the database (`kill:`), then restart it.
    Kill,
    /// SIGSTOP the database (`pause:`), then SIGCONT.
    Pause,
    /// Clock bumps and strobes (`clock:`).
    Clock,
    /// Packet loss, delay, duplication, reordering, corruption (`packet:`).
    Packet,
    /// Kill and drop the writes not yet fsynced (`power-loss:`).
    PowerLoss,
    /// Corrupt files of the data directories (`corrupt:`).
    Corrupt,
}

/// The schema's default of a section whose keys all have defaults.
fn empty_section() -> serde_json::Value {
    serde_json::json!({})
}

/// `nemesis:`: which faults, how often, and each fault's settings (a
/// fault's section is read only when the fault is in `faults`).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(example = example_nemesis())]
pub struct NemesisConfig {
    /// The faults to inject; none: the run has no nemesis.
    #[serde(default)]
    pub faults: Vec<FaultKind>,
    /// Seconds between nemesis steps, each gap uniform in 0.5 to 1.5 times
    /// this; 0.01 to 86400 (a day).
    #[serde(default = "default_interval", deserialize_with = "check::interval")]
    #[schemars(range(min = 0.01, max = 86400.0))]
    pub interval: f64,
    /// Seeds the schedule; the run's seed when absent.
    #[serde(default)]
    #[schemars(with = "u64", extend("x-default" = "the run's seed"))]
    pub seed: Option<u64>,
    /// Partition settings.
    #[serde(default)]
    #[schemars(default = "empty_section")]
    pub partition: PartitionConfig,
    /// Kill settings.
    #[serde(default)]
    #[schemars(default = "empty_section")]
    pub kill: ProcessConfig,
    /// Pause settings.
    #[serde(default)]
    #[schemars(default = "empty_section")]
    pub pause: ProcessConfig,
    /// Clock settings.
    #[serde(default)]
    #[schemars(default = "empty_section")]
    pub clock: ClockConfig,
    /// Packet settings.
    #[serde(default)]
    #[schemars(default = "empty_section")]
    pub packet: PacketConfig,
    /// Power-loss settings: which nodes lose power (their database is
    /// killed and the writes it had not fsynced are dropped).
    #[serde(default)]
    #[schemars(default = "empty_section")]
    pub power_loss: ProcessConfig,
    /// Corruption settings.
    #[serde(default)]
    #[schemars(default = "empty_section")]
    pub corrupt: CorruptConfig,
}

fn example_nemesis() -> serde_json::Value {
    serde_json::json!({
        "faults": ["partition", "kill", "clock"],
        "interval": 10,
        "partition": {"modes": ["isolate", "majority"]},
        "clock": {"modes": ["bump"], "max-offset-ms": 30000},
    })
}

/// `corrupt:`: which files of the data directories, how, how much.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    try_from = "CorruptFields"
)]
pub struct CorruptConfig {
    /// Default: one.
    pub targets: Vec<TargetSpec>,
    /// Globs relative to each data directory; default every file (`**`).
    pub files: Vec<String>,
    /// Default: bitflip.
    pub modes: Vec<CorruptMode>,
    /// For bitflip, the chance of each bit of a chosen chunk flipping
    /// (0 < p <= 1).
    pub probability: f64,
    /// How many distinct nodes may be corrupted over the whole run; default
    /// a minority (a correct replicated database survives that), at least 1.
    pub max_nodes: Option<usize>,
}

impl CorruptConfig {
    /// The globs corrupt steps match: `files`, or every file (`**`).
    pub fn globs(&self) -> Vec<String> {
        if self.files.is_empty() {
            vec!["**".to_string()]
        } else {
            self.files.clone()
        }
    }
}

/// [`CorruptConfig`] as read, before the checks that span its fields.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(
    description = "`corrupt:`: which files of the data directories are corrupted, how and how much.",
    example = serde_json::json!({"targets": ["one"], "files": ["member/wal/*.wal"], "modes": ["bitflip", "truncate"], "probability": 0.001})
)]
struct CorruptFields {
    /// Which nodes a step corrupts.
    #[serde(default)]
    #[schemars(default = "default_one")]
    targets: Vec<TargetSpec>,
    /// Globs relative to each data directory (`*`, `?`, `**`; no leading
    /// `/`, no `..`); empty: every file.
    #[serde(default)]
    #[schemars(default = "default_all_files")]
    files: Vec<String>,
    /// How files are corrupted.
    #[serde(default)]
    #[schemars(default = "default_bitflip")]
    modes: Vec<CorruptMode>,
    /// For bitflip, the chance of each bit of a chosen chunk flipping.
    #[serde(default = "default_corrupt_probability")]
    #[schemars(range(max = 1.0), extend("exclusiveMinimum" = 0))]
    probability: f64,
    /// How many distinct nodes may be corrupted over the whole run;
    /// default a minority of the nodes (a correct replicated database
    /// survives that), at least 1.
    #[serde(default)]
    #[schemars(with = "usize", range(min = 1), extend("x-default" = "a minority of the nodes"))]
    max_nodes: Option<usize>,
}

fn default_one() -> serde_json::Value {
    serde_json::json!(["one"])
}
fn default_all_files() -> serde_json::Value {
    serde_json::json!(["**"])
}
fn default_bitflip() -> serde_json::Value {
    serde_json::json!(["bitflip"])
}
fn default_process_targets() -> serde_json::Value {
    serde_json::json!(["one", "minority", "majority", "all"])
}

impl TryFrom<CorruptFields> for CorruptConfig {
    type Error = String;
    fn try_from(f: CorruptFields) -> std::result::Result<CorruptConfig, String> {
        let c = CorruptConfig {
            targets: f.targets,
            files: f.files,
            modes: f.modes,
            probability: f.probability,
            max_nodes: f.max_nodes,
        };
        check::corrupt(&c).map_err(|e| format!("corrupt: {e}"))?;
        Ok(c)
    }
}

fn default_corrupt_probability() -> f64 {
    0.001
}

impl Default for CorruptConfig {
    fn default() -> Self {
        CorruptConfig {
            targets: Vec::new(),
            files: Vec::new(),
            modes: Vec::new(),
            probability: default_corrupt_probability(),
            max_nodes: None,
        }
    }
}

fn default_interval() -> f64 {
    10.0
}

impl NemesisConfig {
    /// Everything that can be checked without the nodes (what reading the
    /// YAML checks, for a config built in code), then that the grudge
    /// names only nodes of `names`. Errors name the setting.
    pub fn validate(&self, names: &[String]) -> std::result::Result<(), String> {
        check::interval_value(self.interval).map_err(|e| format!("nemesis.interval: {e}"))?;
        check::partition(&self.partition).map_err(|e| format!("nemesis.partition: {e}"))?;
        check::clock(&self.clock).map_err(|e| format!("nemesis.clock: {e}"))?;
        check::packet(&self.packet).map_err(|e| format!("nemesis.packet: {e}"))?;
        check::corrupt(&self.corrupt).map_err(|e| format!("nemesis.corrupt: {e}"))?;
        if let Some(g) = &self.partition.grudge {
            g.clone()
                .validate(names)
                .map_err(|e| format!("nemesis.partition.grudge: {}", e.0))?;
        }
        Ok(())
    }
}

impl Default for NemesisConfig {
    fn default() -> Self {
        NemesisConfig {
            faults: Vec::new(),
            interval: default_interval(),
            seed: None,
            partition: PartitionConfig::default(),
            kill: ProcessConfig::default(),
            pause: ProcessConfig::default(),
            clock: ClockConfig::default(),
            packet: PacketConfig::default(),
            power_loss: ProcessConfig::default(),
            corrupt: CorruptConfig::default(),
        }
    }
}

/// How a partition step splits the nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionMode {
    /// One random node cut off from all others.
    Isolate,
    /// Random halves.
    Halves,
    /// A random minority cut off from the majority.
    Majority,
    /// Every node sees a majority, no two the same one.
    MajoritiesRing,
    /// Two halves joined by one node.
    Bridge,
    /// The primaries (target hook) cut off from the rest.
    Primaries,
    /// The explicit `grudge`.
    Grudge,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, try_from = "PartitionFields")]
pub struct PartitionConfig {
    /// Default: all generic modes (isolate, halves, majority,
    /// majorities-ring, bridge), or `[grudge]` when a grudge is given.
    #[serde(default)]
    pub modes: Vec<PartitionMode>,
    /// For each node, the nodes it drops traffic from.
    #[serde(default)]
    pub grudge: Option<Grudge>,
}

/// [`PartitionConfig`] as read, before the checks that span its fields.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    description = "`partition:`: how partitions split the nodes.",
    example = serde_json::json!({"modes": ["grudge"], "grudge": {"n1": ["n2", "n3"]}})
)]
struct PartitionFields {
    /// The ways a step may split the nodes; default every generic mode
    /// (isolate, halves, majority, majorities-ring, bridge), or `[grudge]`
    /// when a `grudge` is given. `grudge` needs a `grudge`.
    #[serde(default)]
    #[schemars(extend(
        "x-default" = "isolate, halves, majority, majorities-ring, bridge; [grudge] with a grudge"
    ))]
    modes: Vec<PartitionMode>,
    /// An explicit partition: for each node, the nodes it drops traffic
    /// from (no node against itself; only the test's nodes).
    #[serde(default)]
    #[schemars(with = "Grudge", example = serde_json::json!({"n1": ["n2", "n3"]}))]
    grudge: Option<Grudge>,
}

impl TryFrom<PartitionFields> for PartitionConfig {
    type Error = String;
    fn try_from(f: PartitionFields) -> std::result::Result<PartitionConfig, String> {
        let c = PartitionConfig {
            modes: f.modes,
            grudge: f.grudge,
        };
        check::partition(&c).map_err(|e| format!("partition: {e}"))?;
        Ok(c)
    }
}

/// Which nodes a fault step hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "FaultTarget")]
pub enum TargetSpec {
    /// One random node.
    One,
    /// A random minority.
    Minority,
    /// A random majority.
    Majority,
    /// Every node.
    All,
    /// The primaries, as the target names them (kill, pause and
    /// partition only).
    Primaries,
}

/// `kill:`, `pause:`, `power-loss:`: which nodes a step hits.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = serde_json::json!({"targets": ["one", "primaries"]}))]
pub struct ProcessConfig {
    /// Each step picks one of these.
    #[serde(default)]
    #[schemars(default = "default_process_targets")]
    pub targets: Vec<TargetSpec>,
}

/// How a clock step changes the clocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ClockFault {
    /// Jump the clock by a random offset.
    Bump,
    /// Flip the clock back and forth for a while.
    Strobe,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    try_from = "ClockFields"
)]
pub struct ClockConfig {
    /// Default: bump and strobe.
    pub modes: Vec<ClockFault>,
    /// Bumps are uniform in ±this (and at least 1/10 of it away from 0);
    /// 1 ms to a year.
    pub max_offset_ms: i64,
    /// 1 ms up to `strobe-duration-ms`, which is at most an hour.
    pub strobe_period_ms: u64,
    pub strobe_duration_ms: u64,
    /// Default: one, minority, majority, all.
    pub targets: Vec<TargetSpec>,
}

/// [`ClockConfig`] as read, before the checks that span its fields.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(
    description = "`clock:`: how clocks are bumped and strobed, on which nodes.",
    example = serde_json::json!({"modes": ["bump", "strobe"], "max-offset-ms": 30000, "targets": ["one", "all"]})
)]
struct ClockFields {
    /// What a clock step does.
    #[serde(default)]
    #[schemars(default = "default_clock_modes")]
    modes: Vec<ClockFault>,
    /// Bumps are uniform in plus or minus this many milliseconds (and at
    /// least a tenth of it away from 0); 1 ms to a year.
    #[serde(default = "default_max_offset")]
    #[schemars(range(min = 1, max = 31_536_000_000i64))]
    max_offset_ms: i64,
    /// A strobe flips the clock every this many milliseconds, 1 up to
    /// `strobe-duration-ms`.
    #[serde(default = "default_strobe_period")]
    #[schemars(range(min = 1, max = 3_600_000))]
    strobe_period_ms: u64,
    /// How long a strobe lasts, in milliseconds: 1 to an hour.
    #[serde(default = "default_strobe_duration")]
    #[schemars(range(min = 1, max = 3_600_000))]
    strobe_duration_ms: u64,
    /// Which nodes a step hits (not `primaries`: the clock is the node's).
    #[serde(default, deserialize_with = "check::every_node_targets")]
    #[schemars(
        default = "default_process_targets",
        schema_with = "every_node_targets"
    )]
    targets: Vec<TargetSpec>,
}

fn default_clock_modes() -> serde_json::Value {
    serde_json::json!(["bump", "strobe"])
}

/// Targets of a fault that acts on every node it names: no `primaries`.
fn every_node_targets(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": {"enum": ["one", "minority", "majority", "all"]}
    })
}

impl TryFrom<ClockFields> for ClockConfig {
    type Error = String;
    fn try_from(f: ClockFields) -> std::result::Result<ClockConfig, String> {
        let c = ClockConfig {
            modes: f.modes,
            max_offset_ms: f.max_offset_ms,
            strobe_period_ms: f.strobe_period_ms,
            strobe_duration_ms: f.strobe_duration_ms,
            targets: f.targets,
        };
        check::clock(&c).map_err(|e| format!("clock: {e}"))?;
        Ok(c)
    }
}

fn default_max_offset() -> i64 {
    60_000
}
fn default_strobe_period() -> u64 {
    100
}
fn default_strobe_duration() -> u64 {
    5_000
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            modes: Vec::new(),
            max_offset_ms: default_max_offset(),
            strobe_period_ms: default_strobe_period(),
            strobe_duration_ms: default_strobe_duration(),
            targets: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    try_from = "PacketFields"
)]
pub struct PacketConfig {
    /// Fraction of input packets dropped, 0..1 (0.2 when nothing is set).
    pub loss: Option<f64>,
    /// netem (where the kernel has it): delay and jitter in ms (at most a
    /// minute; jitter only with a delay), duplicate / reorder / corrupt in
    /// percent (0..100).
    pub delay_ms: Option<u64>,
    pub jitter_ms: Option<u64>,
    pub duplicate: Option<f64>,
    pub reorder: Option<f64>,
    pub corrupt: Option<f64>,
    /// Default: all.
    pub targets: Vec<TargetSpec>,
}

/// [`PacketConfig`] as read: each number checked where it stands (so the
/// error names its line), then the checks that span fields.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(
    description = "`packet:`: packet loss, and with netem (where the kernel has it) delay, jitter, duplication, reordering and corruption, on the input path of the nodes hit.",
    example = serde_json::json!({"loss": 0.2, "delay-ms": 50, "jitter-ms": 10, "targets": ["minority"]})
)]
struct PacketFields {
    /// The fraction of input packets dropped; 0.2 when no other packet
    /// setting is given.
    #[serde(default, deserialize_with = "check::fraction")]
    #[schemars(
        with = "f64",
        range(min = 0.0, max = 1.0),
        extend("x-default" = "0.2 when no other packet setting is given")
    )]
    loss: Option<f64>,
    /// netem delay in milliseconds, at most a minute.
    #[serde(default, deserialize_with = "check::delay_ms")]
    #[schemars(with = "u64", range(max = 60_000))]
    delay_ms: Option<u64>,
    /// netem jitter in milliseconds, at most a minute; only with a delay.
    #[serde(default, deserialize_with = "check::delay_ms")]
    #[schemars(with = "u64", range(max = 60_000))]
    jitter_ms: Option<u64>,
    /// netem: percent of packets duplicated.
    #[serde(default, deserialize_with = "check::percent")]
    #[schemars(with = "f64", range(min = 0.0, max = 100.0))]
    duplicate: Option<f64>,
    /// netem: percent of packets reordered.
    #[serde(default, deserialize_with = "check::percent")]
    #[schemars(with = "f64", range(min = 0.0, max = 100.0))]
    reorder: Option<f64>,
    /// netem: percent of packets corrupted.
    #[serde(default, deserialize_with = "check::percent")]
    #[schemars(with = "f64", range(min = 0.0, max = 100.0))]
    corrupt: Option<f64>,
    /// Which nodes a step hits (not `primaries`).
    #[serde(default, deserialize_with = "check::every_node_targets")]
    #[schemars(default = "default_all", schema_with = "every_node_targets")]
    targets: Vec<TargetSpec>,
}

fn default_all() -> serde_json::Value {
    serde_json::json!(["all"])
}

impl TryFrom<PacketFields> for PacketConfig {
    type Error = String;
    fn try_from(f: PacketFields) -> std::result::Result<PacketConfig, String> {
        let c = PacketConfig {
            loss: f.loss,
            delay_ms: f.delay_ms,
            jitter_ms: f.jitter_ms,
            duplicate: f.duplicate,
            reorder: f.reorder,
            corrupt: f.corrupt,
            targets: f.targets,
        };
        check::packet(&c).map_err(|e| format!("packet: {e}"))?;
        Ok(c)
    }
}

/// The checks, shared by reading (each number where it stands) and by
/// [`NemesisConfig::validate`] (a config built in code).
mod check {
    use super::{ClockConfig, PacketConfig, PartitionConfig, PartitionMode, TargetSpec};
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer};

    type Res<T> = std::result::Result<T, String>;

    /// A number as a person reads it: `1e300`, not 301 digits.
    fn num(v: f64) -> String {
        if v != 0.0 && v.is_finite() && !(1e-3..1e6).contains(&v.abs()) {
            format!("{v:e}")
        } else {
            format!("{v}")
        }
    }

    pub fn interval_value(v: f64) -> Res<f64> {
        if (0.01..=86_400.0).contains(&v) {
            Ok(v)
        } else {
            Err(format!(
                "expected seconds between nemesis steps, from 0.01 to 86400 (a day), found {}",
                num(v)
            ))
        }
    }

    pub fn interval<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        interval_value(f64::deserialize(d)?).map_err(D::Error::custom)
    }

    fn in_range(v: f64, lo: f64, hi: f64, what: &str) -> Res<f64> {
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(format!(
                "expected {what} from {lo} to {hi}, found {}",
                num(v)
            ))
        }
    }

    pub fn fraction<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        let v = f64::deserialize(d)?;
        in_range(v, 0.0, 1.0, "a fraction of packets")
            .map(Some)
            .map_err(D::Error::custom)
    }

    pub fn percent<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        let v = f64::deserialize(d)?;
        in_range(v, 0.0, 100.0, "a percentage")
            .map(Some)
            .map_err(D::Error::custom)
    }

    const MAX_DELAY_MS: u64 = 60_000;

    pub fn delay_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        let v = u64::deserialize(d)?;
        if v > MAX_DELAY_MS {
            return Err(D::Error::custom(format!(
                "expected milliseconds up to {MAX_DELAY_MS} (a minute), found {v}"
            )));
        }
        Ok(Some(v))
    }

    /// Clock and packet faults act on the nodes they name; `primaries` is
    /// a process / partition target only.
    pub fn every_node_targets<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<TargetSpec>, D::Error> {
        let v = Vec::<TargetSpec>::deserialize(d)?;
        if v.contains(&TargetSpec::Primaries) {
            return Err(D::Error::custom(
                "`primaries` is a target of kill, pause and partition only; use one, minority, majority or all",
            ));
        }
        Ok(v)
    }

    pub fn partition(c: &PartitionConfig) -> Res<()> {
        if c.modes.contains(&PartitionMode::Grudge) && c.grudge.is_none() {
            return Err("mode `grudge` needs a `grudge:` (node: [nodes it drops])".into());
        }
        if let Some(g) = &c.grudge {
            for (n, drops) in &g.0 {
                if drops.contains(n) {
                    return Err(format!("grudge: {n} cannot hold a grudge against itself"));
                }
            }
            if g.is_empty() {
                return Err("grudge: no node drops any other; name at least one (n1: [n2])".into());
            }
        }
        Ok(())
    }

    pub fn clock(c: &ClockConfig) -> Res<()> {
        const YEAR_MS: i64 = 365 * 24 * 3600 * 1000;
        if !(1..=YEAR_MS).contains(&c.max_offset_ms) {
            return Err(format!(
                "max-offset-ms: expected 1 to {YEAR_MS} (a year), found {}",
                c.max_offset_ms
            ));
        }
        const HOUR_MS: u64 = 3600 * 1000;
        if !(1..=HOUR_MS).contains(&c.strobe_duration_ms) {
            return Err(format!(
                "strobe-duration-ms: expected 1 to {HOUR_MS} (an hour), found {}",
                c.strobe_duration_ms
            ));
        }
        if !(1..=c.strobe_duration_ms).contains(&c.strobe_period_ms) {
            return Err(format!(
                "strobe-period-ms: expected 1 to strobe-duration-ms ({}), found {}",
                c.strobe_duration_ms, c.strobe_period_ms
            ));
        }
        if c.targets.contains(&TargetSpec::Primaries) {
            return Err("targets: `primaries` is not a clock target".into());
        }
        Ok(())
    }

    fn corrupt_probability_value(p: f64) -> Res<()> {
        if p.is_finite() && p > 0.0 && p <= 1.0 {
            Ok(())
        } else {
            Err(format!(
                "probability: expected a chance above 0 and at most 1, found {p}"
            ))
        }
    }

    pub fn corrupt(c: &super::CorruptConfig) -> Res<()> {
        corrupt_probability_value(c.probability)?;
        for (i, g) in c.files.iter().enumerate() {
            if g.trim().is_empty() || g.starts_with('/') || g.split('/').any(|p| p == "..") {
                return Err(format!(
                    "files[{i}]: expected a glob relative to the data directory (no leading /, no ..), found {g:?}"
                ));
            }
        }
        if c.max_nodes == Some(0) {
            return Err("max-nodes: expected at least 1".into());
        }
        Ok(())
    }

    pub fn packet(c: &PacketConfig) -> Res<()> {
        if let Some(p) = c.loss {
            in_range(p, 0.0, 1.0, "a fraction of packets").map_err(|e| format!("loss: {e}"))?;
        }
        for (name, v) in [
            ("duplicate", c.duplicate),
            ("reorder", c.reorder),
            ("corrupt", c.corrupt),
        ] {
            if let Some(p) = v {
                in_range(p, 0.0, 100.0, "a percentage").map_err(|e| format!("{name}: {e}"))?;
            }
        }
        for (name, v) in [("delay-ms", c.delay_ms), ("jitter-ms", c.jitter_ms)] {
            if v.is_some_and(|ms| ms > MAX_DELAY_MS) {
                return Err(format!("{name}: at most {MAX_DELAY_MS} ms"));
            }
        }
        if c.jitter_ms.is_some() && c.delay_ms.is_none() {
            return Err("jitter-ms needs delay-ms (netem jitters a delay)".into());
        }
        if c.targets.contains(&TargetSpec::Primaries) {
            return Err("targets: `primaries` is not a packet target".into());
        }
        Ok(())
    }
}

impl PacketConfig {
    pub fn spec(&self) -> PacketSpec {
        let mut spec = PacketSpec {
            loss: self.loss,
            delay_ms: self.delay_ms,
            jitter_ms: self.jitter_ms,
            duplicate: self.duplicate,
            reorder: self.reorder,
            corrupt: self.corrupt,
        };
        if spec.is_empty() {
            spec.loss = Some(0.2);
        }
        spec
    }
}

/// An endless, seeded stream of `(wait, op)`: wait, then apply the op.
#[derive(Clone, Debug)]
pub struct Schedule {
    cfg: NemesisConfig,
    names: Vec<String>,
    rng: Rng,
    /// Active fault kinds, oldest first.
    active: VecDeque<FaultKind>,
    pending: VecDeque<FaultOp>,
    /// Nodes corrupted so far (bounded by `corrupt.max-nodes`).
    corrupted: std::collections::BTreeSet<String>,
}

impl Schedule {
    /// A schedule for `names`, seeded by `cfg.seed` or else `seed`.
    pub fn from_config(cfg: &NemesisConfig, names: &[String], seed: u64) -> Result<Schedule> {
        if names.is_empty() {
            return Err(Error("the nemesis needs at least one node".into()));
        }
        cfg.validate(names).map_err(Error)?;
        let mut faults = cfg.faults.clone();
        faults.sort();
        faults.dedup();
        let mut cfg = cfg.clone();
        cfg.faults = faults;
        Ok(Schedule {
            rng: Rng::seed(cfg.seed.unwrap_or(seed)),
            cfg,
            names: names.to_vec(),
            active: VecDeque::new(),
            pending: VecDeque::new(),
            corrupted: Default::default(),
        })
    }

    /// The wait before the next step.
    fn gap(&mut self) -> Duration {
        Duration::from_secs_f64(self.cfg.interval * (0.5 + self.rng.f64()))
    }

    fn targets(&mut self, specs: &[TargetSpec], default: &[TargetSpec]) -> Targets {
        let specs = if specs.is_empty() { default } else { specs };
        let spec = *self.rng.pick(specs);
        let n = self.names.len();
        let k = match spec {
            TargetSpec::Primaries => return Targets::Primaries,
            TargetSpec::One => 1,
            TargetSpec::Minority => (n.saturating_sub(1) / 2).max(1),
            TargetSpec::Majority => n / 2 + 1,
            TargetSpec::All => n,
        };
        let mut v = self.names.clone();
        self.rng.shuffle(&mut v);
        v.truncate(k.min(n));
        v.sort();
        Targets::Nodes(v)
    }

    fn nodes_of(&mut self, specs: &[TargetSpec], default: &[TargetSpec]) -> Vec<String> {
        match self.targets(specs, default) {
            Targets::Nodes(v) => v,
            // Clock and packet faults cannot ask for primaries; use all.
            Targets::Primaries => self.names.clone(),
        }
    }

    fn start(&mut self, kind: FaultKind) -> FaultOp {
        const PROC: [TargetSpec; 4] = [
            TargetSpec::One,
            TargetSpec::Minority,
            TargetSpec::Majority,
            TargetSpec::All,
        ];
        match kind {
            FaultKind::Partition => {
                let modes = if !self.cfg.partition.modes.is_empty() {
                    self.cfg.partition.modes.clone()
                } else if self.cfg.partition.grudge.is_some() {
                    vec![PartitionMode::Grudge]
                } else {
                    vec![
                        PartitionMode::Isolate,
                        PartitionMode::Halves,
                        PartitionMode::Majority,
                        PartitionMode::MajoritiesRing,
                        PartitionMode::Bridge,
                    ]
                };
                let names = self.names.clone();
                let target = match *self.rng.pick(&modes) {
                    PartitionMode::Isolate => {
                        let n = self.rng.pick(&names).clone();
                        PartitionTarget::Grudge(Grudge::isolate(&names, &n))
                    }
                    PartitionMode::Halves => {
                        PartitionTarget::Grudge(Grudge::random_halves(&names, &mut self.rng))
                    }
                    PartitionMode::Majority => {
                        PartitionTarget::Grudge(Grudge::majority_minority(&names, &mut self.rng))
                    }
                    PartitionMode::MajoritiesRing => {
                        PartitionTarget::Grudge(Grudge::majorities_ring(&names, &mut self.rng))
                    }
                    PartitionMode::Bridge => {
                        PartitionTarget::Grudge(Grudge::bridge(&names, &mut self.rng))
                    }
                    PartitionMode::Primaries => PartitionTarget::Primaries,
                    PartitionMode::Grudge => PartitionTarget::Grudge(
                        self.cfg.partition.grudge.clone().unwrap_or_default(),
                    ),
                };
                FaultOp::StartPartition { target }
            }
            FaultKind::Kill => {
                let t = self.cfg.kill.targets.clone();
                FaultOp::Kill {
                    targets: self.targets(&t, &PROC),
                }
            }
            FaultKind::Pause => {
                let t = self.cfg.pause.targets.clone();
                FaultOp::Pause {
                    targets: self.targets(&t, &PROC),
                }
            }
            FaultKind::Clock => {
                let modes = if self.cfg.clock.modes.is_empty() {
                    vec![ClockFault::Bump, ClockFault::Strobe]
                } else {
                    self.cfg.clock.modes.clone()
                };
                let t = self.cfg.clock.targets.clone();
                let nodes = self.nodes_of(&t, &PROC);
                let max = self.cfg.clock.max_offset_ms.max(1);
                let delta = |rng: &mut Rng| {
                    let mag = (max / 10 + (rng.f64() * (max - max / 10) as f64) as i64).max(1);
                    if rng.below(2) == 0 {
                        mag
                    } else {
                        -mag
                    }
                };
                match *self.rng.pick(&modes) {
                    ClockFault::Bump => {
                        let deltas = nodes
                            .into_iter()
                            .map(|n| (n, delta(&mut self.rng)))
                            .collect();
                        FaultOp::BumpClock { deltas }
                    }
                    ClockFault::Strobe => FaultOp::StrobeClock {
                        nodes,
                        delta_ms: delta(&mut self.rng),
                        period_ms: self.cfg.clock.strobe_period_ms,
                        duration_ms: self.cfg.clock.strobe_duration_ms,
                    },
                }
            }
            FaultKind::Packet => {
                let t = self.cfg.packet.targets.clone();
                let nodes = self.nodes_of(&t, &[TargetSpec::All]);
                let spec = self.cfg.packet.spec();
                FaultOp::StartPacket { nodes, spec }
            }
            FaultKind::PowerLoss => {
                let t = self.cfg.power_loss.targets.clone();
                FaultOp::PowerLoss {
                    targets: self.targets(&t, &[TargetSpec::One]),
                }
            }
            FaultKind::Corrupt => {
                let c = self.cfg.corrupt.clone();
                let mut nodes = self.nodes_of(&c.targets, &[TargetSpec::One]);
                // Over the whole run, at most `max-nodes` distinct nodes:
                // once the budget is spent, corrupt among those already hit.
                let n = self.names.len();
                let max = c
                    .max_nodes
                    .unwrap_or((n.saturating_sub(1) / 2).max(1))
                    .min(n);
                let mut allowed: Vec<String> = self.corrupted.iter().cloned().collect();
                for node in &nodes {
                    if allowed.len() < max && !allowed.contains(node) {
                        allowed.push(node.clone());
                    }
                }
                nodes.retain(|n| allowed.contains(n));
                if nodes.is_empty() {
                    nodes.push(self.rng.pick(&allowed).clone());
                }
                nodes.sort();
                self.corrupted.extend(nodes.iter().cloned());
                let modes = if c.modes.is_empty() {
                    vec![CorruptMode::Bitflip]
                } else {
                    c.modes.clone()
                };
                let files = c.globs();
                FaultOp::Corrupt {
                    nodes,
                    spec: CorruptSpec {
                        mode: *self.rng.pick(&modes),
                        files,
                        probability: c.probability,
                        seed: self.rng.below(1 << 31),
                    },
                }
            }
        }
    }

    fn stop(kind: FaultKind) -> FaultOp {
        match kind {
            FaultKind::Partition => FaultOp::StopPartition,
            FaultKind::Kill => FaultOp::Start,
            FaultKind::Pause => FaultOp::Resume,
            FaultKind::Clock => FaultOp::ResetClock,
            FaultKind::Packet => FaultOp::StopPacket,
            FaultKind::PowerLoss => FaultOp::PowerOn,
            // One step (kill, corrupt, restart): never left active.
            FaultKind::Corrupt => FaultOp::Start,
        }
    }
}

impl Iterator for Schedule {
    type Item = (Duration, FaultOp);

    /// `None` only when no fault kinds are configured.
    fn next(&mut self) -> Option<(Duration, FaultOp)> {
        if let Some(op) = self.pending.pop_front() {
            return Some((Duration::ZERO, op));
        }
        if self.cfg.faults.is_empty() {
            return None;
        }
        let gap = self.gap();
        // Faults come and go, so the cluster is tested both under faults and
        // while recovering from them: while something is active, usually
        // stop the fault that started first; sometimes start a second kind
        // on top (composition, at most two at once). With nothing active,
        // start one. Left active, a fault would last until the final heal.
        let idle: Vec<FaultKind> = self
            .cfg
            .faults
            .iter()
            .copied()
            .filter(|k| !self.active.contains(k))
            .collect();
        let compose = self.active.len() < 2 && !idle.is_empty() && self.rng.f64() < 0.25;
        let (kind, op) = match self.active.front().copied() {
            Some(oldest) if !compose => {
                self.active.pop_front();
                (oldest, Schedule::stop(oldest))
            }
            _ => {
                let kind = *self.rng.pick(&idle);
                let op = self.start(kind);
                // A strobe ends where it started, a corruption restarts
                // the database: nothing stays active.
                if !matches!(op, FaultOp::StrobeClock { .. } | FaultOp::Corrupt { .. }) {
                    self.active.push_back(kind);
                }
                (kind, op)
            }
        };
        if kind == FaultKind::Clock {
            self.pending.push_back(FaultOp::CheckOffsets);
        }
        Some((gap, op))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn names() -> Vec<String> {
        (1..=5).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn disk_faults_parse_and_bad_corrupt_settings_are_refused() {
        let cfg: NemesisConfig = serde_saphyr::from_str(
            "faults: [power-loss, corrupt]\npower-loss: {targets: [all]}\ncorrupt: {files: [\"member/wal/*.wal\"], modes: [bitflip, truncate], probability: 0.01}\n",
        )
        .unwrap();
        assert_eq!(cfg.power_loss.targets, vec![TargetSpec::All]);
        assert_eq!(
            cfg.corrupt.modes,
            vec![CorruptMode::Bitflip, CorruptMode::Truncate]
        );
        for (yaml, want) in [
            ("faults: [corrupt]\ncorrupt: {probability: 0}\n", "above 0"),
            (
                "faults: [corrupt]\ncorrupt: {probability: 2}\n",
                "at most 1",
            ),
            (
                "faults: [corrupt]\ncorrupt: {files: [/etc/passwd]}\n",
                "relative",
            ),
            ("faults: [corrupt]\ncorrupt: {files: [../x]}\n", "relative"),
            ("faults: [corrupt]\ncorrupt: {max-nodes: 0}\n", "at least 1"),
            ("faults: [corrupt]\ncorrupt: {modes: [shred]}\n", "shred"),
        ] {
            let e = serde_saphyr::from_str::<NemesisConfig>(yaml)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{yaml}: {e}");
        }
    }

    /// Power loss cuts one node by default and is healed by power-on;
    /// corruption is one step and, over the whole run, never reaches more
    /// than a minority of the nodes.
    #[test]
    fn power_loss_is_paired_and_corruption_stays_within_a_minority() {
        let cfg: NemesisConfig =
            serde_saphyr::from_str("faults: [power-loss]\ninterval: 1\n").unwrap();
        let ops: Vec<FaultOp> = Schedule::from_config(&cfg, &names(), 3)
            .unwrap()
            .take(40)
            .map(|(_, op)| op)
            .collect();
        for pair in ops.chunks(2) {
            assert!(
                matches!(&pair[0], FaultOp::PowerLoss { targets: Targets::Nodes(v) } if v.len() == 1),
                "{pair:?}"
            );
            assert_eq!(pair[1], FaultOp::PowerOn);
        }
        let cfg: NemesisConfig = serde_saphyr::from_str(
            "faults: [corrupt]\ninterval: 1\ncorrupt: {targets: [one, majority, all]}\n",
        )
        .unwrap();
        let mut hit = std::collections::BTreeSet::new();
        for (_, op) in Schedule::from_config(&cfg, &names(), 11).unwrap().take(60) {
            match op {
                FaultOp::Corrupt { nodes, spec } => {
                    assert!(!nodes.is_empty());
                    assert_eq!(spec.files, vec!["**".to_string()]);
                    hit.extend(nodes);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(hit.len(), 2, "a minority of 5 is 2: {hit:?}");
    }

    #[test]
    fn yaml_config_parses_and_rejects_unknown_fields() {
        let cfg: NemesisConfig = serde_saphyr::from_str(
            "faults: [partition, kill, pause, clock, packet]\ninterval: 2\nseed: 9\npartition: {modes: [isolate, majorities-ring]}\nkill: {targets: [one, primaries]}\nclock: {modes: [bump], max-offset-ms: 5000}\npacket: {loss: 0.3, delay-ms: 50, targets: [minority]}\n",
        )
        .unwrap();
        assert_eq!(cfg.faults.len(), 5);
        assert_eq!(cfg.packet.spec().loss, Some(0.3));
        assert_eq!(cfg.packet.spec().delay_ms, Some(50));
        assert_eq!(
            cfg.kill.targets,
            vec![TargetSpec::One, TargetSpec::Primaries]
        );
        let g: NemesisConfig =
            serde_saphyr::from_str("faults: [partition]\npartition:\n  grudge: {n1: [n2, n3]}\n")
                .unwrap();
        assert_eq!(g.partition.grudge.unwrap().0["n1"].len(), 2);
        let bad = serde_saphyr::from_str::<NemesisConfig>("faults: [partition]\nintervall: 3\n");
        assert!(bad.is_err());
        let bad = serde_saphyr::from_str::<NemesisConfig>("faults: [meteor]\n");
        assert!(bad.is_err());
    }

    /// Every bad setting is refused while the YAML is read, with its line
    /// (so before any node is touched), not when the schedule starts.
    #[test]
    fn bad_settings_are_refused_at_parse_time_with_their_line() {
        for (yaml, line, want) in [
            (
                "faults: [partition]\ninterval: 0\n",
                2,
                "from 0.01 to 86400",
            ),
            ("faults: [partition]\ninterval: 1e300\n", 2, "found 1e300"),
            ("faults: [partition]\ninterval: -3\n", 2, "found -3"),
            ("faults: [partition]\ninterval: .nan\n", 2, "found NaN"),
            ("faults: [packet]\npacket:\n  loss: 1.5\n", 3, "a fraction"),
            (
                "faults: [packet]\npacket:\n  duplicate: 150\n",
                3,
                "a percentage",
            ),
            (
                "faults: [packet]\npacket:\n  corrupt: -1\n",
                3,
                "a percentage",
            ),
            (
                "faults: [packet]\npacket:\n  delay-ms: 100000000\n",
                3,
                "up to 60000",
            ),
            (
                "faults: [packet]\npacket:\n  targets: [primaries]\n",
                3,
                "`primaries` is a target of kill",
            ),
            (
                "faults: [packet]\npacket:\n  jitter-ms: 5\n",
                3,
                "jitter-ms needs delay-ms",
            ),
            (
                "faults: [clock]\nclock:\n  max-offset-ms: 0\n",
                3,
                "max-offset-ms: expected 1",
            ),
            (
                "faults: [clock]\nclock:\n  strobe-period-ms: 0\n",
                3,
                "strobe-period-ms",
            ),
            (
                "faults: [clock]\nclock: {targets: [one, primaries]}\n",
                2,
                "`primaries`",
            ),
            (
                "faults: [partition]\npartition:\n  modes: [grudge]\n",
                3,
                "needs a `grudge:`",
            ),
            (
                "faults: [partition]\npartition:\n  grudge: {n1: [n2, n1]}\n",
                3,
                "n1 cannot hold a grudge against itself",
            ),
            (
                "faults: [partition]\npartition:\n  grudge: {n1: []}\n",
                3,
                "no node drops",
            ),
            (
                "faults: [clock]\nclock: {max_offset_ms: 5}\n",
                2,
                "max_offset_ms",
            ),
        ] {
            let e = serde_saphyr::from_str::<NemesisConfig>(yaml)
                .map(|_| ())
                .expect_err(yaml)
                .to_string();
            assert!(e.contains(want), "{yaml:?}: {e}");
            assert!(
                e.contains(&format!("line {line} ")),
                "{yaml:?}: no line {line} in {e}"
            );
        }
    }

    #[test]
    fn validate_checks_the_grudge_against_the_nodes() {
        let cfg: NemesisConfig =
            serde_saphyr::from_str("faults: [partition]\npartition:\n  grudge: {n1: [n9]}\n")
                .unwrap();
        let e = cfg.validate(&names()).unwrap_err();
        assert!(e.starts_with("nemesis.partition.grudge: "), "{e}");
        assert!(e.contains("\"n9\""), "{e}");
        // A config built in code gets the same checks.
        let bad = NemesisConfig {
            interval: f64::INFINITY,
            ..Default::default()
        };
        assert!(bad
            .validate(&names())
            .unwrap_err()
            .starts_with("nemesis.interval"));
        let mut bad = NemesisConfig::default();
        bad.packet.loss = Some(2.0);
        assert!(bad.validate(&names()).unwrap_err().contains("packet: loss"));
        assert!(NemesisConfig::default().validate(&names()).is_ok());
    }

    #[test]
    fn same_seed_same_schedule_and_kinds_compose() {
        let cfg = NemesisConfig {
            faults: vec![
                FaultKind::Partition,
                FaultKind::Kill,
                FaultKind::Pause,
                FaultKind::Clock,
                FaultKind::Packet,
            ],
            interval: 1.0,
            ..Default::default()
        };
        let a: Vec<_> = Schedule::from_config(&cfg, &names(), 5)
            .unwrap()
            .take(200)
            .collect();
        let b: Vec<_> = Schedule::from_config(&cfg, &names(), 5)
            .unwrap()
            .take(200)
            .collect();
        assert_eq!(a, b);
        let c: Vec<_> = Schedule::from_config(&cfg, &names(), 6)
            .unwrap()
            .take(200)
            .collect();
        assert_ne!(a, c);
        // Every kind shows up, starts and stops alternate per kind, and at
        // some point two kinds are active at once.
        let mut active: BTreeMap<&str, bool> = BTreeMap::new();
        let mut overlap = false;
        let mut fs = std::collections::BTreeSet::new();
        for (gap, op) in &a {
            assert!(*gap <= Duration::from_secs_f64(1.5));
            fs.insert(op.f());
            let (kind, start) = match op {
                FaultOp::StartPartition { .. } => ("p", true),
                FaultOp::StopPartition => ("p", false),
                FaultOp::Kill { .. } => ("k", true),
                FaultOp::Start => ("k", false),
                FaultOp::Pause { .. } => ("s", true),
                FaultOp::Resume => ("s", false),
                FaultOp::StartPacket { .. } => ("n", true),
                FaultOp::StopPacket => ("n", false),
                _ => continue,
            };
            let was = active.insert(kind, start).unwrap_or(false);
            assert_ne!(was, start, "{op:?} twice in a row");
            overlap |= active.values().filter(|v| **v).count() >= 2;
        }
        assert!(overlap);
        for f in [
            "start-partition",
            "stop-partition",
            "kill",
            "start",
            "pause",
            "resume",
            "bump-clock",
            "strobe-clock",
            "reset-clock",
            "check-offsets",
            "start-packet",
            "stop-packet",
        ] {
            assert!(fs.contains(f), "{f} never scheduled");
        }
    }

    #[test]
    fn no_faults_no_ops_and_bad_configs_fail() {
        let cfg = NemesisConfig::default();
        assert!(Schedule::from_config(&cfg, &names(), 1)
            .unwrap()
            .next()
            .is_none());
        let mut bad = NemesisConfig {
            interval: 0.0,
            ..Default::default()
        };
        assert!(Schedule::from_config(&bad, &names(), 1).is_err());
        bad.interval = 1.0;
        bad.partition.modes = vec![PartitionMode::Grudge];
        assert!(Schedule::from_config(&bad, &names(), 1).is_err());
    }

    #[test]
    fn faults_come_and_go_with_healthy_stretches() {
        let cfg: NemesisConfig =
            serde_saphyr::from_str("faults: [partition, kill, pause, clock]\ninterval: 10\n")
                .unwrap();
        for seed in 0..20 {
            let steps: Vec<FaultOp> = Schedule::from_config(&cfg, &names(), seed)
                .unwrap()
                .map(|(_, op)| op)
                .filter(|op| !matches!(op, FaultOp::CheckOffsets))
                .take(200)
                .collect();
            let (mut active, mut most, mut healthy, mut longest) = (0usize, 0usize, 0, 0);
            let mut since_start: Vec<usize> = Vec::new();
            for op in &steps {
                let stops = matches!(
                    op,
                    FaultOp::StopPartition
                        | FaultOp::Start
                        | FaultOp::Resume
                        | FaultOp::ResetClock
                        | FaultOp::StopPacket
                );
                let strobe = matches!(op, FaultOp::StrobeClock { .. });
                if stops {
                    active -= 1;
                    since_start.remove(0);
                } else if !strobe {
                    active += 1;
                    since_start.push(0);
                }
                since_start.iter_mut().for_each(|s| *s += 1);
                longest = longest.max(since_start.iter().copied().max().unwrap_or(0));
                most = most.max(active);
                healthy += usize::from(active == 0);
            }
            assert!(most <= 2, "seed {seed}: {most} faults at once");
            assert!(
                healthy >= 40,
                "seed {seed}: only {healthy} of 200 steps healthy"
            );
            assert!(longest <= 12, "seed {seed}: a fault lasted {longest} steps");
        }
    }

    /// The schedule for a seed, pinned from shakedown before its random
    /// source moved to `rand` (`rand_xoshiro`'s xoshiro256++, the same
    /// generator): `--seed 9` gives the same faults at the same times.
    #[test]
    fn a_seed_gives_the_schedule_it_gave_before_rand() {
        let cfg: NemesisConfig = serde_saphyr::from_str(
            "faults: [partition, kill, pause, clock, packet]\ninterval: 10\n",
        )
        .unwrap();
        let got: Vec<String> = Schedule::from_config(&cfg, &names(), 9)
            .unwrap()
            .take(8)
            .map(|(d, op)| format!("{} {op:?}", d.as_millis()))
            .collect();
        let want = [
            "10990 StartPartition { target: Grudge(Grudge({\"n1\": {\"n2\", \"n4\"}, \"n2\": {\"n1\", \"n5\"}, \"n4\": {\"n1\", \"n5\"}, \"n5\": {\"n2\", \"n4\"}})) }",
            "13171 StopPartition",
            "14540 Kill { targets: Nodes([\"n1\", \"n5\"]) }",
            "9241 StartPacket { nodes: [\"n1\", \"n2\", \"n3\", \"n4\", \"n5\"], spec: PacketSpec { loss: Some(0.2), delay_ms: None, jitter_ms: None, duplicate: None, reorder: None, corrupt: None } }",
            "9568 Start",
            "13455 StopPacket",
            "12817 StartPartition { target: Grudge(Grudge({\"n2\": {\"n4\", \"n5\"}, \"n3\": {\"n4\", \"n5\"}, \"n4\": {\"n2\", \"n3\"}, \"n5\": {\"n2\", \"n3\"}})) }",
            "14859 StopPartition",
        ];
        assert_eq!(got, want);
    }
}
