//! Network faults: partitions and packet loss with iptables (nftables
//! where iptables is absent), delay / duplication / reordering / corruption
//! with `tc netem` where the kernel has it.
//!
//! Everything shakedown adds lives in its own places, so healing removes
//! exactly that and nothing else:
//!
//! | fault     | iptables                                    | nftables                               |
//! |-----------|---------------------------------------------|----------------------------------------|
//! | partition | chain `SHAKEDOWN`, jumped to from `INPUT`   | chain `partition` in table `inet shakedown` |
//! | loss      | chain `SHAKEDOWN-LOSS`, jumped to from `INPUT` | chain `loss` in table `inet shakedown` |
//! | netem     | root qdisc with handle `5d1c:` on the node's interface |                            |
//!
//! Healing deletes the jumps, flushes and deletes the chains, deletes the
//! `inet shakedown` table, and deletes a root qdisc only if it is a netem
//! qdisc with shakedown's handle. It works on every node whether or not
//! anything was applied, so it is safe to run at any time.
//!
//! The scripts use iptables when it is installed and nftables otherwise;
//! `SHAKEDOWN_FIREWALL=nft` in the node's environment forces nftables
//! (tests use it to exercise that path on machines that have both).
//!
//! Loss applies to all input except loopback and SSH to the node (so the
//! controller keeps control); partitions drop only traffic from the other
//! nodes' addresses (the controller is never cut off).

use crate::{Error, Result};
use harness::control::{quote::q, Cluster, Cmd, Node, Remote};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The iptables chain partitions live in.
pub const CHAIN: &str = "SHAKEDOWN";
/// The iptables chain packet loss lives in.
pub const LOSS_CHAIN: &str = "SHAKEDOWN-LOSS";
/// The nftables table (family `inet`) used where iptables is absent.
pub const NFT_TABLE: &str = "shakedown";
/// The handle of shakedown's netem qdisc (`tc qdisc ... handle 5d1c:`).
pub const NETEM_HANDLE: &str = "5d1c:";
/// What is reported when `tc netem` cannot be used.
pub const NETEM_UNSUPPORTED: &str = "unsupported on this kernel: tc netem not available";

const TIMEOUT: Duration = Duration::from_secs(30);

fn root(script: String) -> Cmd {
    Cmd::new(script).sudo("root").timeout(TIMEOUT)
}

/// The script that makes `node` drop everything from `from` (addresses),
/// replacing any partition it had.
pub fn partition_script(from: &[String]) -> String {
    let mut s = String::from("set -e\nif [ \"${SHAKEDOWN_FIREWALL:-}\" != nft ] && command -v iptables >/dev/null 2>&1; then\n");
    s += &format!(
        "  iptables -w -N {CHAIN} 2>/dev/null || iptables -w -F {CHAIN}\n  iptables -w -C INPUT -j {CHAIN} 2>/dev/null || iptables -w -I INPUT 1 -j {CHAIN}\n"
    );
    for a in from {
        s += &format!("  iptables -w -A {CHAIN} -s {} -j DROP\n", q(a));
    }
    s += "else\n";
    s += &format!(
        "  nft add table inet {NFT_TABLE}\n  nft 'add chain inet {NFT_TABLE} partition {{ type filter hook input priority -10 ; }}'\n  nft flush chain inet {NFT_TABLE} partition\n"
    );
    for a in from {
        s += &format!(
            "  nft add rule inet {NFT_TABLE} partition ip saddr {} drop\n",
            q(a)
        );
    }
    s += "fi\n";
    s
}

/// The script that removes the partition chain (and only it).
pub fn unpartition_script() -> String {
    format!(
        "if command -v iptables >/dev/null 2>&1; then\n  while iptables -w -D INPUT -j {CHAIN} 2>/dev/null; do :; done\n  iptables -w -F {CHAIN} 2>/dev/null; iptables -w -X {CHAIN} 2>/dev/null\nfi\nif command -v nft >/dev/null 2>&1; then nft delete chain inet {NFT_TABLE} partition 2>/dev/null; fi\ntrue\n"
    )
}

/// The script that drops a random fraction `p` of the node's input
/// (loopback and SSH to `ssh_port` exempt), replacing any loss it had.
pub fn loss_script(p: f64, ssh_port: u16) -> String {
    let p = p.clamp(0.0, 1.0);
    let permille = (p * 1000.0).round() as u32;
    format!(
        "set -e\nif [ \"${{SHAKEDOWN_FIREWALL:-}}\" != nft ] && command -v iptables >/dev/null 2>&1; then\n  iptables -w -N {LOSS_CHAIN} 2>/dev/null || iptables -w -F {LOSS_CHAIN}\n  iptables -w -C INPUT -j {LOSS_CHAIN} 2>/dev/null || iptables -w -I INPUT 1 -j {LOSS_CHAIN}\n  iptables -w -A {LOSS_CHAIN} -i lo -j RETURN\n  iptables -w -A {LOSS_CHAIN} -p tcp --dport {ssh_port} -j RETURN\n  iptables -w -A {LOSS_CHAIN} -m statistic --mode random --probability {p} -j DROP\nelse\n  nft add table inet {NFT_TABLE}\n  nft 'add chain inet {NFT_TABLE} loss {{ type filter hook input priority -5 ; }}'\n  nft flush chain inet {NFT_TABLE} loss\n  nft add rule inet {NFT_TABLE} loss iifname lo return\n  nft add rule inet {NFT_TABLE} loss tcp dport {ssh_port} return\n  nft add rule inet {NFT_TABLE} loss numgen random mod 1000 '<' {permille} drop\nfi\n"
    )
}

