//! Disk faults on the nodes: shakedown's write-back file system under the
//! database's data directories, power loss, and file corruption.
//!
//! The file system is the `diskfs` crate, run on each node by the shakedown
//! binary itself (`shakedown diskfs mount`, copied to the node under
//! [`BIN_DIR`]), so a real machine needs nothing but Debian's `fuse3`. Each
//! mount is a daemon under a pid file beside the data directory, driven
//! over a unix socket (`shakedown diskfs ctl`): `flush` writes back what is
//! cached, `drop` forgets every write not yet fsync'ed (a power failure),
//! `unmount` flushes and leaves.
//!
//! Layout for a data directory `D` (the mountpoint):
//!
//! | what              | where                                     |
//! |-------------------|-------------------------------------------|
//! | backing directory | `D.diskfs/` (what is durable)             |
//! | daemon pid file   | `D.diskfs.pid`                            |
//! | daemon log        | `D.diskfs.log`                            |
//! | control socket    | `/run/shakedown/diskfs-<hash of node, D>.sock` (short: unix socket paths are limited to 108 bytes) |
//!
//! Every mount is listed in a [`MountFile`] before it is made and removed
//! from it once unmounted, so `shakedown heal` and `cluster down` unmount
//! what a crashed controller left.

use crate::{Error, Result};
use harness::control::daemon::{self, Daemon};
use harness::control::quote::q;
use harness::control::{Cluster, Cmd, Node, Nodes, Remote};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// Where the shakedown binary is copied on a node.
pub const BIN_DIR: &str = "/var/lib/shakedown/bin";

/// One write-back mount on one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mount {
    pub node: String,
    /// The data directory the database sees (the mountpoint).
    pub dir: String,
    /// Where its durable content lives.
    pub backing: String,
    pub control: String,
    pub pid_file: String,
    pub log: String,
    /// The shakedown binary on the node that serves it.
    pub bin: String,
    /// The pid file of the database using it: a heal after a crash stops
    /// that database first (its open files would keep the mount busy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_pid_file: Option<String>,
}

impl Mount {
    pub fn new(node: &str, dir: &str, bin: &str) -> Mount {
        let dir = dir.trim_end_matches('/').to_string();
        let hash = fnv1a(format!("{node}\0{dir}").as_bytes());
        Mount {
            node: node.to_string(),
            backing: format!("{dir}.diskfs"),
            control: format!("/run/shakedown/diskfs-{hash:016x}.sock"),
            pid_file: format!("{dir}.diskfs.pid"),
            log: format!("{dir}.diskfs.log"),
            bin: bin.to_string(),
            db_pid_file: None,
            dir,
        }
    }

    fn daemon(&self) -> Daemon {
        Daemon {
            bin: self.bin.clone(),
            args: vec![
                "diskfs".into(),
                "mount".into(),
                "--backing".into(),
                self.backing.clone(),
                "--mount".into(),
                self.dir.clone(),
                "--control".into(),
                self.control.clone(),
            ],
            pidfile: self.pid_file.clone(),
            logfile: self.log.clone(),
            chdir: None,
            env: Vec::new(),
            user: None,
        }
    }
}

/// The mounts in place, kept beside the fault state file
/// (`nodes.faults.json` -> `nodes.mounts.json`) with the nodes to reach.
#[derive(Clone, Debug)]
pub struct MountFile {
    pub path: PathBuf,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mounts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Nodes>,
    #[serde(default)]
    pub mounts: Vec<Mount>,
}

impl MountFile {
    /// The mount file that goes with a fault state file.
    pub fn for_state(state: &crate::StateFile) -> MountFile {
        let name = state
            .path
            .file_name()
            .map(|n| n.to_string_lossy().replace(".faults.json", ".mounts.json"))
            .unwrap_or_else(|| "mounts.json".into());
        let name = if name.ends_with(".mounts.json") {
            name
        } else {
            format!("{name}.mounts.json")
        };
        MountFile {
            path: state.path.with_file_name(name),
        }
    }

