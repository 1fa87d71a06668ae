//! The YAML test file `shakedown run` reads, and the command-line flags
//! that override it.
//!
//! ```yaml
//! name: register-test
//! target:               # a built-in target by name, or a described process
//!   name: process
//!   start: mydb --listen {host}
//!   client: {command: [/bin/cat]}
//! cluster:
//!   local: 5            # build (or reuse) a 5-node local cluster
//! workload:
//!   name: register
//!   keys: 10
//! concurrency: 10
//! rate: 200             # ops/s over all clients; absent: as fast as they go
//! time-limit: 60s
//! nemesis:
//!   faults: [partition, kill, pause, clock]
//!   interval: 10
//! ```
//!
//! Real machines instead of `cluster:`: `nodes: [{name: n1, host: 10.0.0.1}, ...]`
//! and `ssh: {user: admin, auth: {method: key, path: ~/.ssh/id_ed25519}}`.
//! Unknown or mistyped keys are errors naming the line and column.
//!
//! Numbers are checked while the file is read, each error naming its line,
//! so nothing reaches a node with a setting that cannot work:
//! `time-limit` more than 0 and at most 7 days, `op-timeout` more than 0
//! and at most a day, `recovery-time` at most a day, `rate` from 0.001 to
//! 1,000,000 ops/s, `concurrency` from 1 to 10,000, `cluster.local` from 1
//! to 64 nodes. Command-line overrides get the same checks
//! ([`TestFile::validate`]).

// The one redaction, shared with campaigns (which cannot depend on this
// binary): in `results`, beside what it keeps secrets out of.
pub use results::redact::redact_secrets;

use harness::control::ssh_config::{self, SshConfigFile};
use harness::control::{Node, SshConfig};
use nemesis::schedule::NemesisConfig;
use schemars::JsonSchema;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};
use std::time::Duration;
use targets::TargetSpec;

/// A test file: what `shakedown run` reads. Exactly one of `cluster`
/// (a local cluster) and `nodes` (real machines, with `ssh`).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(example = schema::example_test())]
pub struct TestFile {
    /// The test's name, in the run directory's name and the report.
    #[schemars(example = &"register-test", length(min = 1))]
    pub name: String,
    /// The database under test: a built-in target's name, or a map with
    /// `name` and settings.
    #[serde(deserialize_with = "TargetSpec::deserialize_either")]
    #[schemars(schema_with = "TargetSpec::either_schema")]
    pub target: TargetSpec,
    /// A local cluster of network-namespace nodes on this machine.
    #[serde(default)]
    #[schemars(with = "LocalClusterSpec")]
    pub cluster: Option<LocalClusterSpec>,
    /// Real machines (with `ssh`), when there is no `cluster`.
    #[serde(default, deserialize_with = "node_list")]
    pub nodes: Vec<Node>,
    /// How to reach the `nodes` over SSH.
    #[serde(default)]
    #[schemars(with = "SshConfig", default = "schema::empty_section")]
    pub ssh: Option<SshConfig>,
    /// What the clients do, and how the history is checked.
    pub workload: workloads::Workload,
    /// Client workers, each with its own connection.
    #[serde(default = "defaults::concurrency", deserialize_with = "concurrency")]
    #[schemars(range(min = 1, max = 10_000))]
    pub concurrency: usize,
    /// Total ops/s over all clients.
    #[serde(default, deserialize_with = "rate")]
    #[schemars(
        with = "f64",
        range(min = 0.001, max = 1_000_000.0),
        extend("x-default" = "none: as fast as the clients go")
    )]
    pub rate: Option<f64>,
    /// How long the clients run under the nemesis.
    #[serde(default = "defaults::time_limit", deserialize_with = "time_limit")]
    #[schemars(
        schema_with = "schema::time_limit",
        default = "schema::time_limit_default"
    )]
    pub time_limit: Duration,
    /// An operation without an answer after this is recorded as `info`
    /// (its outcome unknown), and the worker moves on with a new
    /// connection.
    #[serde(default = "defaults::op_timeout", deserialize_with = "op_timeout")]
    #[schemars(
        schema_with = "schema::op_timeout",
        default = "schema::op_timeout_default"
    )]
    pub op_timeout: Duration,
    /// How long the cluster gets to recover after healing, before final reads.
    #[serde(
        default = "defaults::recovery_time",
        deserialize_with = "recovery_time"
    )]
    #[schemars(
        schema_with = "schema::recovery_time",
        default = "schema::recovery_time_default"
    )]
    pub recovery_time: Duration,
    /// The faults, how often, and their settings; none by default.
    #[serde(default)]
    #[schemars(default = "schema::empty_section")]
    pub nemesis: NemesisConfig,
    /// Seeds the generator and the nemesis schedule (`--seed` and
    /// `--replay` repeat a run).
    #[serde(default)]
    #[schemars(with = "u64", extend("x-default" = "random, printed and recorded"))]
    pub seed: Option<u64>,
    /// Leave the database running after the test (for poking at it).
    #[serde(default)]
    pub leave_running: bool,
    /// `invalid`: the first anomaly the online checkers find ends the main
    /// phase (faults healed, final reads, teardown and the offline check
    /// as usual). `--stop-on-invalid` sets it. Default: run to the time
    /// limit.
    #[serde(default)]
    #[schemars(with = "StopOn", example = &"invalid")]
    pub stop_on: Option<StopOn>,
    /// Where run directories go, relative to the working directory.
    #[serde(default)]
    #[schemars(with = "PathBuf", extend("default" = "results"))]
    pub results: Option<PathBuf>,
    /// The directory of the test file: the target's relative paths
    /// (files to copy, the client program) are relative to it.
    #[serde(skip)]
    pub dir: PathBuf,
}