/// The script that removes the loss chain (and only it).
pub fn unloss_script() -> String {
    format!(
        "if command -v iptables >/dev/null 2>&1; then\n  while iptables -w -D INPUT -j {LOSS_CHAIN} 2>/dev/null; do :; done\n  iptables -w -F {LOSS_CHAIN} 2>/dev/null; iptables -w -X {LOSS_CHAIN} 2>/dev/null\nfi\nif command -v nft >/dev/null 2>&1; then nft delete chain inet {NFT_TABLE} loss 2>/dev/null; fi\ntrue\n"
    )
}

/// Find the interface carrying `addr` (else the default route's), in `$dev`.
fn find_dev(addr: &str) -> String {
    format!(
        "dev=$(ip -o -4 addr show 2>/dev/null | awk -v a={} '{{split($4,x,\"/\"); if (x[1]==a) {{print $2; exit}}}}')\n[ -n \"$dev\" ] || dev=$(ip route show default 2>/dev/null | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p' | head -1)\n[ -n \"$dev\" ] || {{ echo 'no network interface found' >&2; exit 2; }}\n",
        q(addr)
    )
}

/// The script that removes shakedown's netem qdisc from every interface
/// (only a root qdisc that is netem with shakedown's handle).
pub fn unnetem_script() -> String {
    format!(
        "if command -v tc >/dev/null 2>&1; then for d in $(ls /sys/class/net); do tc qdisc show dev \"$d\" 2>/dev/null | grep -q '^qdisc netem {NETEM_HANDLE}' && tc qdisc del dev \"$d\" root 2>/dev/null; done; fi\ntrue\n"
    )
}

/// Everything shakedown may have added to a node's network, removed.
pub fn heal_script() -> String {
    format!(
        "{}{}{}if command -v nft >/dev/null 2>&1; then nft delete table inet {NFT_TABLE} 2>/dev/null; fi\ntrue\n",
        unpartition_script(),
        unloss_script(),
        unnetem_script()
    )
}

/// What shakedown's chains look like on a node now (for tests and
/// `heal` reports): the `iptables -S` lines mentioning them, or the nft table.
pub async fn rules(remote: &Remote) -> Result<String> {
    let out = remote
        .run(root(format!(
            "if command -v iptables >/dev/null 2>&1; then iptables -w -S 2>/dev/null | grep -- {CHAIN}; fi; if command -v nft >/dev/null 2>&1; then nft list table inet {NFT_TABLE} 2>/dev/null; fi; true"
        )))
        .await?;
    Ok(out.stdout_str())
}

/// Install `grudge`-derived drop lists: `drops[node]` = addresses that node
/// drops. Nodes not in `drops` get their partition chain removed. Runs on
/// every node in parallel; an error names the node.
pub async fn apply_partition(
    cluster: &Cluster,
    drops: &BTreeMap<String, Vec<String>>,
) -> Result<()> {
    let names = cluster.names();
    let drops = drops.clone();
    let res = cluster
        .each(&names, move |r| {
            let script = match drops.get(r.name()) {
                Some(from) if !from.is_empty() => partition_script(from),
                _ => unpartition_script(),
            };
            async move { r.run_ok(root(script)).await.map(|_| ()) }
        })
        .await;
    first_error(res)
}

/// Remove the partition chain on every node.
pub async fn heal_partition(cluster: &Cluster) -> Result<()> {
    first_error(cluster.run_all_ok(root(unpartition_script())).await)
}

/// Packet faults: loss by iptables, the rest by netem.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PacketSpec {
    /// Fraction of input packets dropped, 0..1 (iptables `statistic`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// Added delay in ms (netem), with `jitter_ms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<u64>,
    /// Percentages (netem).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reorder: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrupt: Option<f64>,
}

impl PacketSpec {
    /// The netem arguments, if any netem fault is asked for.
    pub fn netem_args(&self) -> Option<String> {
        let mut a = Vec::new();
        if let Some(d) = self.delay_ms {
            a.push(format!("delay {d}ms"));
            if let Some(j) = self.jitter_ms {
                a.push(format!("{j}ms"));
            }
        }
        if let Some(p) = self.duplicate {
            a.push(format!("duplicate {p}%"));
        }
        if let Some(p) = self.reorder {
            if self.delay_ms.is_none() {
                // netem reorders only delayed packets.
                a.push("delay 10ms".into());
            }
            a.push(format!("reorder {p}%"));
        }
        if let Some(p) = self.corrupt {
            a.push(format!("corrupt {p}%"));
        }
        (!a.is_empty()).then(|| a.join(" "))
    }

