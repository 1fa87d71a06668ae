//! Plain data: nodes, SSH settings, secrets. Serializable, so a test file
//! and the local cluster's `nodes.json` share one format.
//!
//! Keys are kebab-case (`host-keys`, `sudo-password`, `connect-timeout`)
//! and an unknown key is an error, never ignored: a misspelt `host-keys`
//! silently dropping a pinned key would let trust-on-first-use accept a
//! host with the wrong key.

use super::HostKeyCheck;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One machine of the test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Node {
    /// Short name used in histories, messages and file names: letters,
    /// digits, `.`, `_` and `-`, unique among the nodes.
    #[schemars(example = &"n1")]
    pub name: String,
    /// Address or DNS name to connect to (or a `Host` of `~/.ssh/config`,
    /// whose `HostName` then replaces it).
    #[schemars(example = &"10.0.0.1")]
    pub host: String,
    /// SSH port; the settings' port when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u16", example = 22, extend("x-default" = "`ssh.port`"))]
    pub port: Option<u16>,
    /// Log in as this user instead of the settings' `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", example = &"admin", extend("x-default" = "`ssh.user`"))]
    pub user: Option<String>,
    /// Log in with this private key instead of the settings' `auth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "PathBuf", example = &"~/.ssh/n1_ed25519", extend("x-default" = "`ssh.auth`"))]
    pub identity_file: Option<PathBuf>,
    /// Pinned host keys in `known_hosts` form (`ssh-ed25519 AAAA...`).
    /// When present they are the only keys accepted for this node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ"])]
    pub host_keys: Vec<String>,
    /// A directory the node may use for data (local cluster: per node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", example = &"/var/lib/shakedown")]
    pub data_dir: Option<String>,
    /// Local cluster only: the network namespace the node lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", example = &"shakedown-local-n1")]
    pub netns: Option<String>,
}

impl Node {
    pub fn new(name: impl Into<String>, host: impl Into<String>) -> Node {
        Node {
            name: name.into(),
            host: host.into(),
            port: None,
            user: None,
            identity_file: None,
            host_keys: Vec::new(),
            data_dir: None,
            netns: None,
        }
    }
}

/// Checks what types cannot: every node has a usable name (it becomes a
/// directory of the run) and a host, and no two share a name.
pub fn validate_nodes(nodes: &[Node]) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for (i, n) in nodes.iter().enumerate() {
        let ok = !n.name.is_empty()
            && n.name != "."
            && n.name != ".."
            && n.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !ok {
            return Err(format!(
                "nodes[{i}].name: {:?} is not a node name (letters, digits, `.`, `_` and `-`)",
                n.name
            ));
        }
        if n.host.trim().is_empty() {
            return Err(format!("nodes[{i}] ({}): `host` is empty", n.name));
        }
        if !seen.insert(n.name.as_str()) {
            return Err(format!(
                "nodes[{i}]: two nodes are named {:?}; node names must be unique",
                n.name
            ));
        }
    }
    Ok(())
}

/// A set of nodes and how to reach them: the contents of a nodes file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
        let nodes: Nodes = serde_json::from_str(&text).map_err(|e| {
            let hint = if e.to_string().contains("unknown field") {
                " (keys are kebab-case; a local cluster's file written by an older shakedown is rebuilt by `shakedown cluster up`)"
            } else {
                ""
            };
            format!("bad nodes file {}: {e}{hint}", path.display())
        })?;
        validate_nodes(&nodes.nodes)
            .map_err(|e| format!("bad nodes file {}: {e}", path.display()))?;
        Ok(nodes)
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

/// How to log in: `method: key` (with `path`), `password` or `agent`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "method",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case",
    deny_unknown_fields
)]
pub enum Auth {
    /// A private key file (ed25519, RSA, ECDSA; OpenSSH or PEM format;
    /// `~/` is the home directory). An encrypted key's passphrase comes
    /// from the environment variable `passphrase-env`.
    Key {
        /// The private key file.
        #[schemars(example = &"~/.ssh/id_ed25519")]
        path: PathBuf,
        /// The environment variable holding the key's passphrase.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(with = "String", example = &"KEY_PASSPHRASE")]
        passphrase_env: Option<String>,
    },
    /// A password (a secret: `{env: VAR}` or `{value: ...}`).
    Password { password: Secret },
    /// The keys of the running ssh-agent (`SSH_AUTH_SOCK`), tried in turn.
    Agent {},
}