    pub fn load(&self) -> Result<Mounts> {
        match std::fs::read_to_string(&self.path) {
            Ok(t) => serde_json::from_str(&t)
                .map_err(|e| Error(format!("bad mount file {}: {e}", self.path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Mounts::default()),
            Err(e) => Err(Error(format!(
                "cannot read mount file {}: {e}",
                self.path.display()
            ))),
        }
    }

    /// Written like the fault state (temp file, fsync, rename, 0600);
    /// removed when no mount is left.
    pub fn save(&self, m: &Mounts) -> Result<()> {
        if m.mounts.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error(format!("{}: {e}", self.path.display()))),
            };
        }
        let text = serde_json::to_string_pretty(m).expect("mounts serialize");
        crate::state::write_private(&self.path, &text)
    }

    fn update(&self, nodes: &Nodes, f: impl FnOnce(&mut Vec<Mount>)) -> Result<()> {
        let mut m = self.load()?;
        m.nodes = Some(nodes.clone());
        f(&mut m.mounts);
        self.save(&m)
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The running binary's bytes hash, computed once (it names the copy on
/// the nodes, so a new build never overwrites one in use).
fn self_binary() -> Result<(PathBuf, String)> {
    static SELF: OnceLock<std::result::Result<(PathBuf, String), String>> = OnceLock::new();
    SELF.get_or_init(|| {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
        let bytes = std::fs::read(&exe).map_err(|e| format!("{}: {e}", exe.display()))?;
        let name = format!("shakedown-{:016x}", fnv1a(&bytes));
        Ok((exe, name))
    })
    .clone()
    .map_err(Error)
}

/// Copies this shakedown binary to every node (once per build) and returns
/// its path there. Local-cluster nodes share this machine's file system: a
/// local copy serves them all.
pub async fn install_binary(cluster: &Cluster, nodes: &Nodes) -> Result<String> {
    let (exe, name) = self_binary()?;
    let path = format!("{BIN_DIR}/{name}");
    let local_copy = || -> Result<()> {
        if Path::new(&path).is_file() {
            return Ok(());
        }
        std::fs::create_dir_all(BIN_DIR).map_err(|e| Error(format!("{BIN_DIR}: {e}")))?;
        let tmp = format!("{path}.tmp{}", std::process::id());
        std::fs::copy(&exe, &tmp)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| Error(format!("copying {} to {path}: {e}", exe.display())))
    };
    if nodes.nodes.iter().any(|n| n.netns.is_some()) {
        local_copy()?;
    }
    let remote: Vec<String> = nodes
        .nodes
        .iter()
        .filter(|n| n.netns.is_none())
        .map(|n| n.name.clone())
        .collect();
    let (exe2, path2) = (exe.clone(), path.clone());
    let res = cluster
        .each(&remote, move |r| {
            let (exe, path) = (exe2.clone(), path2.clone());
            async move {
                let have = r
                    .run(Cmd::new(format!("test -x {}", q(&path))).sudo("root"))
                    .await?;
                if !have.success() {
                    r.upload(&exe, &path).await?;
                }
                Ok(())
            }
        })
        .await;
    crate::net::first_error(res)?;
    Ok(path)
}

/// Checks a node can run the file system under `dirs`, before anything is
/// mounted: `/dev/fuse`, `fusermount3`, and each data directory a
/// directory (or absent). The error names the node and what is missing.
pub async fn preflight(remote: &Remote, dirs: &[String]) -> Result<()> {
    check(remote, FUSE_CHECK, dirs).await
}

/// Checks each data directory is a directory (or absent), for corruption.
pub async fn preflight_dirs(remote: &Remote, dirs: &[String]) -> Result<()> {
    check(remote, "", dirs).await
}

/// The node can mount FUSE: the device is there (a character device, not a
/// leftover file) and fusermount3 runs (not merely a name on PATH).
const FUSE_CHECK: &str = "[ -c /dev/fuse ] || { echo '/dev/fuse is absent (or not the FUSE character device): load the fuse module (modprobe fuse) or give the node /dev/fuse'; exit 3; }\n\
     fusermount3 -V >/dev/null 2>&1 || { echo 'fusermount3 is not installed or does not run: install Debian package fuse3'; exit 3; }\n";