/// When a run ends before its time limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StopOn {
    /// At the first anomaly the online checkers find.
    Invalid,
}

/// `cluster:`: a local cluster of network-namespace nodes `n1`..`nN` on
/// this machine, built (or reused) by `shakedown run` as by `shakedown
/// cluster up`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(example = serde_json::json!({"local": 3, "name": "mytest", "subnet": "10.77.40.0"}))]
pub struct LocalClusterSpec {
    /// Number of nodes.
    #[serde(deserialize_with = "local_nodes")]
    #[schemars(range(min = 1, max = 64), example = 5)]
    pub local: usize,
    /// The cluster's name (several can coexist).
    #[serde(default)]
    #[schemars(with = "String", extend("default" = "local"))]
    pub name: Option<String>,
    /// The /24 its nodes live on; pick another when that one is taken or
    /// another cluster uses it.
    #[serde(default)]
    #[schemars(with = "std::net::Ipv4Addr", extend("default" = "10.77.0.0"))]
    pub subnet: Option<std::net::Ipv4Addr>,
}

mod defaults {
    use std::time::Duration;
    pub fn concurrency() -> usize {
        10
    }
    pub fn time_limit() -> Duration {
        Duration::from_secs(60)
    }
    pub fn op_timeout() -> Duration {
        Duration::from_secs(5)
    }
    pub fn recovery_time() -> Duration {
        Duration::from_secs(10)
    }
}

/// The accepted ranges. Upper bounds catch typos (`60000` meaning
/// milliseconds) and keep `Instant + Duration` arithmetic far from overflow.
pub mod limits {
    use std::time::Duration;

    /// A duration's range: whether 0 is allowed, and the most, in words.
    pub struct Span {
        pub zero_ok: bool,
        pub max: Duration,
        pub max_text: &'static str,
    }

    pub const TIME_LIMIT: Span = Span {
        zero_ok: false,
        max: Duration::from_secs(7 * 24 * 3600),
        max_text: "7 days",
    };
    pub const OP_TIMEOUT: Span = Span {
        zero_ok: false,
        max: Duration::from_secs(24 * 3600),
        max_text: "a day",
    };
    pub const RECOVERY_TIME: Span = Span {
        zero_ok: true,
        max: Duration::from_secs(24 * 3600),
        max_text: "a day",
    };
    pub const RATE: (f64, f64) = (0.001, 1_000_000.0);
    pub const CONCURRENCY: (usize, usize) = (1, 10_000);
    pub const LOCAL_NODES: (usize, usize) = (1, 64);
}

