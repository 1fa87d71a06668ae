//! A real cluster on this Linux machine: one network namespace per node.
//!
//! For a cluster named `NAME` with N nodes on subnet `A.B.C.0/24`:
//!
//! | what                | name / place                                        |
//! |---------------------|-----------------------------------------------------|
//! | bridge (root netns) | `shk-NAME`, address `A.B.C.1/24`                    |
//! | node i namespace    | `shk-NAME-n<i>`, `eth0` = `A.B.C.(10+i)/24`, `lo` up |
//! | veth, root side     | `shk-NAME-<i>` (≤ 15 chars: NAME is ≤ 8 of `[a-z0-9]`) |
//! | node i sshd         | `/var/lib/shakedown/NAME/sshd/n<i>/`: config, host key, pid file, log |
//! | node i data         | `/var/lib/shakedown/NAME/n<i>/`                       |
//! | client key          | `/var/lib/shakedown/NAME/id_ed25519`                |
//! | nodes file          | `/var/lib/shakedown/NAME/nodes.json` (host keys pinned) |
//! | per-node /etc files | `/etc/netns/shk-NAME-n<i>/{hosts,hostname}`         |
//!
//! Each sshd runs as `ip netns exec NS unshare --uts sh -c 'hostname n<i>;
//! exec sshd ...'`, so a node's sessions see their own network, their own
//! hostname (UTS namespace) and their own `/etc/hosts` (`ip netns exec`
//! bind-mounts `/etc/netns/NS/*` over `/etc`). Everything else (filesystem,
//! users, process table, the clock) is shared: processes are killed by pid
//! file or by namespace membership (`ip netns pids`), never by name.
//!
//! Nodes have no route beyond the bridge: traffic never leaves the machine.
//! Packages are installed on the host (the filesystem is shared).
//!
//! `down` finds leftovers by prefix (namespaces, links, `/etc/netns`
//! entries, iptables rules tagged `shakedown-NAME`), so it also cleans up
//! after a crash or a half-finished `up`.

use super::Auth;
use super::{debian, Cluster, HostKeyCheck, Node, Nodes, SshConfig};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Where local clusters live.
pub const ROOT: &str = "/var/lib/shakedown";
/// Prefix of every namespace, link and rule a local cluster makes.
pub const PREFIX: &str = "shk-";
/// Default cluster name and subnet.
pub const DEFAULT_NAME: &str = "local";
pub const DEFAULT_SUBNET: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 0);

/// A local-cluster failure, one line.
#[derive(Debug, Clone)]
pub struct LocalError(pub String);

impl fmt::Display for LocalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LocalError {}

type Result<T> = std::result::Result<T, LocalError>;

fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(LocalError(msg.into()))
}

/// What `up` builds.
#[derive(Clone, Debug)]
pub struct Options {
    pub name: String,
    pub nodes: usize,
    /// A /24: the bridge gets .1, node i gets .(10+i).
    pub subnet: Ipv4Addr,
}

impl Options {
    pub fn new(name: &str, nodes: usize) -> Options {
        Options {
            name: name.to_string(),
            nodes,
            subnet: DEFAULT_SUBNET,
        }
    }

    pub fn subnet(mut self, subnet: Ipv4Addr) -> Options {
        self.subnet = subnet;
        self
    }
}

/// A built local cluster: its nodes file and the paths around it.
#[derive(Clone, Debug)]
pub struct LocalCluster {
    pub name: String,
    pub dir: PathBuf,
    pub nodes: Nodes,
}

/// One node's health as `status` sees it.
#[derive(Clone, Debug)]
pub struct NodeStatus {
    pub name: String,
    pub address: String,
    pub netns: String,
    pub netns_exists: bool,
    /// The sshd pid from its pid file, if that process is alive in the node's namespace.
    pub sshd_pid: Option<u32>,
    /// TCP port 22 accepts connections.
    pub port_open: bool,
}