async fn check(remote: &Remote, first: &str, dirs: &[String]) -> Result<()> {
    let mut script = first.to_string();
    for d in dirs {
        // The directory, or the nearest of its ancestors that exists, must
        // be a directory: a file in its place (or on its path) would make
        // every mkdir of the database's setup fail far from the cause.
        script += &format!(
            "d={}; p=\"$d\"; while [ \"$p\" != / ] && [ ! -e \"$p\" ] && [ ! -L \"$p\" ]; do p=$(dirname -- \"$p\"); done\n\
             if [ ! -d \"$p\" ]; then if [ \"$p\" = \"$d\" ]; then echo \"data directory $d exists and is not a directory\"; else echo \"data directory $d cannot be made: $p is not a directory\"; fi; exit 3; fi\n",
            q(d)
        );
    }
    let out = remote
        .run(
            Cmd::new(script)
                .sudo("root")
                .timeout(Duration::from_secs(30)),
        )
        .await?;
    if out.success() {
        Ok(())
    } else {
        let why = out.stdout_str().trim().to_string();
        let why = if why.is_empty() {
            out.stderr_str().trim().to_string()
        } else {
            why
        };
        Err(Error(format!("{}: disk faults: {why}", remote.name())))
    }
}

/// Per glob, the files it matches in one data directory, and what the
/// directory holds (the JSON of `shakedown diskfs survey`).
#[derive(Deserialize)]
struct Survey {
    matched: Vec<usize>,
    total: usize,
    sample: Vec<String>,
}

/// Checks, once the database runs, that each of the corrupt fault's globs
/// matches a file in some node's data directory: a glob that matches none
/// (a typo, a file the database does not write) would make every corrupt
/// step a no-op or an error in the middle of the run. The error names the
/// glob by its index in `field` and shows what the directories hold.
pub async fn check_globs(
    cluster: &Cluster,
    hooks: &crate::DiskHooks,
    globs: &[String],
    field: &str,
) -> Result<()> {
    let mut matched = vec![0usize; globs.len()];
    let mut holds = Vec::new();
    let files: Vec<String> = globs.iter().map(|g| q(g)).collect();
    for (node, dirs) in &hooks.dirs {
        let r = remote_of(cluster, node)?;
        for dir in dirs {
            let cmd = format!(
                "exec {} diskfs survey --dir {} --files {}",
                q(&hooks.bin),
                q(dir),
                files.join(" ")
            );
            let out = r
                .run(Cmd::new(cmd).sudo("root").timeout(Duration::from_secs(60)))
                .await?;
            let survey: Survey = serde_json::from_str(out.stdout_str().trim()).map_err(|e| {
                Error(format!(
                    "{node}: listing {dir} for {field}: {e}: {}{}",
                    out.stdout_str().trim(),
                    out.stderr_str().trim()
                ))
            })?;
            for (m, n) in matched.iter_mut().zip(&survey.matched) {
                *m += n;
            }
            let more = survey.total.saturating_sub(survey.sample.len());
            holds.push(if survey.total == 0 {
                format!("{node}:{dir} holds no file")
            } else if more > 0 {
                format!(
                    "{node}:{dir} holds {} and {more} more",
                    survey.sample.join(", ")
                )
            } else {
                format!("{node}:{dir} holds {}", survey.sample.join(", "))
            });
        }
    }
    let unmatched: Vec<String> = globs
        .iter()
        .zip(&matched)
        .enumerate()
        .filter(|(_, (_, &n))| n == 0)
        .map(|(i, (g, _))| format!("{field}[{i}] {g:?}"))
        .collect();
    if unmatched.is_empty() {
        return Ok(());
    }
    Err(Error(format!(
        "{} {} no file in any node's data directory once the database runs (globs are relative to the data directory; `**` matches any depth); {}",
        unmatched.join(", "),
        if unmatched.len() == 1 { "matches" } else { "match" },
        holds.join("; ")
    )))
}