    pub fn is_empty(&self) -> bool {
        self.loss.is_none() && self.netem_args().is_none()
    }
}

/// Start netem with `args` on the node's interface. `Ok(false)`: netem is
/// not available (the probe is the attempt itself); nothing was changed.
pub async fn apply_netem(remote: &Remote, args: &str) -> Result<bool> {
    let script = format!(
        "{}tc qdisc replace dev \"$dev\" root handle {NETEM_HANDLE} netem {args} 2>&1 || {{ echo NETEM-UNSUPPORTED; exit 0; }}\n",
        find_dev(&remote.node().host)
    );
    let out = remote.run_ok(root(script)).await?;
    Ok(!out.stdout_str().contains("NETEM-UNSUPPORTED"))
}

/// Whether `tc netem` works on this node: adds and removes a no-op netem
/// qdisc on loopback (`lo` of the node's namespace on a local cluster).
pub async fn probe_netem(remote: &Remote) -> Result<bool> {
    let script = format!(
        "command -v tc >/dev/null 2>&1 || {{ echo no; exit 0; }}\nif tc qdisc add dev lo root handle {NETEM_HANDLE} netem delay 0ms 2>/dev/null; then tc qdisc del dev lo root handle {NETEM_HANDLE}; echo yes; else echo no; fi\n"
    );
    Ok(remote.run_ok(root(script)).await?.stdout_str() == "yes")
}

/// Apply loss on the named nodes (each with its own SSH port exempt).
pub async fn apply_loss(cluster: &Cluster, nodes: &[String], p: f64) -> Result<()> {
    let res = cluster
        .each(nodes, move |r| {
            let port = r.node().port.unwrap_or(r.config().port);
            async move { r.run_ok(root(loss_script(p, port))).await.map(|_| ()) }
        })
        .await;
    first_error(res)
}

/// Remove loss and netem on the named nodes.
pub async fn heal_packet(cluster: &Cluster, nodes: &[String]) -> Result<()> {
    let script = format!("{}{}", unloss_script(), unnetem_script());
    let res = cluster
        .each(nodes, move |r| {
            let script = script.clone();
            async move { r.run_ok(root(script)).await.map(|_| ()) }
        })
        .await;
    first_error(res)
}

/// Heal the network of every node of the cluster.
pub async fn heal_all(cluster: &Cluster) -> Result<()> {
    first_error(cluster.run_all_ok(root(heal_script())).await)
}

/// The addresses to drop on each node for `grudge`.
pub fn drop_lists(grudge: &crate::Grudge, nodes: &[Node]) -> Result<BTreeMap<String, Vec<String>>> {
    let addr = |n: &str| {
        nodes
            .iter()
            .find(|x| x.name == n)
            .map(|x| x.host.clone())
            .ok_or_else(|| Error(format!("no node {n:?} in this cluster")))
    };
    let mut out = BTreeMap::new();
    for (n, from) in &grudge.0 {
        addr(n)?;
        let v = from.iter().map(|f| addr(f)).collect::<Result<Vec<_>>>()?;
        out.insert(n.clone(), v);
    }
    Ok(out)
}

pub(crate) fn first_error<T>(res: harness::control::PerNode<T>) -> Result<()> {
    let mut errs = Vec::new();
    for (_, r) in res {
        if let Err(e) = r {
            errs.push(e.to_string());
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(Error(errs.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_touch_only_our_chains() {
        let s = partition_script(&["10.0.0.2".into(), "10.0.0.3".into()]);
        assert!(s.contains("iptables -w -A SHAKEDOWN -s 10.0.0.2 -j DROP"));
        assert!(s.contains("nft add rule inet shakedown partition ip saddr 10.0.0.3 drop"));
        for line in heal_script().lines() {
            if line.contains("iptables -w -") {
                assert!(line.contains("SHAKEDOWN"), "{line}");
            }
        }
        assert!(heal_script().contains("'^qdisc netem 5d1c:'"));
    }

    #[test]
    fn netem_args() {
        let p = PacketSpec {
            delay_ms: Some(100),
            jitter_ms: Some(10),
            duplicate: Some(1.0),
            ..Default::default()
        };
        assert_eq!(p.netem_args().unwrap(), "delay 100ms 10ms duplicate 1%");
        let p = PacketSpec {
            loss: Some(0.3),
            ..Default::default()
        };
        assert!(p.netem_args().is_none());
        assert!(!p.is_empty());
        assert!(loss_script(0.3, 22).contains("--probability 0.3 -j DROP"));
    }
}
