//! Host key verification.
//!
//! Pinned keys (a node's `host-keys`) always win: if a node has any, the
//! server must present one of them, whatever the mode. Otherwise the mode
//! decides. A key that differs from the recorded one is refused in every
//! mode except `accept-any`, with both fingerprints in the message.

use russh::keys::{HashAlg, PublicKey};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How a node's host key is checked (a node's pinned `host-keys` always win).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum HostKeyCheck {
    /// The key must be in the known_hosts file (default).
    #[default]
    KnownHosts,
    /// Every node must have pinned `host-keys`.
    Pinned,
    /// Accept and record an unknown host's key in known_hosts; refuse a
    /// changed one.
    TrustOnFirstUse,
    /// Accept any key (logs a warning per connection). Opt-in only.
    AcceptAny,
}

pub(crate) fn fingerprint(key: &PublicKey) -> String {
    format!("{} {}", key.algorithm(), key.fingerprint(HashAlg::Sha256))
}

/// Decide whether `key` is acceptable for `host:port`. `Err` is the reason
/// it is refused, one line.
pub(crate) fn verify(
    mode: HostKeyCheck,
    known_hosts: &Path,
    pinned: &[String],
    host: &str,
    port: u16,
    key: &PublicKey,
) -> Result<(), String> {
    if !pinned.is_empty() {
        let mut parsed = Vec::new();
        for p in pinned {
            let k = PublicKey::from_openssh(p.trim()).map_err(|e| {
                format!("pinned host key {:?} is not a public key: {e}", shorten(p))
            })?;
            parsed.push(k);
        }
        if parsed.iter().any(|k| k.key_data() == key.key_data()) {
            return Ok(());
        }
        let expected: Vec<String> = parsed.iter().map(fingerprint).collect();
        return Err(format!(
            "it presented {} but the pinned key is {}; refusing to connect (the host was reinstalled, or someone is intercepting the connection)",
            fingerprint(key),
            expected.join(" or ")
        ));
    }
    match mode {
        HostKeyCheck::AcceptAny => {
            tracing::warn!(
                "accepting host key {} of {host}:{port} without verification (host-key-check: accept-any)",
                fingerprint(key)
            );
            Ok(())
        }
        HostKeyCheck::Pinned => Err(format!(
            "no pinned host key for this node (host-key-check: pinned); it presented {}",
            fingerprint(key)
        )),
        HostKeyCheck::KnownHosts | HostKeyCheck::TrustOnFirstUse => {
            match russh::keys::check_known_hosts_path(host, port, key, known_hosts) {
                Ok(true) => Ok(()),
                Ok(false) if mode == HostKeyCheck::TrustOnFirstUse => {
                    russh::keys::known_hosts::learn_known_hosts_path(host, port, key, known_hosts)
                        .map_err(|e| format!("cannot record it in {}: {e}", known_hosts.display()))?;
                    tracing::info!(
                        "trusting {host}:{port} on first use: {} (recorded in {})",
                        fingerprint(key),
                        known_hosts.display()
                    );
                    Ok(())
                }
                Ok(false) => Err(format!(
                    "{} is not in {}; add it (ssh-keyscan), pin it in the node's host-keys, or use host-key-check: trust-on-first-use",
                    fingerprint(key),
                    known_hosts.display()
                )),
                Err(russh::keys::Error::KeyChanged { line }) => Err(format!(
                    "HOST KEY CHANGED: it presented {} but {} line {line} records a different key; refusing to connect (remove that line if the host was reinstalled)",
                    fingerprint(key),
                    known_hosts.display()
                )),
                Err(e) => Err(format!("cannot check {}: {e}", known_hosts.display())),
            }
        }
    }
}

fn shorten(s: &str) -> String {
    s.chars().take(40).collect()
}