impl NodeStatus {
    pub fn healthy(&self) -> bool {
        self.netns_exists && self.sshd_pid.is_some() && self.port_open
    }
}

pub fn cluster_dir(name: &str) -> PathBuf {
    Path::new(ROOT).join(name)
}

pub fn nodes_file(name: &str) -> PathBuf {
    cluster_dir(name).join("nodes.json")
}

fn netns_name(name: &str, i: usize) -> String {
    format!("{PREFIX}{name}-n{i}")
}

fn bridge_name(name: &str) -> String {
    format!("{PREFIX}{name}")
}

fn veth_name(name: &str, i: usize) -> String {
    format!("{PREFIX}{name}-{i}")
}

fn node_addr(subnet: Ipv4Addr, i: usize) -> Ipv4Addr {
    let o = subnet.octets();
    Ipv4Addr::new(o[0], o[1], o[2], 10 + i as u8)
}

fn sshd_dir(name: &str, node: &str) -> PathBuf {
    cluster_dir(name).join("sshd").join(node)
}

/// Validate a cluster name: 1-8 of `[a-z0-9]`, so interface names fit
/// in 15 characters and prefixes never overlap.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 8
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return fail(format!(
            "cluster name {name:?} must be 1 to 8 characters of a-z and 0-9 (it becomes part of interface names, which are limited to 15 characters)"
        ));
    }
    Ok(())
}

/// Whether we run as root (reads /proc/self/status).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn require_root(what: &str) -> Result<()> {
    if !is_root() {
        return fail(format!(
            "`cluster {what}` needs root (network namespaces, bridges, sshd); run it with sudo"
        ));
    }
    Ok(())
}

/// Run a local command; an error names the command and its stderr.
fn sh(prog: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(prog)
        .args(args)
        .output()
        .map_err(|e| LocalError(format!("cannot run {prog}: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return fail(format!(
            "`{prog} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            err.trim().lines().last().unwrap_or("")
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ip(args: &[&str]) -> Result<String> {
    sh("ip", args)
}

/// Our namespaces that exist now.
fn list_netns(name: &str) -> Vec<String> {
    let prefix = format!("{PREFIX}{name}-n");
    ip(&["netns", "list"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| {
            n.strip_prefix(&prefix)
                .is_some_and(|r| r.parse::<usize>().is_ok())
        })
        .map(String::from)
        .collect()
}

/// Our links in the root namespace (bridge and veths).
fn list_links(name: &str) -> Vec<String> {
    let bridge = bridge_name(name);
    let veth = format!("{bridge}-");
    ip(&["-o", "link", "show"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .filter(|n| {
            *n == bridge
                || n.strip_prefix(&veth)
                    .is_some_and(|r| r.parse::<usize>().is_ok())
        })
        .collect()
}

/// Everything of cluster `name` that exists on this machine, for
/// `status` and for tests proving `down` removed it all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Leftovers {
    pub namespaces: Vec<String>,
    pub links: Vec<String>,
    pub processes: Vec<u32>,
    pub etc_netns: Vec<String>,
    pub iptables_rules: Vec<String>,
    pub dir_exists: bool,
}

impl Leftovers {
    pub fn is_empty(&self) -> bool {
        *self == Leftovers::default()
    }
}

/// List what cluster `name` has on this machine.
pub fn leftovers(name: &str) -> Leftovers {
    let namespaces = list_netns(name);
    let mut processes = Vec::new();
    for ns in &namespaces {
        processes.extend(netns_pids(ns));
    }
    let etc_prefix = format!("{PREFIX}{name}-n");
    let etc_netns = std::fs::read_dir("/etc/netns")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&etc_prefix))
                .collect()
        })
        .unwrap_or_default();
    Leftovers {
        namespaces,
        links: list_links(name),
        processes,
        etc_netns,
        iptables_rules: our_rules(name),
        dir_exists: cluster_dir(name).exists(),
    }
}

fn netns_pids(ns: &str) -> Vec<u32> {
    ip(&["netns", "pids", ns])
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn pid_in_netns(pid: u32, ns: &str) -> bool {
    ip(&["netns", "identify", &pid.to_string()])
        .map(|s| s.split_whitespace().any(|n| n == ns))
        .unwrap_or(false)
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn alive(pid: u32) -> bool {
    // A zombie still has /proc/<pid>; treat it as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s.rsplit(')').next().unwrap_or("").split_whitespace().next();
            state != Some("Z")
        })
        .unwrap_or(false)
}

fn kill(pid: u32, sig: &str) {
    let _ = Command::new("kill").args([sig, &pid.to_string()]).output();
}

/// SIGTERM, wait up to `grace`, then SIGKILL what is left.
fn terminate(pids: &[u32], grace: Duration) {
    for &p in pids {
        kill(p, "-TERM");
    }
    let start = Instant::now();
    while start.elapsed() < grace && pids.iter().any(|&p| alive(p)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for &p in pids {
        if alive(p) {
            kill(p, "-KILL");
        }
    }
}

fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(d) = std::fs::read_dir("/proc") {
        for e in d.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            let ppid = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().nth(1))
                .and_then(|x| x.parse::<u32>().ok());
            if ppid == Some(pid) {
                out.push(p);
            }
        }
    }
    out
}