/// A secret: a literal value or the name of an environment variable.
/// Neither `Debug` nor `Serialize` ever shows the value: whatever writes a
/// config (a nodes file, a log line) writes `<redacted>` in its place.
#[derive(Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Secret {
    /// The name of the environment variable holding it.
    #[schemars(example = serde_json::json!({"env": "DB_PASSWORD"}))]
    Env(String),
    /// The value itself (redacted wherever it is written).
    #[schemars(example = serde_json::json!({"value": "hunter2"}))]
    Value(String),
}

/// What a literal secret is replaced with wherever it is written.
pub const REDACTED: &str = "<redacted>";

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
            Secret::Value(_) => write!(f, "Secret::Value({REDACTED})"),
        }
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Secret::Env(v) => s.serialize_newtype_variant("Secret", 0, "env", v),
            Secret::Value(_) => s.serialize_newtype_variant("Secret", 1, "value", REDACTED),
        }
    }
}

/// SSH settings shared by all nodes. Every field has a default, so `{}`
/// in a test file means: root, port 22, `~/.ssh/id_ed25519`, known_hosts,
/// and what `~/.ssh/config` says for each node's host (see
/// [`super::ssh_config`]).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "SshFields", rename_all = "kebab-case")]
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
    /// An ssh_config(5) file to take HostName, User, Port and IdentityFile
    /// from (default `~/.ssh/config` when it exists); `none`: read none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_file: Option<PathBuf>,
    /// TCP connect plus SSH handshake.
    #[serde(serialize_with = "secs::serialize")]
    pub connect_timeout: Duration,
    #[serde(serialize_with = "secs::serialize")]
    pub auth_timeout: Duration,
    /// Per command, unless the command sets its own.
    #[serde(serialize_with = "secs::serialize")]
    pub command_timeout: Duration,
    /// Send a keepalive after this much silence; give up on the connection
    /// after `keepalive_max` unanswered ones.
    #[serde(serialize_with = "secs::serialize")]
    pub keepalive_interval: Duration,
    pub keepalive_max: usize,
    /// Concurrent channels per connection. Keep below sshd's `MaxSessions`
    /// (default 10).
    pub max_channels: usize,
    /// Reconnect-and-retry attempts for transport failures.
    pub retries: u32,
    /// Which of `user`, `port` and `auth` the file set, so that
    /// `~/.ssh/config` fills in only what it left open.
    #[serde(skip)]
    pub given: Given,
}

/// Which settings a test or nodes file gave explicitly (not defaults);
/// all false for settings built in code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Given {
    pub user: bool,
    pub port: bool,
    pub auth: bool,
}

impl Default for SshConfig {
    fn default() -> SshConfig {
        SshConfig {
            user: "root".into(),
            port: 22,
            auth: Auth::Key {
                path: PathBuf::from("~/.ssh/id_ed25519"),
                passphrase_env: None,
            },
            sudo_password: None,
            host_key_check: HostKeyCheck::KnownHosts,
            known_hosts: None,
            config_file: None,
            connect_timeout: Duration::from_secs(5),
            auth_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(300),
            keepalive_interval: Duration::from_secs(5),
            keepalive_max: 3,
            max_channels: 8,
            retries: 2,
            given: Given::default(),
        }
    }
}

impl SshConfig {
    /// The known_hosts file, `~` expanded.
    pub(crate) fn known_hosts_path(&self) -> Result<PathBuf, String> {
        match &self.known_hosts {
            Some(p) => expand_home(p).map_err(|e| format!("ssh.known-hosts: {e}")),
            None => Ok(home_dir().join(".ssh/known_hosts")),
        }
    }