/// Mounts the file system on `m.dir`: whatever the directory holds moves
/// to the (fresh) backing directory first, which takes the directory's
/// owner and mode, so the database sees the same tree. Waits until the
/// daemon answers on its socket.
pub async fn mount(remote: &Remote, m: &Mount) -> Result<()> {
    let prep = format!(
        "set -e\nd={d}; b={b}\n\
         if mountpoint -q \"$d\"; then echo \"$d is already a mount point\" >&2; exit 3; fi\n\
         mkdir -p \"$d\" {run}\n\
         rm -rf -- \"$b\"; mkdir -p \"$b\"\n\
         chown --reference=\"$d\" \"$b\"; chmod --reference=\"$d\" \"$b\"\n\
         find \"$d\" -mindepth 1 -maxdepth 1 -exec mv -t \"$b\" -- {{}} +\n",
        d = q(&m.dir),
        b = q(&m.backing),
        run = q(Path::new(&m.control)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "/run".into())
            .as_str()),
    );
    remote
        .run_ok(Cmd::new(prep).sudo("root").timeout(Duration::from_secs(60)))
        .await?;
    daemon::start(remote, &m.daemon()).await?;
    // Up once it answers `stats` (mounted, socket bound).
    let mut last = String::new();
    for _ in 0..100 {
        match request(remote, m, "stats").await {
            Ok(_) => return Ok(()),
            Err(e) => last = e.0,
        }
        if daemon::running(remote, &m.pid_file).await?.is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let tail = log_tail(remote, &m.log).await;
    Err(Error(format!(
        "{}: the write-back file system did not come up on {} ({last}){tail}",
        m.node, m.dir
    )))
}

/// One control request (`stats`, `flush`, `drop`, `unmount`); the reply's
/// JSON, or its error.
pub async fn request(remote: &Remote, m: &Mount, cmd: &str) -> Result<serde_json::Value> {
    let out = remote
        .run(
            Cmd::argv([
                m.bin.as_str(),
                "diskfs",
                "ctl",
                "--control",
                m.control.as_str(),
                cmd,
            ])
            .sudo("root")
            .timeout(Duration::from_secs(120)),
        )
        .await?;
    let text = out.stdout_str();
    let reply: Option<serde_json::Value> = serde_json::from_str(text.trim()).ok();
    match reply {
        Some(v) if out.success() && v["ok"] == serde_json::json!(true) => Ok(v),
        Some(v) => Err(Error(format!(
            "{}: diskfs {cmd} on {}: {}",
            m.node,
            m.dir,
            v["error"].as_str().unwrap_or("failed")
        ))),
        None => Err(Error(format!(
            "{}: diskfs {cmd} on {}: {}",
            m.node,
            m.dir,
            out.stderr_str().trim()
        ))),
    }
}