/// iptables rules tagged with this cluster (root namespace).
fn our_rules(name: &str) -> Vec<String> {
    let tag = format!("shakedown-{name}");
    match sh("iptables", &["-w", "-S", "FORWARD"]) {
        Ok(s) => s
            .lines()
            .filter(|l| l.split_whitespace().any(|w| w.trim_matches('"') == tag))
            .map(String::from)
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Make sure the host has what a local cluster needs, installing it with
/// apt when missing.
pub fn ensure_host_tools() -> Result<()> {
    let mut missing = Vec::new();
    for (bin, pkg) in [
        ("/usr/sbin/sshd", "openssh-server"),
        ("/usr/bin/ssh-keygen", "openssh-client"),
        ("/usr/bin/unshare", "util-linux"),
        ("/usr/bin/sha256sum", "coreutils"),
    ] {
        if !Path::new(bin).exists() {
            missing.push(pkg);
        }
    }
    if sh("ip", &["-V"]).is_err() {
        missing.push("iproute2");
    }
    if !missing.is_empty() {
        eprintln!("installing {} with apt-get", missing.join(" "));
        debian::apt_install_here(&missing).map_err(LocalError)?;
    }
    std::fs::create_dir_all("/run/sshd")
        .map_err(|e| LocalError(format!("cannot create /run/sshd: {e}")))?;
    Ok(())
}

/// Refuse if something other than our own bridge uses the /24.
fn check_subnet_free(name: &str, subnet: Ipv4Addr) -> Result<()> {
    let ours = bridge_name(name);
    let net = u32::from(subnet) & 0xffff_ff00;
    let routes = ip(&["-4", "-o", "route", "show", "table", "all"]).unwrap_or_default();
    for line in routes.lines() {
        let mut w = line.split_whitespace();
        let mut first = w.next().unwrap_or("");
        if matches!(
            first,
            "local" | "broadcast" | "unicast" | "blackhole" | "unreachable" | "prohibit"
        ) {
            first = w.next().unwrap_or("");
        }
        if first == "default" || first.is_empty() {
            continue;
        }
        let (a, len) = match first.split_once('/') {
            Some((a, l)) => (a, l.parse::<u32>().unwrap_or(32)),
            None => (first, 32),
        };
        let Ok(a) = a.parse::<Ipv4Addr>() else {
            continue;
        };
        let dev = line
            .split_whitespace()
            .skip_while(|x| *x != "dev")
            .nth(1)
            .unwrap_or("?");
        if dev == ours {
            continue;
        }
        let len = len.min(32);
        let mask_len = len.min(24);
        let mask = if mask_len == 0 {
            0
        } else {
            u32::MAX << (32 - mask_len)
        };
        if (u32::from(a) & mask) == (net & mask) {
            let who = dev
                .strip_prefix(PREFIX)
                .map(|c| format!("shakedown cluster {c:?}"))
                .unwrap_or_else(|| format!("interface {dev}"));
            return fail(format!(
                "subnet {subnet}/24 is already in use ({first} via {who}); pick another with --subnet"
            ));
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)
            .map_err(|e| LocalError(format!("cannot create {}: {e}", p.display())))?;
    }
    std::fs::write(path, text)
        .map_err(|e| LocalError(format!("cannot write {}: {e}", path.display())))
}

fn keygen(path: &Path, comment: &str) -> Result<String> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)
            .map_err(|e| LocalError(format!("cannot create {}: {e}", p.display())))?;
    }
    if !path.exists() {
        sh(
            "ssh-keygen",
            &[
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                comment,
                "-f",
                &path.to_string_lossy(),
            ],
        )?;
    }
    let pubp = path.with_extension("pub");
    std::fs::read_to_string(&pubp)
        .map(|s| s.trim().to_string())
        .map_err(|e| LocalError(format!("cannot read {}: {e}", pubp.display())))
}

