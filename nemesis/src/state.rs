//! What is active right now, persisted after every change so that
//! `shakedown heal` can undo it after a controller crash.

use crate::clock::ClockMode;
use crate::net::PacketSpec;
use crate::process::ProcessHooks;
use crate::{Error, Grudge, Result};
use harness::control::Nodes;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Every fault shakedown has in place, and how to reach the nodes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveFaults {
    /// The nodes and SSH settings (so healing needs nothing else).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Nodes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<Grudge>,
    /// Packet faults per node.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub packet: BTreeMap<String, PacketSpec>,
    /// Paused processes per node (resumed by heal).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub paused: BTreeMap<String, ProcessHooks>,
    /// Killed processes per node (restarted by heal).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub killed: BTreeMap<String, ProcessHooks>,
    /// Nodes whose power was cut (database killed, unsynced writes
    /// dropped): restarted by heal.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub powered_off: BTreeMap<String, ProcessHooks>,
    /// Skewed clocks per node.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clock: BTreeMap<String, ClockSkew>,
}

/// One node's clock offset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSkew {
    pub mode: ClockMode,
    pub offset_ms: i64,
}

impl ActiveFaults {
    pub fn is_empty(&self) -> bool {
        self.partition.is_none()
            && self.packet.is_empty()
            && self.paused.is_empty()
            && self.killed.is_empty()
            && self.powered_off.is_empty()
            && self.clock.values().all(|c| c.offset_ms == 0)
    }

    /// One line for progress displays: `partition n1 x {n2 n3}; paused n2`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(g) = &self.partition {
            parts.push(format!("partition {}", g.summary()));
        }
        if !self.killed.is_empty() {
            parts.push(format!("killed {}", keys(&self.killed)));
        }
        if !self.paused.is_empty() {
            parts.push(format!("paused {}", keys(&self.paused)));
        }
        if !self.powered_off.is_empty() {
            parts.push(format!("power lost {}", keys(&self.powered_off)));
        }
        let skewed: Vec<String> = self
            .clock
            .iter()
            .filter(|(_, c)| c.offset_ms != 0)
            .map(|(n, c)| format!("{n}{:+}ms", c.offset_ms))
            .collect();
        if !skewed.is_empty() {
            parts.push(format!("clock {}", skewed.join(" ")));
        }
        if !self.packet.is_empty() {
            parts.push(format!("packet {}", keys(&self.packet)));
        }
        parts.join("; ")
    }
}

fn keys<V>(m: &BTreeMap<String, V>) -> String {
    m.keys().cloned().collect::<Vec<_>>().join(" ")
}

/// The JSON file the active faults live in.
#[derive(Clone, Debug)]
pub struct StateFile {
    pub path: PathBuf,
}

impl StateFile {
    pub fn new(path: impl Into<PathBuf>) -> StateFile {
        StateFile { path: path.into() }
    }

    /// The state file that goes with a nodes file:
    /// `/var/lib/shakedown/NAME/nodes.json` -> `.../nodes.faults.json`.
    pub fn for_nodes_file(nodes_file: &Path) -> StateFile {
        StateFile::new(nodes_file.with_extension("faults.json"))
    }

    /// `None` when there is no file.
    pub fn load(&self) -> Result<Option<ActiveFaults>> {
        match std::fs::read_to_string(&self.path) {
            Ok(t) => serde_json::from_str(&t)
                .map(Some)
                .map_err(|e| Error(format!("bad fault state file {}: {e}", self.path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error(format!(
                "cannot read fault state file {}: {e}",
                self.path.display()
            ))),
        }
    }

    /// Write atomically (temp file, fsync, rename), mode 0600 (the nodes'
    /// SSH settings are in it).
    pub fn save(&self, state: &ActiveFaults) -> Result<()> {
        let text = serde_json::to_string_pretty(state).expect("state serializes");
        write_private(&self.path, &text)
    }

    pub fn remove(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error(format!(
                "cannot remove fault state file {}: {e}",
                self.path.display()
            ))),
        }
    }
}

/// Writes `text` to `path` atomically (temp file, fsync, rename), mode
/// 0600: the files holding the nodes' SSH settings.
pub(crate) fn write_private(path: &Path, text: &str) -> Result<()> {
    let err = |e: std::io::Error| Error(format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
    }
    let tmp = path.with_extension("json.tmp");
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(err)?;
        f.write_all(text.as_bytes()).map_err(err)?;
        f.write_all(b"\n").map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_summary() {
        let dir = tempfile::tempdir().unwrap();
        let f = StateFile::for_nodes_file(&dir.path().join("nodes.json"));
        assert!(f.path.ends_with("nodes.faults.json"));
        assert!(f.load().unwrap().is_none());
        let mut s = ActiveFaults::default();
        assert!(s.is_empty());
        s.partition = Some(Grudge::isolate(&["n1".into(), "n2".into()], "n1"));
        s.paused
            .insert("n2".into(), ProcessHooks::new("/run/x.pid", "x &"));
        s.clock.insert(
            "n1".into(),
            ClockSkew {
                mode: ClockMode::Shim,
                offset_ms: 5000,
            },
        );
        f.save(&s).unwrap();
        let back = f.load().unwrap().unwrap();
        assert_eq!(back.partition, s.partition);
        assert_eq!(back.paused, s.paused);
        assert_eq!(
            back.summary(),
            "partition n1 x {n2}, n2 x {n1}; paused n2; clock n1+5000ms"
        );
        f.remove().unwrap();
        f.remove().unwrap();
    }
}