    /// The ssh_config(5) file to read, if any: `config-file`, else
    /// `~/.ssh/config` when it exists; `config-file: none` reads none.
    pub fn config_file_path(&self) -> Result<Option<PathBuf>, String> {
        match &self.config_file {
            Some(p) if p.as_os_str() == "none" => Ok(None),
            Some(p) => expand_home(p)
                .map(Some)
                .map_err(|e| format!("ssh.config-file: {e}")),
            None => {
                let p = home_dir().join(".ssh/config");
                Ok(p.exists().then_some(p))
            }
        }
    }
}

/// The home directory (`$HOME`, else `/root`).
pub fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| "/root".into())
}

/// `~` and `~/...` are the home directory; other paths are returned as
/// they are. `~user/...` is refused (only the own home is known).
pub fn expand_home(path: &Path) -> Result<PathBuf, String> {
    let Some(s) = path.to_str() else {
        return Ok(path.to_path_buf());
    };
    if s == "~" {
        return Ok(home_dir());
    }
    if let Some(rest) = s.strip_prefix("~/") {
        return Ok(home_dir().join(rest));
    }
    if s.starts_with('~') {
        return Err(format!(
            "{s:?}: only `~/` (your own home directory) is expanded, not `~user`"
        ));
    }
    Ok(path.to_path_buf())
}

/// Upper bound of every SSH timeout: a day. Longer is a typo, and
/// `Instant + Duration` arithmetic must not overflow.
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// The SSH settings as written, every key optional. Converted into
/// [`SshConfig`] (defaults filled in, numbers checked), remembering which
/// keys were given.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(
    description = "SSH settings shared by all nodes; every key has a default, and what the test file leaves open is taken from `~/.ssh/config` for each node's host."
)]
struct SshFields {
    /// The user to log in as.
    #[serde(default)]
    #[schemars(with = "String", extend("default" = "root"), length(min = 1))]
    user: Option<String>,
    /// The SSH port.
    #[serde(default)]
    #[schemars(with = "u16", extend("default" = 22), range(min = 1))]
    port: Option<u16>,
    /// How to log in.
    #[serde(default)]
    #[schemars(with = "Auth", extend("default" = {"method": "key", "path": "~/.ssh/id_ed25519"}))]
    auth: Option<Auth>,
    /// Fed to `sudo -S` on stdin when a command runs as another user.
    #[serde(default)]
    #[schemars(with = "Secret")]
    sudo_password: Option<Secret>,
    /// How host keys are checked.
    #[serde(default)]
    #[schemars(with = "HostKeyCheck", extend("default" = "known-hosts"))]
    host_key_check: Option<HostKeyCheck>,
    /// The known_hosts file.
    #[serde(default)]
    #[schemars(with = "PathBuf", extend("default" = "~/.ssh/known_hosts"))]
    known_hosts: Option<PathBuf>,
    /// An ssh_config(5) file to take HostName, User, Port and IdentityFile
    /// from; `none`: read none.
    #[serde(default)]
    #[schemars(
        with = "PathBuf",
        example = &"~/.ssh/config.shakedown",
        extend("x-default" = "`~/.ssh/config`, when it exists")
    )]
    config_file: Option<PathBuf>,
    /// Seconds for the TCP connect plus the SSH handshake.
    #[serde(default, deserialize_with = "opt_secs::deserialize")]
    #[schemars(with = "f64", extend("default" = 5), range(max = 86400.0), extend("exclusiveMinimum" = 0))]
    connect_timeout: Option<Duration>,
    /// Seconds for authentication.
    #[serde(default, deserialize_with = "opt_secs::deserialize")]
    #[schemars(with = "f64", extend("default" = 5), range(max = 86400.0), extend("exclusiveMinimum" = 0))]
    auth_timeout: Option<Duration>,
    /// Seconds per command, unless the command sets its own.
    #[serde(default, deserialize_with = "opt_secs::deserialize")]
    #[schemars(with = "f64", extend("default" = 300), range(max = 86400.0), extend("exclusiveMinimum" = 0))]
    command_timeout: Option<Duration>,
    /// Send a keepalive after this many seconds of silence.
    #[serde(default, deserialize_with = "opt_secs::deserialize")]
    #[schemars(with = "f64", extend("default" = 5), range(max = 86400.0), extend("exclusiveMinimum" = 0))]
    keepalive_interval: Option<Duration>,
    /// Give up on a connection after this many unanswered keepalives.
    #[serde(default)]
    #[schemars(extend("default" = 3), range(min = 1, max = 1000))]
    keepalive_max: Option<usize>,
    /// Concurrent channels per connection; keep below sshd's `MaxSessions`
    /// (default 10).
    #[serde(default)]
    #[schemars(extend("default" = 8), range(min = 1, max = 1000))]
    max_channels: Option<usize>,
    /// Reconnect-and-retry attempts for transport failures.
    #[serde(default)]
    #[schemars(extend("default" = 2), range(max = 100))]
    retries: Option<u32>,
}

