//! Debian node setup: packages (apt-get with retries, waiting for the dpkg
//! lock, skipping what is installed), hostname and `/etc/hosts`.
//!
//! Everything here edits files in place (`cat > file`), never by rename,
//! so it also works on local-cluster nodes whose `/etc/hosts` and
//! `/etc/hostname` are bind mounts of `/etc/netns/<ns>/*`. On local nodes
//! `hostname` changes only the node's UTS namespace. Packages on a local
//! cluster are installed on the host ([`apt_install_here`]): the nodes
//! share its filesystem and have no route to a mirror.

use super::quote::q;
use super::{all_ok, Cluster, Cmd, Error, ErrorKind, Remote};
use std::time::Duration;

/// apt attempts before giving up (network hiccups, mirror syncs).
pub const APT_ATTEMPTS: u32 = 3;

/// A script that installs the missing ones of `pkgs` and prints
/// `already installed` when there is nothing to do. Waits up to 5 minutes
/// for the dpkg lock.
pub fn install_script(pkgs: &[&str]) -> String {
    let list: Vec<String> = pkgs.iter().map(|p| q(p)).collect();
    format!(
        "missing=''\n\
         for p in {list}; do\n\
           dpkg-query -W -f='${{Status}}' \"$p\" 2>/dev/null | grep -q 'install ok installed' || missing=\"$missing $p\"\n\
         done\n\
         if [ -z \"$missing\" ]; then echo 'already installed'; exit 0; fi\n\
         export DEBIAN_FRONTEND=noninteractive\n\
         apt-get -q -o DPkg::Lock::Timeout=300 update &&\n\
         apt-get -q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
         install --no-install-recommends $missing\n",
        list = list.join(" ")
    )
}

/// Install packages on a node (as root, or via sudo root), idempotently,
/// retrying failed apt runs.
pub async fn install(remote: &Remote, pkgs: &[&str]) -> Result<(), Error> {
    if pkgs.is_empty() {
        return Ok(());
    }
    let mut cmd = Cmd::new(install_script(pkgs)).timeout(Duration::from_secs(1200));
    if remote.config().user != "root" {
        cmd = cmd.sudo("root");
    }
    let mut attempt = 1;
    loop {
        match remote.run_ok(cmd.clone()).await {
            Ok(_) => return Ok(()),
            Err(e) if attempt < APT_ATTEMPTS && matches!(e.kind, ErrorKind::Failed { .. }) => {
                tracing::warn!(
                    "{e}; retrying apt (attempt {} of {APT_ATTEMPTS})",
                    attempt + 1
                );
                tokio::time::sleep(Duration::from_secs(2 << attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e.with_command(&format!("apt-get install {}", pkgs.join(" ")))),
        }
    }
}

/// Install packages on this machine (for local clusters), with retries.
pub fn apt_install_here(pkgs: &[&str]) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 1..=APT_ATTEMPTS {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(install_script(pkgs))
            .output()
            .map_err(|e| format!("cannot run sh: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let err = String::from_utf8_lossy(&out.stderr);
        last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_string();
        if attempt < APT_ATTEMPTS {
            std::thread::sleep(Duration::from_secs(2 << attempt));
        }
    }
    Err(format!(
        "apt-get install {} failed after {APT_ATTEMPTS} attempts: {last}",
        pkgs.join(" ")
    ))
}

/// Set the node's hostname (running system and `/etc/hostname`).
pub async fn set_hostname(remote: &Remote, name: &str) -> Result<(), Error> {
    let script = format!(
        "hostname {n} && printf '%s\\n' {n} > /etc/hostname",
        n = q(name)
    );
    remote.run_ok(as_root(remote, script)).await.map(|_| ())
}

/// Replace the shakedown block of `/etc/hosts` with `entries` (address,
/// name); other lines stay.
pub async fn write_hosts(remote: &Remote, entries: &[(String, String)]) -> Result<(), Error> {
    let mut block = String::from("# BEGIN shakedown\n");
    for (addr, name) in entries {
        block.push_str(&format!("{addr}\t{name}\n"));
    }
    block.push_str("# END shakedown\n");
    let script = format!(
        "set -e; t=$(mktemp); \
         awk '/^# BEGIN shakedown$/{{skip=1}} !skip{{print}} /^# END shakedown$/{{skip=0}}' /etc/hosts > \"$t\"; \
         printf '%s' {b} >> \"$t\"; cat \"$t\" > /etc/hosts; rm -f \"$t\"",
        b = q(&block)
    );
    remote.run_ok(as_root(remote, script)).await.map(|_| ())
}

/// Hostname and `/etc/hosts` on every node, then packages, in parallel.
pub async fn setup(cluster: &Cluster, pkgs: &[&str]) -> Result<(), Error> {
    let entries: Vec<(String, String)> = cluster
        .remotes()
        .iter()
        .map(|r| (r.node().host.clone(), r.name().to_string()))
        .collect();
    let pkgs: Vec<String> = pkgs.iter().map(|s| s.to_string()).collect();
    let res = cluster
        .each(&cluster.names(), |r| {
            let entries = entries.clone();
            let pkgs = pkgs.clone();
            async move {
                set_hostname(&r, r.name()).await?;
                write_hosts(&r, &entries).await?;
                let p: Vec<&str> = pkgs.iter().map(|s| s.as_str()).collect();
                install(&r, &p).await
            }
        })
        .await;
    all_ok(res).map(|_| ())
}

fn as_root(remote: &Remote, script: String) -> Cmd {
    let c = Cmd::new(script);
    if remote.config().user == "root" {
        c
    } else {
        c.sudo("root")
    }
}