/// The schemas of the settings the reader checks by hand, built from the
/// same [`limits`].
pub mod schema {
    use super::limits::{self, Span};
    use schemars::{Schema, SchemaGenerator};

    fn duration(span: Span) -> Schema {
        let range = format!(
            "{} to {}",
            if span.zero_ok { "0" } else { "more than 0" },
            span.max_text
        );
        harness::config::duration_schema(span.zero_ok, span.max.as_secs(), &range)
    }

    pub fn time_limit(_: &mut SchemaGenerator) -> Schema {
        duration(limits::TIME_LIMIT)
    }
    pub fn op_timeout(_: &mut SchemaGenerator) -> Schema {
        duration(limits::OP_TIMEOUT)
    }
    pub fn recovery_time(_: &mut SchemaGenerator) -> Schema {
        duration(limits::RECOVERY_TIME)
    }
    /// A default as the file would write it: `60s`.
    fn text(d: std::time::Duration) -> String {
        format!("{}s", d.as_secs_f64())
    }
    pub fn time_limit_default() -> String {
        text(super::defaults::time_limit())
    }
    pub fn op_timeout_default() -> String {
        text(super::defaults::op_timeout())
    }
    pub fn recovery_time_default() -> String {
        text(super::defaults::recovery_time())
    }
    pub fn empty_section() -> serde_json::Value {
        serde_json::json!({})
    }

    pub fn example_test() -> serde_json::Value {
        serde_json::json!({
            "name": "register-test",
            "target": "etcd",
            "cluster": {"local": 5},
            "workload": {"name": "register", "keys": 10},
            "concurrency": 10,
            "rate": 200,
            "time-limit": "60s",
            "nemesis": {"faults": ["partition", "kill"], "interval": 10},
        })
    }
}

/// `d` within `span`, else what was expected.
fn check_duration(d: Duration, span: limits::Span) -> Result<Duration, String> {
    if (d.is_zero() && !span.zero_ok) || d > span.max {
        return Err(format!(
            "expected {} and at most {} ({} s), found {} s",
            if span.zero_ok {
                "0 or more"
            } else {
                "more than 0"
            },
            span.max_text,
            span.max.as_secs(),
            num(d.as_secs_f64())
        ));
    }
    Ok(d)
}

/// A number as a person reads it: `1e-300`, not 300 zeros.
fn num(v: f64) -> String {
    if v != 0.0 && v.is_finite() && !(1e-3..1e6).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

fn check_rate(r: f64) -> Result<f64, String> {
    let (lo, hi) = limits::RATE;
    if (lo..=hi).contains(&r) {
        Ok(r)
    } else {
        Err(format!(
            "expected ops/s from {lo} to {hi}, found {}",
            num(r)
        ))
    }
}

fn check_count(n: usize, (lo, hi): (usize, usize), what: &str) -> Result<usize, String> {
    if (lo..=hi).contains(&n) {
        Ok(n)
    } else {
        Err(format!("expected {lo} to {hi} {what}, found {n}"))
    }
}

/// `90`, `90s`, `1.5m`, `500ms`, at most a week (harness::config).
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    harness::config::duration(d)
}

fn time_limit<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    check_duration(duration(d)?, limits::TIME_LIMIT).map_err(D::Error::custom)
}

fn op_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    check_duration(duration(d)?, limits::OP_TIMEOUT).map_err(D::Error::custom)
}

fn recovery_time<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    check_duration(duration(d)?, limits::RECOVERY_TIME).map_err(D::Error::custom)
}

fn rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    check_rate(f64::deserialize(d)?)
        .map(Some)
        .map_err(D::Error::custom)
}