/// Flushes and unmounts, however the daemon is doing: asked first; if it
/// does not answer, stopped by pid file (it flushes on SIGTERM); a mount
/// still there after that (the daemon died) is detached. Then checks the
/// directory is no mount point. The backing directory's content goes back
/// into the data directory, so a database left running or a kept data
/// directory still finds its files.
pub async fn unmount(remote: &Remote, m: &Mount) -> Result<()> {
    if let Some(pf) = &m.db_pid_file {
        daemon::stop(remote, pf, Duration::from_secs(5)).await?;
    }
    let asked = request(remote, m, "unmount").await;
    // Give the daemon time to exit after its reply; then stop whatever is
    // left of it (TERM: it flushes and unmounts).
    for _ in 0..50 {
        if daemon::running(remote, &m.pid_file).await?.is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    daemon::stop(remote, &m.pid_file, Duration::from_secs(30)).await?;
    let script = format!(
        "d={d}; b={b}\n\
         if mountpoint -q \"$d\" 2>/dev/null || grep -qs \" $d fuse\" /proc/self/mounts; then fusermount3 -uz \"$d\" 2>/dev/null || umount -l \"$d\"; fi\n\
         if mountpoint -q \"$d\" 2>/dev/null; then echo \"$d is still mounted\" >&2; exit 1; fi\n\
         rm -f -- {s}\n\
         if [ -d \"$b\" ]; then mkdir -p \"$d\" && find \"$b\" -mindepth 1 -maxdepth 1 -exec mv -t \"$d\" -- {{}} + && rmdir -- \"$b\"; fi\n",
        d = q(&m.dir),
        b = q(&m.backing),
        s = q(&m.control),
    );
    remote
        .run_ok(
            Cmd::new(script)
                .sudo("root")
                .timeout(Duration::from_secs(60)),
        )
        .await?;
    if let Err(e) = asked {
        tracing::warn!("{e} (stopped it by pid file instead)");
    }
    Ok(())
}

/// Where one node's database keeps its data, for [`DiskMounts::mount_all`].
#[derive(Clone, Debug)]
pub struct NodeDisk {
    pub node: Node,
    pub dirs: Vec<String>,
    /// The database's pid file (stopped before an unmount after a crash).
    pub db_pid_file: Option<String>,
}

/// The write-back mounts of one run: made before install, flushed before
/// the database starts, unmounted at the end (and on drop, if nobody did).
pub struct DiskMounts {
    cluster: Cluster,
    nodes: Nodes,
    file: MountFile,
    pub mounts: Vec<Mount>,
}

impl DiskMounts {
    /// Mounts the file system on every node's `dirs` (node name -> data
    /// directories). Checks every node first, so a missing `fuse3` or a
    /// data directory that is a file is an error before anything is
    /// mounted; what was mounted before a later failure is unmounted.
    pub async fn mount_all(
        cluster: &Cluster,
        nodes: &Nodes,
        disks: &[NodeDisk],
        file: MountFile,
    ) -> Result<DiskMounts> {
        for d in disks {
            if d.dirs.is_empty() {
                return Err(Error(format!(
                    "{}: disk faults need the target's data directories, and it declares none",
                    d.node.name
                )));
            }
            let r = remote_of(cluster, &d.node.name)?;
            preflight(r, &d.dirs).await?;
        }
        let bin = install_binary(cluster, nodes).await?;
        let mut this = DiskMounts {
            cluster: cluster.clone(),
            nodes: nodes.clone(),
            file,
            mounts: Vec::new(),
        };
        for d in disks {
            for dir in &d.dirs {
                let mut m = Mount::new(&d.node.name, dir, &bin);
                m.db_pid_file = d.db_pid_file.clone();
                this.file.update(nodes, |v| {
                    v.retain(|o| !(o.node == m.node && o.dir == m.dir));
                    v.push(m.clone());
                })?;
                let r = remote_of(cluster, &d.node.name)?;
                match mount(r, &m).await {
                    Ok(()) => this.mounts.push(m),
                    Err(e) => {
                        // Not mounted, perhaps half started: undo it too.
                        this.mounts.push(m);
                        let _ = this.unmount_all().await;
                        return Err(e);
                    }
                }
            }
        }
        Ok(this)
    }

    /// Writes back everything cached, durably (after install: only what the
    /// database itself writes can be lost).
    pub async fn flush_all(&self) -> Result<()> {
        for m in &self.mounts {
            request(remote_of(&self.cluster, &m.node)?, m, "flush").await?;
        }
        Ok(())
    }

    pub fn for_node(&self, node: &str) -> Vec<Mount> {
        self.mounts
            .iter()
            .filter(|m| m.node == node)
            .cloned()
            .collect()
    }

    /// Unmounts every mount (after a flush); each one tried, the first
    /// error returned.
    pub async fn unmount_all(&mut self) -> Result<()> {
        let mut first = None;
        for m in std::mem::take(&mut self.mounts) {
            let r = match remote_of(&self.cluster, &m.node) {
                Ok(r) => r,
                Err(e) => {
                    first.get_or_insert(e);
                    continue;
                }
            };
            match unmount(r, &m).await {
                Ok(()) => self.file.update(&self.nodes, |v| {
                    v.retain(|o| !(o.node == m.node && o.dir == m.dir))
                })?,
                Err(e) => {
                    first.get_or_insert(e);
                }
            }
        }
        first.map_or(Ok(()), Err)
    }
}

impl Drop for DiskMounts {
    fn drop(&mut self) {
        if self.mounts.is_empty() {
            return;
        }
        eprintln!(
            "nemesis: unmounting the write-back file system on {} director(ies)",
            self.mounts.len()
        );
        let nodes = self.nodes.clone();
        let file = self.file.clone();
        let r = std::thread::spawn(move || -> Result<()> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error(e.to_string()))?;
            rt.block_on(heal_mounts(Some(&nodes), &file)).map(|_| ())
        })
        .join();
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!(
                "nemesis: {e}; run `shakedown heal` (mounts listed in {})",
                self.file.path.display()
            ),
            Err(_) => eprintln!("nemesis: the unmount thread panicked"),
        }
    }
}