fn sshd_config(name: &str, node: &str, addr: Ipv4Addr) -> String {
    let d = sshd_dir(name, node);
    let cdir = cluster_dir(name);
    format!(
        "# shakedown local cluster {name}, node {node}\n\
         ListenAddress {addr}:22\n\
         HostKey {hk}\n\
         PidFile {pid}\n\
         AuthorizedKeysFile {ak} .ssh/authorized_keys\n\
         UsePAM no\n\
         PermitRootLogin prohibit-password\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication yes\n\
         KbdInteractiveAuthentication no\n\
         MaxSessions 10\n\
         MaxStartups 100:30:200\n\
         UseDNS no\n\
         PrintMotd no\n\
         X11Forwarding no\n\
         AcceptEnv LANG LC_*\n\
         ClientAliveInterval 15\n\
         Subsystem sftp internal-sftp\n\
         SetEnv HOME={home}\n",
        home = d.join("home").display(),
        hk = d.join("ssh_host_ed25519_key").display(),
        pid = d.join("sshd.pid").display(),
        ak = cdir.join("authorized_keys").display(),
    )
}

/// Build (or keep, if it is already healthy) a local cluster.
pub fn up(opts: &Options) -> Result<LocalCluster> {
    require_root("up")?;
    check_name(&opts.name)?;
    if opts.nodes == 0 || opts.nodes > 99 {
        return fail(format!("--nodes must be 1 to 99, not {}", opts.nodes));
    }
    if opts.subnet.octets()[3] != 0 {
        return fail(format!("subnet {} must be the .0 of a /24", opts.subnet));
    }
    let name = opts.name.as_str();
    ensure_host_tools()?;
    if let Ok(c) = LocalCluster::load(name) {
        let same = c.nodes.nodes.len() == opts.nodes
            && c.nodes.nodes.first().map(|n| n.host.clone())
                == Some(node_addr(opts.subnet, 1).to_string());
        if same && c.status().iter().all(|s| s.healthy()) {
            return Ok(c);
        }
        // Only some sshds died (a nemesis, a test): restart them in place,
        // keeping keys and data.
        if same && c.status().iter().all(|s| s.netns_exists) {
            for s in c.status().iter().filter(|s| !s.healthy()) {
                let _ = c.start_sshd(&s.name);
            }
            if c.status().iter().all(|s| s.healthy()) {
                return Ok(c);
            }
        }
    }
    // Leftovers from a crash, a different size, or a broken node: start over.
    down(name)?;
    check_subnet_free(name, opts.subnet)?;
    match build(opts) {
        Ok(c) => Ok(c),
        Err(e) => {
            let _ = down(name);
            Err(e)
        }
    }
}