fn concurrency<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    check_count(usize::deserialize(d)?, limits::CONCURRENCY, "clients").map_err(D::Error::custom)
}

fn local_nodes<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    check_count(usize::deserialize(d)?, limits::LOCAL_NODES, "nodes").map_err(D::Error::custom)
}

/// The node list, each node's name usable and unique; a duplicate names
/// both lines.
fn node_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Node>, D::Error> {
    let spanned = Vec::<serde_saphyr::Spanned<Node>>::deserialize(d)?;
    let nodes: Vec<Node> = spanned.iter().map(|n| n.value.clone()).collect();
    if let Err(e) = harness::control::validate_nodes(&nodes) {
        let line = |i: usize| spanned[i].referenced.line();
        let first_dup = |n: &Node| nodes.iter().position(|m| m.name == n.name);
        let at = match nodes
            .iter()
            .enumerate()
            .find(|(i, n)| first_dup(n) != Some(*i))
        {
            Some((i, n)) => format!(
                "line {} (the first {:?} is on line {})",
                line(i),
                n.name,
                line(first_dup(n).unwrap_or(0))
            ),
            None => String::new(),
        };
        return Err(D::Error::custom(if at.is_empty() {
            e
        } else {
            format!("{e}: {at}")
        }));
    }
    Ok(nodes)
}

/// Where `nemesis.partition.grudge` is, for an error found once the node
/// names are known.
fn grudge_line(text: &str) -> Option<u64> {
    #[derive(Deserialize)]
    struct File {
        nemesis: Option<Nemesis>,
    }
    #[derive(Deserialize)]
    struct Nemesis {
        partition: Option<Partition>,
    }
    #[derive(Deserialize)]
    struct Partition {
        grudge: Option<serde_saphyr::Spanned<serde::de::IgnoredAny>>,
    }
    let f: File = serde_saphyr::from_str(text).ok()?;
    let line = f.nemesis?.partition?.grudge?.referenced.line();
    (line > 0).then_some(line)
}

/// The local cluster `cluster up` builds by default, so a test file and
/// `shakedown cluster status` / `fault` / `heal` agree without a name.
pub const DEFAULT_LOCAL_CLUSTER: &str = harness::control::local::DEFAULT_NAME;

impl TestFile {
    /// The JSON Schema of a test file (`shakedown schema test`).
    pub fn schema() -> serde_json::Value {
        harness::config::root_schema::<TestFile>("shakedown test file")
    }

