//! The YAML test file `shakedown run` reads, and the command-line flags
//! that override it.
//!
//! ```yaml
//! name: etcd-register
//! target: etcd
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

use harness::control::{Node, SshConfig};
use nemesis::schedule::NemesisConfig;
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};
use std::time::Duration;
use targets::TargetSpec;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TestFile {
    pub name: String,
    /// The database under test: `etcd`, or a map with `name` and settings.
    #[serde(deserialize_with = "TargetSpec::deserialize_either")]
    pub target: TargetSpec,
    /// A local cluster of network-namespace nodes on this machine.
    #[serde(default)]
    pub cluster: Option<LocalClusterSpec>,
    /// Real machines (with `ssh`), when there is no `cluster`.
    #[serde(default)]
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub ssh: Option<SshConfig>,
    pub workload: workloads::Workload,
    #[serde(default = "defaults::concurrency")]
    pub concurrency: usize,
    /// Total ops/s over all clients; absent: as fast as the clients go.
    #[serde(default)]
    pub rate: Option<f64>,
    #[serde(default = "defaults::time_limit", deserialize_with = "duration")]
    pub time_limit: Duration,
    /// An operation without an answer after this is recorded as `info`.
    #[serde(default = "defaults::op_timeout", deserialize_with = "duration")]
    pub op_timeout: Duration,
    /// How long the cluster gets to recover after healing, before final reads.
    #[serde(default = "defaults::recovery_time", deserialize_with = "duration")]
    pub recovery_time: Duration,
    #[serde(default)]
    pub nemesis: NemesisConfig,
    /// Seeds the generator and the nemesis schedule; random when absent.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Leave the database running after the test (for poking at it).
    #[serde(default)]
    pub leave_running: bool,
    /// Where run directories go (default `results`).
    #[serde(default)]
    pub results: Option<PathBuf>,
    /// The directory of the test file: the target's relative paths
    /// (files to copy, the client program) are relative to it.
    #[serde(skip)]
    pub dir: PathBuf,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LocalClusterSpec {
    /// Number of nodes.
    pub local: usize,
    /// The cluster's name (several can coexist); default `local`.
    #[serde(default)]
    pub name: Option<String>,
    /// The /24 its nodes live on (default 10.77.0.0); pick another when
    /// that one is taken or another cluster uses it.
    #[serde(default)]
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

/// `90`, `90s`, `1.5m`, `500ms`.
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(f64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Secs(s) if s.is_finite() && s >= 0.0 => Ok(Duration::from_secs_f64(s)),
        Raw::Secs(s) => Err(serde::de::Error::custom(format!(
            "expected a non-negative duration, found {s}"
        ))),
        Raw::Text(t) => crate::cmd::check::parse_duration(&t).map_err(serde::de::Error::custom),
    }
}

/// The local cluster `cluster up` builds by default, so a test file and
/// `shakedown cluster status` / `fault` / `heal` agree without a name.
pub const DEFAULT_LOCAL_CLUSTER: &str = harness::control::local::DEFAULT_NAME;

impl TestFile {
    /// Reads and validates a test file; errors name the file, line and column.
    pub fn load(path: &Path) -> Result<(TestFile, String), String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the test file: {e}", path.display()))?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let test =
            TestFile::parse_in(&text, &dir).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((test, text))
    }

    #[cfg(test)]
    pub fn parse(text: &str) -> Result<TestFile, String> {
        TestFile::parse_in(text, Path::new("."))
    }

    /// Parses a test file whose relative paths are relative to `dir`.
    pub fn parse_in(text: &str, dir: &Path) -> Result<TestFile, String> {
        let mut test: TestFile = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        test.dir = dir.to_path_buf();
        test.validate()?;
        Ok(test)
    }

    /// Checks what types cannot: one way to reach the nodes, sane numbers.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.cluster, self.nodes.is_empty()) {
            (Some(_), false) => {
                return Err("both `cluster` and `nodes` are set: use `cluster: {local: N}` for a local cluster or `nodes` (with `ssh`) for real machines".into())
            }
            (None, true) => {
                return Err("no nodes: add `cluster: {local: 5}` for a local cluster, or `nodes` (with `ssh`) for real machines".into())
            }
            (Some(c), true) if c.local == 0 || c.local > 64 => {
                return Err(format!("cluster.local: expected 1 to 64 nodes, found {}", c.local))
            }
            _ => {}
        }
        if self.concurrency == 0 {
            return Err("concurrency: expected at least 1 client".into());
        }
        if let Some(rate) = self.rate {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(format!(
                    "rate: expected a positive number of ops/s, found {rate}"
                ));
            }
        }
        self.workload
            .validate()
            .map_err(|e| format!("workload: {e}"))?;
        self.target.validate(&self.dir)?;
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

    const GOOD: &str = "\
name: etcd-register
target: etcd
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
        assert_eq!(t.name, "etcd-register");
        assert_eq!(t.target.name(), "etcd");
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
        let e = TestFile::parse(&GOOD.replace("target: etcd", "target: mongo")).unwrap_err();
        assert!(e.contains("mongo"), "{e}");
        let e = TestFile::parse(&GOOD.replace("  local: 5\n", "  local: 0\n")).unwrap_err();
        assert!(e.contains("cluster.local"), "{e}");
        let e = TestFile::parse(&GOOD.replace("cluster:\n  local: 5\n", "")).unwrap_err();
        assert!(e.contains("no nodes"), "{e}");
    }
}
