//! `shakedown cluster up|down|status`: a real cluster on this machine, one
//! network namespace, address and sshd per node (see
//! `harness::control::local`). A test file reaches it with `cluster: local`
//! through the nodes file this writes.

use super::exit;
use harness::control::local::{self, LocalCluster, Options};
use harness::control::lock;
use std::net::Ipv4Addr;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Build N nodes (idempotent: a healthy cluster of that size is kept).
    Up {
        /// Number of nodes.
        #[arg(long, default_value_t = 5)]
        nodes: usize,
        /// Cluster name (1-8 of a-z0-9); namespaces are `shk-NAME-n<i>`.
        #[arg(long, default_value = local::DEFAULT_NAME)]
        name: String,
        /// The /24 to use: bridge .1, node i .(10+i).
        #[arg(long, default_value = "10.77.0.0")]
        subnet: Ipv4Addr,
    },
    /// Remove every namespace, link, process, rule and file of the cluster,
    /// also after a crash.
    Down {
        #[arg(long, default_value = local::DEFAULT_NAME)]
        name: String,
        /// Remove every local cluster on this machine (found by prefix).
        #[arg(long)]
        all: bool,
    },
    /// Show the local cluster: per node namespace, sshd, port and an SSH
    /// round trip.
    Status {
        #[arg(long, default_value = local::DEFAULT_NAME)]
        name: String,
    },
}

pub fn run(cmd: Command) -> ExitCode {
    let res = match cmd {
        Command::Up {
            nodes,
            name,
            subnet,
        } => up(&name, nodes, subnet),
        Command::Down { name, all } => {
            let names = if all { local::list() } else { vec![name] };
            names.iter().try_for_each(|name| {
                let _lock = lock::acquire(&lock::local_keys(name), &lock::this_command())?;
                unmount_disks(name);
                local::down(name)
                    .map(|_| crate::outln!("cluster {name}: removed"))
                    .map_err(|e| e.to_string())
            })
        }
        Command::Status { name } => status(&name),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(exit::ERROR)
        }
    }
}

/// Unmounts shakedown's write-back file system wherever a run left it on
/// this cluster (its mount file lists them), stopping the database on it
/// first. Best effort: the node namespaces go next, and their mounts with
/// them once no process holds them.
fn unmount_disks(name: &str) {
    let state = nemesis::StateFile::for_nodes_file(&local::nodes_file(name));
    let file = nemesis::disk::MountFile::for_state(&state);
    if !file.path.exists() {
        return;
    }
    let res = tokio::runtime::Runtime::new()
        .map_err(|e| e.to_string())
        .and_then(|rt| {
            rt.block_on(nemesis::disk::heal_mounts(None, &file))
                .map_err(|e| e.0)
        });
    match res {
        Ok(done) if !done.is_empty() => {
            crate::outln!("cluster {name}: unmounted {}", done.join(", "))
        }
        Ok(_) => {}
        Err(e) => eprintln!("warning: cluster {name}: {e}"),
    }
    let _ = std::fs::remove_file(&file.path);
}

fn up(name: &str, nodes: usize, subnet: Ipv4Addr) -> Result<(), String> {
    let _lock = lock::acquire(&lock::local_keys(name), &lock::this_command())?;
    let c = local::up(&Options::new(name, nodes).subnet(subnet)).map_err(|e| e.to_string())?;
    crate::outln!(
        "cluster {name}: {} nodes up; nodes file {}",
        c.nodes.nodes.len(),
        local::nodes_file(name).display()
    );
    status(name)
}

fn status(name: &str) -> Result<(), String> {
    let c = LocalCluster::load(name).map_err(|e| e.to_string())?;
    let st = c.status();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let cluster = c.cluster();
    let ssh = rt.block_on(async {
        let r = cluster.run_all("hostname").await;
        cluster.disconnect().await;
        r
    });
    crate::outln!(
        "{:<5} {:<15} {:<18} {:<8} {:<5} ssh",
        "node",
        "address",
        "netns",
        "sshd",
        "port"
    );
    let mut healthy = true;
    for (s, (_, r)) in st.iter().zip(ssh.iter()) {
        let ssh = match r {
            Ok(o) if o.success() => format!("ok (hostname {})", o.stdout_str()),
            Ok(o) => format!("{}", o.status),
            Err(e) => e.to_string(),
        };
        healthy &= s.healthy() && r.as_ref().is_ok_and(|o| o.success());
        crate::outln!(
            "{:<5} {:<15} {:<18} {:<8} {:<5} {ssh}",
            s.name,
            s.address,
            if s.netns_exists {
                s.netns.as_str()
            } else {
                "missing"
            },
            s.sshd_pid
                .map(|p| p.to_string())
                .unwrap_or_else(|| "down".into()),
            if s.port_open { "open" } else { "shut" },
        );
    }
    if let Some(first) = c.nodes.nodes.first() {
        crate::outln!("log in: {}", c.ssh_hint(&first.name));
    }
    if healthy {
        Ok(())
    } else {
        Err(format!(
            "cluster {name} is not healthy; `shakedown cluster up --name {name} --nodes {}` rebuilds it",
            st.len()
        ))
    }
}
