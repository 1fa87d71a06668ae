//! Plain data: nodes, SSH settings, secrets. Serializable, so a test file
//! and the local cluster's `nodes.json` share one format.

use super::HostKeyCheck;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Short name used in histories and messages (`n1`).
    pub name: String,
    /// Address or DNS name to connect to.
    pub host: String,
    /// SSH port; the settings' port when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Pinned host keys in `known_hosts` form (`ssh-ed25519 AAAA...`).
    /// When present they are the only keys accepted for this node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_keys: Vec<String>,
    /// A directory the node may use for data (local cluster: per node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
    /// Local cluster only: the network namespace the node lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<String>,
}

impl Node {
    pub fn new(name: impl Into<String>, host: impl Into<String>) -> Node {
        Node {
            name: name.into(),
            host: host.into(),
            port: None,
            host_keys: Vec::new(),
            data_dir: None,
            netns: None,
        }
    }
}

/// A set of nodes and how to reach them: the contents of a nodes file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Nodes {
    /// Cluster name (local clusters), informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub ssh: SshConfig,
    pub nodes: Vec<Node>,
}

impl Nodes {
    pub fn load(path: &Path) -> Result<Nodes, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read nodes file {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("bad nodes file {}: {e}", path.display()))
    }

    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).expect("nodes serialize");
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n")
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| format!("cannot write nodes file {}: {e}", path.display()))
    }

    pub fn names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }
}

/// How to log in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum Auth {
    /// A private key file (ed25519, RSA, ECDSA; OpenSSH or PEM format).
    /// An encrypted key's passphrase comes from the environment variable
    /// `passphrase_env`.
    Key {
        path: PathBuf,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        passphrase_env: Option<String>,
    },
    Password {
        password: Secret,
    },
}

/// A secret: a literal value or the name of an environment variable.
/// `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Secret {
    Env(String),
    Value(String),
}

impl Secret {
    /// The secret's value; a missing environment variable is an error
    /// naming the variable.
    pub fn reveal(&self) -> Result<String, String> {
        match self {
            Secret::Value(v) => Ok(v.clone()),
            Secret::Env(var) => {
                std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))
            }
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Env(v) => write!(f, "Secret::Env({v:?})"),
            Secret::Value(_) => write!(f, "Secret::Value(<redacted>)"),
        }
    }
}

/// SSH settings shared by all nodes. Every field has a default, so `{}`
/// in a test file means: root, port 22, `~/.ssh/id_ed25519`, known_hosts.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct SshConfig {
    pub user: String,
    pub port: u16,
    pub auth: Auth,
    /// Fed to `sudo -S` on stdin when a command runs as another user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sudo_password: Option<Secret>,
    pub host_key_check: HostKeyCheck,
    /// known_hosts file (default `~/.ssh/known_hosts`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<PathBuf>,
    /// TCP connect plus SSH handshake.
    #[serde(with = "secs")]
    pub connect_timeout: Duration,
    #[serde(with = "secs")]
    pub auth_timeout: Duration,
    /// Per command, unless the command sets its own.
    #[serde(with = "secs")]
    pub command_timeout: Duration,
    /// Send a keepalive after this much silence; give up on the connection
    /// after `keepalive_max` unanswered ones.
    #[serde(with = "secs")]
    pub keepalive_interval: Duration,
    pub keepalive_max: usize,
    /// Concurrent channels per connection. Keep below sshd's `MaxSessions`
    /// (default 10).
    pub max_channels: usize,
    /// Reconnect-and-retry attempts for transport failures.
    pub retries: u32,
}

impl Default for SshConfig {
    fn default() -> SshConfig {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| "/root".into());
        SshConfig {
            user: "root".into(),
            port: 22,
            auth: Auth::Key {
                path: home.join(".ssh/id_ed25519"),
                passphrase_env: None,
            },
            sudo_password: None,
            host_key_check: HostKeyCheck::KnownHosts,
            known_hosts: None,
            connect_timeout: Duration::from_secs(5),
            auth_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(300),
            keepalive_interval: Duration::from_secs(5),
            keepalive_max: 3,
            max_channels: 8,
            retries: 2,
        }
    }
}

impl SshConfig {
    pub(crate) fn known_hosts_path(&self) -> PathBuf {
        self.known_hosts.clone().unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| "/root".into());
            home.join(".ssh/known_hosts")
        })
    }
}

/// Durations as (fractional) seconds in config files.
mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_round_trip_and_defaults() {
        let text = r#"{"ssh": {"user": "admin", "connect_timeout": 2.5,
            "auth": {"method": "password", "password": {"env": "PW"}}},
            "nodes": [{"name": "n1", "host": "10.0.0.1"}]}"#;
        let n: Nodes = serde_json::from_str(text).unwrap();
        assert_eq!(n.ssh.user, "admin");
        assert_eq!(n.ssh.port, 22);
        assert_eq!(n.ssh.connect_timeout, Duration::from_millis(2500));
        assert_eq!(n.ssh.max_channels, 8);
        assert_eq!(
            n.ssh.auth,
            Auth::Password {
                password: Secret::Env("PW".into())
            }
        );
        let back: Nodes = serde_json::from_str(&serde_json::to_string(&n).unwrap()).unwrap();
        assert_eq!(back.nodes, n.nodes);
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let s = Secret::Value("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