    /// Reads and validates a test file; errors name the file, line and column.
    pub fn load(path: &Path) -> Result<(TestFile, String), String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the test file: {e}", path.display()))?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut test =
            TestFile::parse_in(&text, &dir).map_err(|e| format!("{}: {e}", path.display()))?;
        let warnings = test
            .resolve_ssh_config()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        for w in warnings {
            eprintln!("warning: {w}");
        }
        Ok((test, text))
    }

    /// Listed machines: take from `~/.ssh/config` (or `ssh.config-file`)
    /// what the test file leaves open for each node (see
    /// [`harness::control::ssh_config`]). Returns the warnings to show.
    pub fn resolve_ssh_config(&mut self) -> Result<Vec<String>, String> {
        if self.nodes.is_empty() {
            return Ok(Vec::new());
        }
        let ssh = self.ssh.clone().unwrap_or_default();
        let Some(path) = ssh.config_file_path()? else {
            return Ok(Vec::new());
        };
        let file = SshConfigFile::load(&path)?;
        ssh_config::apply(&file, &ssh, &mut self.nodes)
    }

    #[cfg(test)]
    pub fn parse(text: &str) -> Result<TestFile, String> {
        TestFile::parse_in(text, Path::new("."))
    }

    /// Parses a test file whose relative paths are relative to `dir`.
    pub fn parse_in(text: &str, dir: &Path) -> Result<TestFile, String> {
        let mut test: TestFile = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        test.dir = dir.to_path_buf();
        test.validate().map_err(|e| match grudge_line(text) {
            Some(line) if e.starts_with("nemesis.partition.grudge") => format!("line {line}: {e}"),
            _ => e,
        })?;
        Ok(test)
    }

    /// The node names the test will have: `n1`..`nN` on a local cluster,
    /// else the listed nodes'.
    pub fn node_names(&self) -> Vec<String> {
        match &self.cluster {
            Some(c) => (1..=c.local).map(|i| format!("n{i}")).collect(),
            None => self.nodes.iter().map(|n| n.name.clone()).collect(),
        }
    }

    /// Checks what types cannot (one way to reach the nodes, a grudge
    /// naming only those nodes), and again every number, since command-line
    /// flags may have replaced what reading the file checked.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.cluster, self.nodes.is_empty()) {
            (Some(_), false) => {
                return Err("both `cluster` and `nodes` are set: use `cluster: {local: N}` for a local cluster or `nodes` (with `ssh`) for real machines".into())
            }
            (None, true) => {
                return Err("no nodes: add `cluster: {local: 5}` for a local cluster, or `nodes` (with `ssh`) for real machines".into())
            }
            (Some(c), true) => {
                check_count(c.local, limits::LOCAL_NODES, "nodes")
                    .map_err(|e| format!("cluster.local (--nodes): {e}"))?;
            }
            (None, false) => harness::control::validate_nodes(&self.nodes)?,
        }
        check_count(self.concurrency, limits::CONCURRENCY, "clients")
            .map_err(|e| format!("concurrency: {e}"))?;
        if let Some(rate) = self.rate {
            check_rate(rate).map_err(|e| format!("rate: {e}"))?;
        }
        check_duration(self.time_limit, limits::TIME_LIMIT)
            .map_err(|e| format!("time-limit: {e}"))?;
        check_duration(self.op_timeout, limits::OP_TIMEOUT)
            .map_err(|e| format!("op-timeout: {e}"))?;
        check_duration(self.recovery_time, limits::RECOVERY_TIME)
            .map_err(|e| format!("recovery-time: {e}"))?;
        self.nemesis.validate(&self.node_names())?;
        self.workload
            .validate()
            .map_err(|e| format!("workload: {e}"))?;
        self.target.validate(&self.dir, self.node_names().len())?;
        self.target.supports(&self.workload)?;
        Ok(())
    }

    pub fn local_cluster_name(&self) -> Option<String> {
        self.cluster.as_ref().map(|c| {
            c.name
                .clone()
                .unwrap_or_else(|| DEFAULT_LOCAL_CLUSTER.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_secrets_look_the_same_wherever_they_are_redacted() {
        // `replay` finds a stored test file's redacted secrets by the
        // SSH settings' marker; the file's are written by `results`.
        assert_eq!(results::redact::REDACTED, harness::control::REDACTED);
    }

    const GOOD: &str = "\
name: register-test
target: {name: process, start: 'mydb --listen {host}', ready: 'true', client: {command: [/bin/cat]}}
cluster:
  local: 5
workload:
  name: register
  keys: 10
concurrency: 10
rate: 200
time-limit: 60s
nemesis:
  faults: [partition, kill, pause, clock]
  interval: 10
";

    #[test]
    fn a_complete_test_file_parses() {
        let t = TestFile::parse(GOOD).unwrap();
        assert_eq!(t.name, "register-test");
        assert_eq!(t.target.name(), "process");
        assert_eq!(t.cluster.as_ref().unwrap().local, 5);
        assert_eq!(t.time_limit, Duration::from_secs(60));
        assert_eq!(t.rate, Some(200.0));
        assert_eq!(t.workload.name(), "register");
        assert_eq!(t.nemesis.faults.len(), 4);
        assert_eq!(t.local_cluster_name().as_deref(), Some("local"));
    }

    #[test]
    fn a_mistyped_key_is_an_error_with_line_and_column() {
        let bad = GOOD.replace("concurrency: 10", "concurency: 10");
        let e = TestFile::parse(&bad).unwrap_err();
        assert!(e.contains("concurency"), "{e}");
        assert!(e.contains("line 8") || e.contains("8:"), "no line in: {e}");
    }

    #[test]
    fn unknown_keys_inside_sections_are_errors_too() {
        let bad = GOOD.replace("  keys: 10", "  keyz: 10");
        let e = TestFile::parse(&bad).unwrap_err();
        assert!(e.contains("keyz"), "{e}");
        let bad = GOOD.replace("  interval: 10", "  intervall: 10");
        assert!(TestFile::parse(&bad).unwrap_err().contains("intervall"));
    }

    #[test]
    fn bad_values_are_explained() {
        let e = TestFile::parse(&GOOD.replace("60s", "soon")).unwrap_err();
        assert!(e.contains("soon"), "{e}");
        let e = TestFile::parse(&GOOD.replace("target: {name: process, start: 'mydb --listen {host}', ready: 'true', client: {command: [/bin/cat]}}", "target: mongo")).unwrap_err();
        assert!(e.contains("mongo"), "{e}");
        let e = TestFile::parse(&GOOD.replace("  local: 5\n", "  local: 0\n")).unwrap_err();
        assert!(
            e.contains("line 4 ") && e.contains("expected 1 to 64 nodes"),
            "{e}"
        );
        let e = TestFile::parse(&GOOD.replace("cluster:\n  local: 5\n", "")).unwrap_err();
        assert!(e.contains("no nodes"), "{e}");
    }

    /// Parse `GOOD` with `from` replaced by `to`; the error.
    fn refused(from: &str, to: &str) -> String {
        let text = GOOD.replace(from, to);
        assert_ne!(text, GOOD, "{from:?} not in the test file");
        TestFile::parse(&text).map(|_| ()).expect_err(to)
    }

    /// Out-of-range numbers are refused while reading, naming the line;
    /// `1e20` and `1e-300` panicked (exit 101) before.
    #[test]
    fn out_of_range_numbers_are_refused_with_their_line() {
        for (to, line, want) in [
            (
                "time-limit: 0",
                10,
                "expected more than 0 and at most 7 days",
            ),
            ("time-limit: 0s", 10, "more than 0"),
            ("time-limit: 1e20", 10, "at most 604800 s (a week)"),
            ("time-limit: 1e9", 10, "at most 604800 s (a week)"),
            ("time-limit: 200h", 10, "at most 604800 s (a week)"),
            (
                "time-limit: 60s\nop-timeout: 25h",
                11,
                "at most a day (86400 s)",
            ),
            ("time-limit: -5", 10, "non-negative"),
            ("time-limit: .nan", 10, "non-finite"),
            ("time-limit: 60s\nop-timeout: 0", 11, "more than 0"),
            (
                "time-limit: 60s\nop-timeout: 1e20",
                11,
                "at most 604800 s (a week)",
            ),
            ("time-limit: 60s\nop-timeout: 2d", 11, "unknown unit \"d\""),
            (
                "time-limit: 60s\nrecovery-time: 1e300",
                11,
                "at most 604800 s",
            ),
        ] {
            let e = refused("time-limit: 60s", to);
            assert!(e.contains(want), "{to}: {e}");
            assert!(
                e.contains(&format!("line {line} ")),
                "{to}: no line {line}: {e}"
            );
        }
        for (to, want) in [
            (
                "rate: 1e-300",
                "expected ops/s from 0.001 to 1000000, found 1e-300",
            ),
            ("rate: 0", "found 0"),
            ("rate: -1", "found -1"),
            ("rate: .inf", "found inf"),
            ("rate: 1e300", "found 1e300"),
        ] {
            let e = refused("rate: 200", to);
            assert!(e.contains(want) && e.contains("line 9 "), "{to}: {e}");
        }
        for to in ["concurrency: 0", "concurrency: 1000000"] {
            let e = refused("concurrency: 10", to);
            assert!(
                e.contains("expected 1 to 10000 clients") && e.contains("line 8 "),
                "{to}: {e}"
            );
        }
        // In range: parsed as written.
        let t = TestFile::parse(&GOOD.replace(
            "time-limit: 60s",
            "time-limit: 1e3s\nop-timeout: 500ms\nrecovery-time: 0",
        ))
        .unwrap();
        assert_eq!(t.time_limit, Duration::from_secs(1000));
        assert_eq!(t.op_timeout, Duration::from_millis(500));
        assert_eq!(t.recovery_time, Duration::ZERO);
    }

    /// Command-line flags replace parsed values; `validate` checks them
    /// again (`--time-limit 1e9`, `--rate 1e-300`, `--nodes 0`).
    #[test]
    fn overrides_are_checked_like_the_file() {
        let good = TestFile::parse(GOOD).unwrap();
        let mut t = good.clone();
        t.time_limit = Duration::from_secs(8 * 24 * 3600);
        assert!(t.validate().unwrap_err().starts_with("time-limit: "));
        let mut t = good.clone();
        t.rate = Some(1e-300);
        assert!(t.validate().unwrap_err().starts_with("rate: "));
        let mut t = good.clone();
        t.op_timeout = Duration::ZERO;
        assert!(t.validate().unwrap_err().starts_with("op-timeout: "));
        let mut t = good.clone();
        t.cluster.as_mut().unwrap().local = 0;
        assert!(t
            .validate()
            .unwrap_err()
            .starts_with("cluster.local (--nodes): "));
        let mut t = good;
        t.concurrency = 0;
        assert!(t.validate().unwrap_err().starts_with("concurrency: "));
    }

    #[test]
    fn cli_durations_never_panic() {
        use harness::config::parse_duration;
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1e3s").unwrap(), Duration::from_secs(1000));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        for bad in [
            "1e20", "1e20s", "1e300h", "-1s", "nan", "inf", "5d", "", "s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    /// A bad nemesis setting is an error while reading, with its line, not
    /// after the database started on every node.
    #[test]
    fn nemesis_settings_are_checked_before_any_node() {
        let e = refused("  interval: 10", "  interval: 0");
        assert!(
            e.contains("line 13 ") && e.contains("from 0.01 to 86400"),
            "{e}"
        );
        let e = refused("  interval: 10", "  interval: 1e300");
        assert!(e.contains("line 13 ") && e.contains("found 1e300"), "{e}");
        let e = refused("  interval: 10", "  interval: 10\n  packet: {loss: 2}");
        assert!(e.contains("line 14 ") && e.contains("a fraction"), "{e}");
        // The grudge names a node the 5-node local cluster does not have.
        let e = refused(
            "  interval: 10",
            "  interval: 10\n  partition:\n    grudge: {n1: [n2], n9: [n1]}",
        );
        assert!(e.starts_with("line 15: nemesis.partition.grudge: "), "{e}");
        assert!(e.contains("\"n9\""), "{e}");
        let ok = GOOD.replace(
            "  interval: 10",
            "  interval: 10\n  partition:\n    grudge: {n1: [n2, n3]}",
        );
        assert!(TestFile::parse(&ok).is_ok());
    }

    const MACHINES: &str = "\
name: real
target: {name: process, start: 'mydb --listen {host}', ready: 'true', client: {command: [/bin/cat]}}
nodes:
  - {name: n1, host: 10.0.0.1}
  - name: n2
    host: 10.0.0.2
ssh:
  user: admin
  host-key-check: trust-on-first-use
workload: {name: register}
";

    #[test]
    fn ssh_and_node_keys_are_kebab_case_and_checked() {
        let t = TestFile::parse(MACHINES).unwrap();
        assert_eq!(t.nodes.len(), 2);
        assert_eq!(t.ssh.as_ref().unwrap().user, "admin");
        // A snake_case or misspelt key inside `ssh:` or a node is refused,
        // so a pin is never silently dropped.
        for (from, to, key, line) in [
            (
                "    host: 10.0.0.2",
                "    host: 10.0.0.2\n    host_keys: [ssh-ed25519 AAAA]",
                "host_keys",
                7,
            ),
            (
                "{name: n1, host: 10.0.0.1}",
                "{name: n1, host: 10.0.0.1, hostkeys: []}",
                "hostkeys",
                4,
            ),
            (
                "  user: admin",
                "  user: admin\n  sudo_password: {env: PW}",
                "sudo_password",
                9,
            ),
            (
                "  host-key-check: trust-on-first-use",
                "  host_key_check: pinned",
                "host_key_check",
                9,
            ),
            (
                "  user: admin",
                "  user: admin\n  auth: {method: key, path: ~/k, passphrase_env: P}",
                "passphrase_env",
                0,
            ),
        ] {
            let text = MACHINES.replace(from, to);
            assert_ne!(text, MACHINES);
            let e = TestFile::parse(&text).map(|_| ()).expect_err(to);
            assert!(e.contains(key), "{to}: {e}");
            if line > 0 {
                assert!(
                    e.contains(&format!("line {line} ")),
                    "{to}: no line {line}: {e}"
                );
            }
        }
        // Two nodes with one name: both lines named.
        let e = TestFile::parse(&MACHINES.replace("name: n2", "name: n1")).unwrap_err();
        assert!(e.contains("two nodes are named \"n1\""), "{e}");
        assert!(e.contains("line 5 (the first \"n1\" is on line 4)"), "{e}");
        // Numbers inside `ssh:` too.
        let e = TestFile::parse(
            &MACHINES.replace("  user: admin", "  user: admin\n  connect-timeout: 1e20"),
        )
        .unwrap_err();
        assert!(e.contains("line 9 ") && e.contains("at most 86400"), "{e}");
        // Agent authentication.
        let t = TestFile::parse(
            &MACHINES.replace("  user: admin", "  user: admin\n  auth: {method: agent}"),
        )
        .unwrap();
        assert_eq!(t.ssh.unwrap().auth, harness::control::Auth::Agent {});
    }

    #[test]
    fn ssh_config_fills_in_hosts_users_and_keys() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config");
        std::fs::write(dir.path().join("key-ops"), "").unwrap();
        std::fs::write(
            &cfg,
            format!(
                "Host n1-alias\n  HostName 10.0.0.11\n  User ops\n  Port 2200\n  IdentityFile {}/key-%r\n  Compression yes\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let text = format!(
            "name: real\ntarget: {{name: process, start: 'mydb --listen {{host}}', ready: 'true', client: {{command: [/bin/cat]}}}}\nnodes:\n  - {{name: n1, host: n1-alias}}\n  - {{name: n2, host: 10.0.0.2}}\nssh: {{config-file: {}}}\nworkload: {{name: register}}\n",
            cfg.display()
        );
        let mut t = TestFile::parse(&text).unwrap();
        let warnings = t.resolve_ssh_config().unwrap();
        assert_eq!(t.nodes[0].host, "10.0.0.11");
        assert_eq!(t.nodes[0].port, Some(2200));
        assert_eq!(t.nodes[0].user.as_deref(), Some("ops"));
        assert_eq!(
            t.nodes[0].identity_file.as_deref(),
            Some(dir.path().join("key-ops").as_path())
        );
        assert_eq!(t.nodes[1].host, "10.0.0.2");
        assert_eq!(t.nodes[1].user, None);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("line 6: Compression is not read"),
            "{warnings:?}"
        );
        // ProxyJump: an error before any connection.
        std::fs::write(&cfg, "Host *\n  ProxyJump bastion\n").unwrap();
        let mut t = TestFile::parse(&text).unwrap();
        let e = t.resolve_ssh_config().unwrap_err();
        assert!(
            e.contains("line 2: `ProxyJump bastion`") && e.contains("not support"),
            "{e}"
        );
        // `config-file: none` reads none.
        let mut t = TestFile::parse(&text.replace(&cfg.display().to_string(), "none")).unwrap();
        assert!(t.resolve_ssh_config().unwrap().is_empty());
        assert_eq!(t.nodes[0].host, "n1-alias");
    }
}