/// Unmounts everything a mount file lists (`shakedown heal`, `cluster
/// down`, the start of a run). Returns the directories unmounted.
pub async fn heal_mounts(nodes: Option<&Nodes>, file: &MountFile) -> Result<Vec<String>> {
    let saved = file.load()?;
    if saved.mounts.is_empty() {
        return Ok(Vec::new());
    }
    let Some(nodes) = nodes.cloned().or(saved.nodes.clone()) else {
        return Err(Error(format!(
            "{} lists mounts but no nodes to reach",
            file.path.display()
        )));
    };
    let cluster = Cluster::new(&nodes);
    let mut done = Vec::new();
    let mut errors = Vec::new();
    for m in &saved.mounts {
        let res = match cluster.node(&m.node) {
            Some(r) => unmount(r, m).await,
            None => Err(Error(format!("{}: not a node of this cluster", m.node))),
        };
        match res {
            Ok(()) => {
                done.push(format!("{}:{}", m.node, m.dir));
                file.update(&nodes, |v| {
                    v.retain(|o| !(o.node == m.node && o.dir == m.dir))
                })?;
            }
            Err(e) => errors.push(e.0),
        }
    }
    cluster.disconnect().await;
    if errors.is_empty() {
        Ok(done)
    } else {
        Err(Error(format!("unmount incomplete: {}", errors.join("; "))))
    }
}

/// The end of a log on a node, for an error message ("" if unreadable).
async fn log_tail(remote: &Remote, path: &str) -> String {
    match remote
        .stdout(format!("tail -n 5 {} 2>/dev/null", q(path)))
        .await
    {
        Ok(t) if !t.trim().is_empty() => format!(
            "; end of its log:\n    {}",
            t.trim().replace('\n', "\n    ")
        ),
        _ => String::new(),
    }
}

fn remote_of<'a>(cluster: &'a Cluster, node: &str) -> Result<&'a Remote> {
    cluster
        .node(node)
        .ok_or_else(|| Error(format!("{node}: not a node of this cluster")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_beside_the_data_directory() {
        let m = Mount::new("n1", "/var/lib/shakedown/c/n1/etcd/data/", "/bin/sd");
        assert_eq!(m.dir, "/var/lib/shakedown/c/n1/etcd/data");
        assert_eq!(m.backing, "/var/lib/shakedown/c/n1/etcd/data.diskfs");
        assert_eq!(m.pid_file, "/var/lib/shakedown/c/n1/etcd/data.diskfs.pid");
        assert!(m.control.starts_with("/run/shakedown/diskfs-") && m.control.len() < 108);
        assert_ne!(m.control, Mount::new("n2", &m.dir, "/bin/sd").control);
        let f = MountFile::for_state(&crate::StateFile::new("/x/c/nodes.faults.json"));
        assert_eq!(f.path, Path::new("/x/c/nodes.mounts.json"));
        let f = MountFile::for_state(&crate::StateFile::new("/var/lib/shakedown/faults/t.json"));
        assert_eq!(
            f.path,
            Path::new("/var/lib/shakedown/faults/t.json.mounts.json")
        );
    }
}