impl TryFrom<SshFields> for SshConfig {
    type Error = String;

    fn try_from(f: SshFields) -> Result<SshConfig, String> {
        let d = SshConfig::default();
        let in_range = |name: &str, v: usize, lo: usize, hi: usize| {
            if (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(format!("ssh.{name}: expected {lo} to {hi}, found {v}"))
            }
        };
        if f.port == Some(0) {
            return Err("ssh.port: expected 1 to 65535, found 0".into());
        }
        if f.user.as_deref().is_some_and(|u| u.trim().is_empty()) {
            return Err("ssh.user: is empty".into());
        }
        Ok(SshConfig {
            given: Given {
                user: f.user.is_some(),
                port: f.port.is_some(),
                auth: f.auth.is_some(),
            },
            user: f.user.unwrap_or(d.user),
            port: f.port.unwrap_or(d.port),
            auth: f.auth.unwrap_or(d.auth),
            sudo_password: f.sudo_password,
            host_key_check: f.host_key_check.unwrap_or(d.host_key_check),
            known_hosts: f.known_hosts,
            config_file: f.config_file,
            connect_timeout: f.connect_timeout.unwrap_or(d.connect_timeout),
            auth_timeout: f.auth_timeout.unwrap_or(d.auth_timeout),
            command_timeout: f.command_timeout.unwrap_or(d.command_timeout),
            keepalive_interval: f.keepalive_interval.unwrap_or(d.keepalive_interval),
            keepalive_max: in_range(
                "keepalive-max",
                f.keepalive_max.unwrap_or(d.keepalive_max),
                1,
                1000,
            )?,
            max_channels: in_range(
                "max-channels",
                f.max_channels.unwrap_or(d.max_channels),
                1,
                1000,
            )?,
            retries: in_range("retries", f.retries.unwrap_or(d.retries) as usize, 0, 100)? as u32,
        })
    }
}

/// Durations as (fractional) seconds in config files: more than 0, at most
/// a day.
mod secs {
    use super::MAX_TIMEOUT_SECS;
    use serde::Serializer;
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn check(v: f64) -> Result<Duration, String> {
        if !(v > 0.0 && v <= MAX_TIMEOUT_SECS) {
            return Err(format!(
                "expected seconds, more than 0 and at most {MAX_TIMEOUT_SECS} (a day), found {v}"
            ));
        }
        Duration::try_from_secs_f64(v).map_err(|e| format!("{v}: {e}"))
    }
}