fn build(opts: &Options) -> Result<LocalCluster> {
    let name = opts.name.as_str();
    let dir = cluster_dir(name);
    write(&dir.join(".keep"), "")?;
    let client_pub = keygen(&dir.join("id_ed25519"), &format!("shakedown-{name}"))?;
    write(&dir.join("authorized_keys"), &format!("{client_pub}\n"))?;

    let bridge = bridge_name(name);
    let o = opts.subnet.octets();
    ip(&["link", "add", &bridge, "type", "bridge"])?;
    ip(&[
        "addr",
        "add",
        &format!("{}.{}.{}.1/24", o[0], o[1], o[2]),
        "dev",
        &bridge,
    ])?;
    ip(&["link", "set", &bridge, "up"])?;
    // Bridged traffic crosses iptables FORWARD when br_netfilter is loaded:
    // if that chain drops by default, let the nodes talk to each other.
    let nf =
        std::fs::read_to_string("/proc/sys/net/bridge/bridge-nf-call-iptables").unwrap_or_default();
    if nf.trim() == "1" {
        let policy = sh("iptables", &["-w", "-S", "FORWARD"]).unwrap_or_default();
        if !policy.lines().any(|l| l == "-P FORWARD ACCEPT") {
            sh(
                "iptables",
                &[
                    "-w",
                    "-I",
                    "FORWARD",
                    "-i",
                    &bridge,
                    "-o",
                    &bridge,
                    "-m",
                    "comment",
                    "--comment",
                    &format!("shakedown-{name}"),
                    "-j",
                    "ACCEPT",
                ],
            )?;
        }
    }

    let names: Vec<String> = (1..=opts.nodes).map(|i| format!("n{i}")).collect();
    let mut hosts =
        String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    for (i, n) in names.iter().enumerate() {
        hosts.push_str(&format!("{}\t{n}\n", node_addr(opts.subnet, i + 1)));
    }
    let mut nodes = Vec::new();
    for (idx, node) in names.iter().enumerate() {
        let i = idx + 1;
        let ns = netns_name(name, i);
        let veth = veth_name(name, i);
        let addr = node_addr(opts.subnet, i);
        ip(&["netns", "add", &ns])?;
        ip(&[
            "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ])?;
        ip(&["link", "set", &veth, "master", &bridge, "up"])?;
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{addr}/24"),
            "dev",
            "eth0",
        ])?;
        ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        write(&Path::new("/etc/netns").join(&ns).join("hosts"), &hosts)?;
        write(
            &Path::new("/etc/netns").join(&ns).join("hostname"),
            &format!("{node}\n"),
        )?;
        let data = dir.join(node);
        std::fs::create_dir_all(&data)
            .map_err(|e| LocalError(format!("cannot create {}: {e}", data.display())))?;
        let sd = sshd_dir(name, node);
        let host_pub = keygen(
            &sd.join("ssh_host_ed25519_key"),
            &format!("{node}@shakedown-{name}"),
        )?;
        write(&sd.join("sshd_config"), &sshd_config(name, node, addr))?;
        nodes.push(Node {
            name: node.clone(),
            host: addr.to_string(),
            port: None,
            user: None,
            identity_file: None,
            host_keys: vec![host_pub],
            data_dir: Some(data.display().to_string()),
            netns: Some(ns),
        });
    }
    let ssh = SshConfig {
        user: "root".into(),
        auth: Auth::Key {
            path: dir.join("id_ed25519"),
            passphrase_env: None,
        },
        host_key_check: HostKeyCheck::Pinned,
        known_hosts: Some(dir.join("known_hosts")),
        ..SshConfig::default()
    };
    let mut known = String::new();
    for n in &nodes {
        let key = n.host_keys[0]
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        known.push_str(&format!("{} {key}\n", n.host));
    }
    write(&dir.join("known_hosts"), &known)?;
    let c = LocalCluster {
        name: name.to_string(),
        dir: dir.clone(),
        nodes: Nodes {
            name: Some(name.to_string()),
            ssh,
            nodes,
        },
    };
    for n in &c.nodes.nodes {
        c.start_sshd(&n.name)?;
    }
    c.nodes.save(&nodes_file(name)).map_err(LocalError)?;
    Ok(c)
}

/// Remove everything cluster `name` made, whether or not `up` finished:
/// processes (pid file, then whatever still runs in the namespaces),
/// namespaces, links, `/etc/netns` entries, iptables rules, the directory.
pub fn down(name: &str) -> Result<()> {
    require_root("down")?;
    check_name(name)?;
    let namespaces = list_netns(name);
    // sshd listeners by pid file, checked to be in the node's namespace.
    let mut pids = Vec::new();
    for ns in &namespaces {
        let node = ns.rsplit('-').next().unwrap_or("");
        if let Some(p) = read_pid(&sshd_dir(name, node).join("sshd.pid")) {
            if pid_in_netns(p, ns) {
                pids.push(p);
            }
        }
    }
    terminate(&pids, Duration::from_secs(2));
    // Anything else still running in our namespaces (sessions, databases).
    let rest: Vec<u32> = namespaces.iter().flat_map(|ns| netns_pids(ns)).collect();
    terminate(&rest, Duration::from_secs(2));
    let mut errors = Vec::new();
    for ns in &namespaces {
        if let Err(e) = ip(&["netns", "del", ns]) {
            errors.push(e.0);
        }
    }
    for link in list_links(name) {
        if let Err(e) = ip(&["link", "del", &link]) {
            // A veth vanishes with its peer's namespace; only report what stays.
            if list_links(name).contains(&link) {
                errors.push(e.0);
            }
        }
    }
    for rule in our_rules(name) {
        let args: Vec<String> = rule
            .replacen("-A ", "-D ", 1)
            .split_whitespace()
            .map(|s| s.trim_matches('"').to_string())
            .collect();
        let mut a: Vec<&str> = vec!["-w"];
        a.extend(args.iter().map(|s| s.as_str()));
        if let Err(e) = sh("iptables", &a) {
            errors.push(e.0);
        }
    }
    let prefix = format!("{PREFIX}{name}-n");
    if let Ok(d) = std::fs::read_dir("/etc/netns") {
        for e in d.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = cluster_dir(name);
    if dir.exists() {
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            errors.push(format!("cannot remove {}: {e}", dir.display()));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        fail(format!(
            "cluster {name}: cleanup incomplete: {}",
            errors.join("; ")
        ))
    }
}

/// Names of the local clusters on this machine (directories under [`ROOT`]
/// and namespaces with our prefix).
pub fn list() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(ROOT)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    for ns in ip(&["netns", "list"]).unwrap_or_default().lines() {
        if let Some(rest) = ns
            .split_whitespace()
            .next()
            .and_then(|n| n.strip_prefix(PREFIX))
        {
            if let Some((c, _)) = rest.rsplit_once("-n") {
                names.push(c.to_string());
            }
        }
    }
    names.sort();
    names.dedup();
    names.retain(|n| check_name(n).is_ok());
    names
}

impl LocalCluster {
    /// Read a cluster's nodes file.
    pub fn load(name: &str) -> Result<LocalCluster> {
        check_name(name)?;
        let path = nodes_file(name);
        if !path.exists() {
            return fail(format!(
                "no local cluster {name:?} ({} is missing); create it with `shakedown cluster up --name {name}`",
                path.display()
            ));
        }
        let nodes = Nodes::load(&path).map_err(LocalError)?;
        Ok(LocalCluster {
            name: name.to_string(),
            dir: cluster_dir(name),
            nodes,
        })
    }

    /// SSH connections to every node (opened lazily).
    pub fn cluster(&self) -> Cluster {
        Cluster::new(&self.nodes)
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.nodes.iter().find(|n| n.name == name)
    }

    fn node_or_err(&self, node: &str) -> Result<&Node> {
        self.node(node)
            .ok_or_else(|| LocalError(format!("cluster {}: no node {node}", self.name)))
    }

    fn ns(&self, node: &str) -> Result<String> {
        let n = self.node_or_err(node)?;
        Ok(n.netns.clone().unwrap_or_default())
    }