mod opt_secs {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let v = f64::deserialize(d)?;
        super::secs::check(v)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_round_trip_and_defaults() {
        let text = r#"{"ssh": {"user": "admin", "connect-timeout": 2.5,
            "auth": {"method": "password", "password": {"env": "PW"}}},
            "nodes": [{"name": "n1", "host": "10.0.0.1", "host-keys": ["ssh-ed25519 AAAA"]}]}"#;
        let n: Nodes = serde_json::from_str(text).unwrap();
        assert_eq!(n.ssh.user, "admin");
        assert_eq!(n.ssh.port, 22);
        assert_eq!(n.ssh.connect_timeout, Duration::from_millis(2500));
        assert_eq!(n.ssh.max_channels, 8);
        assert_eq!(n.nodes[0].host_keys.len(), 1);
        assert_eq!(
            n.ssh.auth,
            Auth::Password {
                password: Secret::Env("PW".into())
            }
        );
        assert_eq!(
            n.ssh.given,
            Given {
                user: true,
                port: false,
                auth: true
            }
        );
        let back: Nodes = serde_json::from_str(&serde_json::to_string(&n).unwrap()).unwrap();
        assert_eq!(back.nodes, n.nodes);
        assert_eq!(back.ssh.connect_timeout, n.ssh.connect_timeout);
        assert_eq!(back.ssh.auth, n.ssh.auth);
    }

    /// What `cluster up` writes (every field of the settings, kebab-case)
    /// is read back as it was.
    #[test]
    fn a_written_nodes_file_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nodes.json");
        let mut node = Node::new("n1", "10.77.145.1");
        node.host_keys = vec!["ssh-ed25519 AAAAC3Nza n1@x".into()];
        node.data_dir = Some("/var/lib/x/n1".into());
        node.netns = Some("shk-cfg1-n1".into());
        let nodes = Nodes {
            name: Some("cfg1".into()),
            ssh: SshConfig {
                auth: Auth::Key {
                    path: "/var/lib/x/id_ed25519".into(),
                    passphrase_env: None,
                },
                host_key_check: HostKeyCheck::Pinned,
                known_hosts: Some("/var/lib/x/known_hosts".into()),
                ..SshConfig::default()
            },
            nodes: vec![node],
        };
        nodes.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"host-keys\""), "{text}");
        assert!(text.contains("\"host-key-check\": \"pinned\""), "{text}");
        fn keys(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => m.iter().for_each(|(k, v)| {
                    out.push(k.clone());
                    keys(v, out)
                }),
                serde_json::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        keys(&serde_json::from_str(&text).unwrap(), &mut all);
        assert!(
            all.iter().all(|k| !k.contains('_')),
            "snake_case key in {all:?}"
        );
        let back = Nodes::load(&path).unwrap();
        assert_eq!(back.nodes, nodes.nodes);
        assert_eq!(back.ssh.host_key_check, HostKeyCheck::Pinned);
        assert_eq!(back.ssh.auth, nodes.ssh.auth);
        assert_eq!(back.ssh.known_hosts, nodes.ssh.known_hosts);
    }

    #[test]
    fn unknown_and_snake_case_keys_are_refused_everywhere() {
        let node = |extra: &str| format!(r#"{{"nodes": [{{"name": "n1", "host": "h"{extra}}}]}}"#);
        for (text, key) in [
            (node(r#", "host_keys": ["ssh-ed25519 AAAA"]"#), "host_keys"),
            (node(r#", "hostkeys": []"#), "hostkeys"),
            (
                r#"{"ssh": {"host_key_check": "pinned"}, "nodes": []}"#.to_string(),
                "host_key_check",
            ),
            (
                r#"{"ssh": {"sudo_password": {"env": "X"}}, "nodes": []}"#.to_string(),
                "sudo_password",
            ),
            (
                r#"{"ssh": {"auth": {"method": "key", "path": "/k", "passphrase_env": "P"}}, "nodes": []}"#
                    .to_string(),
                "passphrase_env",
            ),
            (
                r#"{"ssh": {"auth": {"method": "agent", "socket": "/s"}}, "nodes": []}"#.to_string(),
                "socket",
            ),
            (
                r#"{"ssh": {"sudo-password": {"value": "x", "env": "Y"}}, "nodes": []}"#
                    .to_string(),
                "",
            ),
            (r#"{"nodes": [], "sssh": {}}"#.to_string(), "sssh"),
        ] {
            let e = serde_json::from_str::<Nodes>(&text)
                .map(|_| ())
                .expect_err(&text)
                .to_string();
            assert!(e.contains(key), "{text}: {e}");
        }
        let ok: Nodes = serde_json::from_str(
            r#"{"ssh": {"host-key-check": "trust-on-first-use", "auth": {"method": "agent"},
                "sudo-password": {"value": "pw"}, "keepalive-max": 2},
                "nodes": [{"name": "n1", "host": "h", "host-keys": [], "identity-file": "~/.ssh/k", "user": "u"}]}"#,
        )
        .unwrap();
        assert_eq!(ok.ssh.host_key_check, HostKeyCheck::TrustOnFirstUse);
        assert_eq!(ok.ssh.auth, Auth::Agent {});
        assert_eq!(ok.nodes[0].user.as_deref(), Some("u"));
    }

    #[test]
    fn bad_numbers_are_refused_with_the_field() {
        for (ssh, field) in [
            (r#"{"connect-timeout": 0}"#, "expected seconds"),
            (r#"{"command-timeout": 1e20}"#, "expected seconds"),
            (r#"{"auth-timeout": -1}"#, "expected seconds"),
            (r#"{"keepalive-interval": 1e300}"#, "expected seconds"),
            (r#"{"max-channels": 0}"#, "ssh.max-channels"),
            (r#"{"keepalive-max": 0}"#, "ssh.keepalive-max"),
            (r#"{"port": 0}"#, "ssh.port"),
            (r#"{"user": ""}"#, "ssh.user"),
        ] {
            let text = format!(r#"{{"ssh": {ssh}, "nodes": []}}"#);
            let e = serde_json::from_str::<Nodes>(&text)
                .map(|_| ())
                .expect_err(ssh)
                .to_string();
            assert!(e.contains(field), "{ssh}: {e}");
        }
    }

    #[test]
    fn duplicate_and_unusable_node_names_are_errors() {
        let n = |name: &str| Node::new(name, "10.0.0.1");
        assert!(validate_nodes(&[n("n1"), n("n2")]).is_ok());
        let e = validate_nodes(&[n("n1"), n("n2"), n("n1")]).unwrap_err();
        assert!(e.contains("nodes[2]") && e.contains("\"n1\""), "{e}");
        for bad in ["", "..", "a/b", "n 1"] {
            let e = validate_nodes(&[n(bad)]).unwrap_err();
            assert!(e.contains("nodes[0].name"), "{bad:?}: {e}");
        }
        let e = validate_nodes(&[Node::new("n1", " ")]).unwrap_err();
        assert!(e.contains("host"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nodes.json");
        std::fs::write(
            &path,
            r#"{"nodes": [{"name": "n1", "host": "a"}, {"name": "n1", "host": "b"}]}"#,
        )
        .unwrap();
        let e = Nodes::load(&path).unwrap_err();
        assert!(e.contains("two nodes are named \"n1\""), "{e}");
    }

    #[test]
    fn secrets_do_not_leak_through_debug_or_serialize() {
        let s = Secret::Value("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
        let ssh = SshConfig {
            auth: Auth::Password {
                password: Secret::Value("hunter2".into()),
            },
            sudo_password: Some(Secret::Value("sudo-hunter3".into())),
            ..SshConfig::default()
        };
        let debug = format!("{ssh:?}");
        let json = serde_json::to_string(&ssh).unwrap();
        for text in [&debug, &json] {
            assert!(!text.contains("hunter"), "{text}");
            assert!(text.contains(REDACTED), "{text}");
        }
        // The name of an environment variable is not a secret.
        let env = serde_json::to_string(&Secret::Env("PW".into())).unwrap();
        assert_eq!(env, r#"{"env":"PW"}"#);
    }

    #[test]
    fn tilde_is_the_home_directory() {
        let home = home_dir();
        assert_eq!(
            expand_home(Path::new("~/.ssh/id")).unwrap(),
            home.join(".ssh/id")
        );
        assert_eq!(expand_home(Path::new("~")).unwrap(), home);
        assert_eq!(
            expand_home(Path::new("/etc/x")).unwrap(),
            PathBuf::from("/etc/x")
        );
        assert_eq!(
            expand_home(Path::new("rel/~x")).unwrap(),
            PathBuf::from("rel/~x")
        );
        assert!(expand_home(Path::new("~bob/.ssh/id"))
            .unwrap_err()
            .contains("~user"));
        let ssh = SshConfig {
            known_hosts: Some("~/kh".into()),
            ..SshConfig::default()
        };
        assert_eq!(ssh.known_hosts_path().unwrap(), home.join("kh"));
    }
}