    /// The pid of the node's sshd if it is alive in the node's namespace.
    pub fn sshd_pid(&self, node: &str) -> Option<u32> {
        let ns = self.ns(node).ok()?;
        let pid = read_pid(&sshd_dir(&self.name, node).join("sshd.pid"))?;
        (alive(pid) && pid_in_netns(pid, &ns)).then_some(pid)
    }

    /// Start the node's sshd (no-op if it runs) and wait until it accepts
    /// connections.
    pub fn start_sshd(&self, node: &str) -> Result<()> {
        let n = self.node_or_err(node)?.clone();
        if self.sshd_pid(node).is_some() {
            return Ok(());
        }
        let ns = self.ns(node)?;
        let sd = sshd_dir(&self.name, node);
        let _ = std::fs::remove_file(sd.join("sshd.pid"));
        let script = format!(
            "hostname {node} && exec /usr/sbin/sshd -f {} -E {}",
            sd.join("sshd_config").display(),
            sd.join("sshd.log").display()
        );
        sh(
            "ip",
            &[
                "netns", "exec", &ns, "unshare", "--uts", "sh", "-c", &script,
            ],
        )?;
        let addr: SocketAddr = format!("{}:22", n.host)
            .parse()
            .map_err(|e| LocalError(format!("bad address {}: {e}", n.host)))?;
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if self.sshd_pid(node).is_some()
                && TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = std::fs::read_to_string(sd.join("sshd.log")).unwrap_or_default();
        fail(format!(
            "{node}: sshd did not start listening on {addr} within 10 s: {}",
            log.lines().last().unwrap_or("(no log)")
        ))
    }

    /// Stop the node's sshd (by pid file). With `sessions`, also end its
    /// open sessions (its child processes), so existing connections die
    /// too: the node becomes unreachable over SSH.
    pub fn stop_sshd(&self, node: &str, sessions: bool) -> Result<()> {
        self.node_or_err(node)?;
        if let Some(pid) = self.sshd_pid(node) {
            let mut pids = vec![pid];
            if sessions {
                pids.extend(children_of(pid));
            }
            terminate(&pids, Duration::from_secs(2));
        }
        Ok(())
    }

    /// Health of every node.
    pub fn status(&self) -> Vec<NodeStatus> {
        let existing = list_netns(&self.name);
        self.nodes
            .nodes
            .iter()
            .map(|n| {
                let ns = n.netns.clone().unwrap_or_default();
                let port_open = format!("{}:22", n.host)
                    .parse::<SocketAddr>()
                    .ok()
                    .is_some_and(|a| {
                        TcpStream::connect_timeout(&a, Duration::from_millis(300)).is_ok()
                    });
                NodeStatus {
                    name: n.name.clone(),
                    address: n.host.clone(),
                    netns_exists: existing.contains(&ns),
                    sshd_pid: self.sshd_pid(&n.name),
                    netns: ns,
                    port_open,
                }
            })
            .collect()
    }

    /// A plain `ssh` command line that reaches `node`, for people.
    pub fn ssh_hint(&self, node: &str) -> String {
        let host = self.node(node).map(|n| n.host.as_str()).unwrap_or("?");
        format!(
            "ssh -i {} -o UserKnownHostsFile={} root@{host}",
            self.dir.join("id_ed25519").display(),
            self.dir.join("known_hosts").display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_interface_limits() {
        assert!(check_name("abcdefgh").is_ok());
        assert!(check_name("abcdefghi").is_err());
        assert!(check_name("a-b").is_err());
        assert!(check_name("").is_err());
        assert!(veth_name("abcdefgh", 99).len() <= 15);
        assert!(bridge_name("abcdefgh").len() <= 15);
        assert_eq!(netns_name("local", 3), "shk-local-n3");
        assert_eq!(node_addr(DEFAULT_SUBNET, 3), Ipv4Addr::new(10, 77, 0, 13));
    }
}
