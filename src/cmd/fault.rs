//! `shakedown fault partition|kill|pause|power-loss|corrupt|clock|packet [options] --cluster NAME|--nodes-file F`:
//! apply one fault by hand and leave it active. The fault is recorded in
//! the state file beside the nodes file (`nodes.faults.json`), so
//! `shakedown heal` undoes it later, also from another shell.
//!
//! The cluster is always named: a fault command never falls back on a
//! default cluster (it would cut a cluster someone else is using). Random
//! picks take a fresh seed unless `--seed` is given, and print it.

use super::exit;
use harness::control::{local, lock};
use harness::control::{Cluster, Nodes};
use nemesis::{
    Effect, FaultOp, Grudge, Hooks, Injector, PacketSpec, PartitionTarget, ProcessHooks, Rng,
    StateFile, Targets,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    fault: Fault,
    #[command(flatten)]
    on: On,
}

/// Which cluster (shared with `shakedown heal`).
#[derive(clap::Args, Clone)]
pub struct On {
    /// A local cluster by name (its nodes file is /var/lib/shakedown/NAME/nodes.json).
    #[arg(long, global = true, conflicts_with = "nodes_file")]
    pub cluster: Option<String>,
    /// A nodes file (JSON: `ssh` settings and `nodes`).
    #[arg(long, global = true)]
    pub nodes_file: Option<PathBuf>,
    /// The fault state file (default: beside the nodes file, `*.faults.json`).
    #[arg(long, global = true)]
    pub state: Option<PathBuf>,
}

impl On {
    /// The nodes (if any could be found) and the state file. One of
    /// `--cluster`, `--nodes-file` or `--state` must be given.
    pub fn resolve(&self) -> Result<(Option<Nodes>, StateFile), String> {
        let nodes_file = match (&self.cluster, &self.nodes_file) {
            (Some(c), _) => {
                local::check_name(c).map_err(|e| e.to_string())?;
                Some(local::nodes_file(c))
            }
            (None, Some(f)) => Some(f.clone()),
            (None, None) if self.state.is_some() => None,
            (None, None) => {
                return Err(
                    "which cluster? give --cluster NAME (a local cluster), --nodes-file FILE or --state FILE"
                        .into(),
                )
            }
        };
        let state = match (&self.state, &nodes_file) {
            (Some(s), _) => StateFile::new(s),
            (None, Some(f)) => StateFile::for_nodes_file(f),
            (None, None) => unreachable!("either a state file or a nodes file"),
        };
        let nodes = match &nodes_file {
            // No nodes file but a state file (it names the nodes): heal can go on.
            Some(f) if !f.exists() && state.path.exists() => None,
            Some(f) => Some(Nodes::load(f)?),
            None => None,
        };
        Ok((nodes, state))
    }

    /// Locks the cluster for this command (one command per cluster at a
    /// time, `harness::control::lock`). A state file alone names no
    /// cluster: nothing to lock.
    pub fn lock(&self, nodes: Option<&Nodes>) -> Result<Option<lock::ClusterLock>, String> {
        let keys = match (&self.cluster, nodes) {
            (Some(name), _) => lock::local_keys(name),
            (None, Some(nodes)) => lock::nodes_keys(nodes),
            (None, None) => return Ok(None),
        };
        lock::acquire(&keys, &lock::this_command()).map(Some)
    }
}

#[derive(clap::Subcommand)]
enum Fault {
    /// Cut the network: each node drops traffic from the nodes it has a grudge against.
    Partition {
        /// How to split the nodes.
        #[arg(long, value_enum, default_value = "isolate")]
        mode: PartMode,
        /// The node to isolate (isolate mode; random otherwise).
        #[arg(long)]
        node: Option<String>,
        /// The grudge, as JSON: `{"n1": ["n2", "n3"]}` (grudge mode).
        #[arg(long)]
        grudge: Option<String>,
        /// Seed for the random picks (default: a fresh one, printed).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// SIGKILL the process named by the pid file; `heal` restarts it with --start.
    Kill {
        #[command(flatten)]
        proc: Proc,
        /// Shell script that starts the process again in the background
        /// (`{node}`, `{host}`, `{data_dir}` are replaced).
        #[arg(long)]
        start: String,
    },
    /// SIGSTOP the process named by the pid file; `heal` resumes it.
    Pause {
        #[command(flatten)]
        proc: Proc,
    },
    /// Cut the power: SIGKILL the process group named by the pid file and
    /// drop every write not yet fsync'ed on shakedown's write-back file
    /// system (mounted by a run with --leave-db-running, listed beside the
    /// nodes file); `heal` restarts it with --start.
    PowerLoss {
        #[command(flatten)]
        proc: Proc,
        /// Shell script that starts the process again in the background
        /// (`{node}`, `{host}`, `{data_dir}` are replaced).
        #[arg(long)]
        start: String,
    },
    /// With the process killed, corrupt files in data directories, then
    /// start it again with --start.
    Corrupt {
        #[command(flatten)]
        proc: Proc,
        #[arg(long)]
        start: String,
        /// The data directories on each node (comma-separated; `{node}`,
        /// `{host}`, `{data_dir}` are replaced).
        #[arg(long, value_delimiter = ',', required = true)]
        dirs: Vec<String>,
        /// Globs relative to each directory (comma-separated; default every file).
        #[arg(long, value_delimiter = ',')]
        files: Vec<String>,
        #[arg(long, value_enum, default_value = "bitflip")]
        mode: CorruptModeArg,
        /// For bitflip: the chance of each bit of a chosen chunk flipping.
        #[arg(long, default_value_t = 0.001)]
        probability: f64,
        /// Seed for the random picks (default: a fresh one, printed).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Skew clocks (the clock shim on local clusters, `date -s` elsewhere).
    Clock {
        /// Nodes (comma-separated; default all).
        #[arg(long, value_delimiter = ',')]
        nodes: Vec<String>,
        /// Move the clocks by this many ms.
        #[arg(long, allow_negative_numbers = true, conflicts_with_all = ["strobe_ms", "reset"])]
        bump_ms: Option<i64>,
        /// Flip the clocks by this many ms and back, every --period-ms for --duration-ms.
        #[arg(long, allow_negative_numbers = true, conflicts_with = "reset")]
        strobe_ms: Option<i64>,
        #[arg(long, default_value_t = 100)]
        period_ms: u64,
        #[arg(long, default_value_t = 5000)]
        duration_ms: u64,
        /// Every skewed clock back to true time.
        #[arg(long)]
        reset: bool,
    },
    /// Drop a fraction of packets (iptables); delay/duplicate/reorder/corrupt need tc netem.
    Packet {
        /// Nodes (comma-separated; default all).
        #[arg(long, value_delimiter = ',')]
        nodes: Vec<String>,
        /// Fraction of input packets dropped, 0..1.
        #[arg(long)]
        loss: Option<f64>,
        #[arg(long)]
        delay_ms: Option<u64>,
        #[arg(long)]
        jitter_ms: Option<u64>,
        /// Percent.
        #[arg(long)]
        duplicate: Option<f64>,
        /// Percent.
        #[arg(long)]
        reorder: Option<f64>,
        /// Percent.
        #[arg(long)]
        corrupt: Option<f64>,
    },
    /// Measure every node's clock offset (changes nothing).
    CheckOffsets,
}

#[derive(clap::ValueEnum, Clone, Copy)]
enum PartMode {
    Isolate,
    Halves,
    Majority,
    MajoritiesRing,
    Bridge,
    Grudge,
}

#[derive(clap::ValueEnum, Clone, Copy)]
enum CorruptModeArg {
    Bitflip,
    Truncate,
    Rollback,
}

#[derive(clap::Args)]
struct Proc {
    /// Nodes (comma-separated; default all).
    #[arg(long, value_delimiter = ',')]
    nodes: Vec<String>,
    /// The process's pid file on each node (`{node}`, `{host}`,
    /// `{data_dir}` are replaced).
    #[arg(long)]
    pid_file: String,
}

pub fn run(args: Args) -> ExitCode {
    match fault(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(exit::ERROR)
        }
    }
}

/// A seed that differs from one invocation to the next.
fn fresh_seed() -> u64 {
    results::time::now_unix_ms() ^ (u64::from(std::process::id()) << 32)
}

fn fill(template: &str, n: &harness::control::Node) -> String {
    template
        .replace("{node}", &n.name)
        .replace("{host}", &n.host)
        .replace("{data_dir}", n.data_dir.as_deref().unwrap_or(""))
}

fn fault(args: Args) -> Result<(), String> {
    if args.on.cluster.is_none() && args.on.nodes_file.is_none() {
        return Err(
            "which cluster? give --cluster NAME (a local cluster) or --nodes-file FILE".into(),
        );
    }
    let (nodes, file) = args.on.resolve()?;
    let _lock = args.on.lock(nodes.as_ref())?;
    let nodes = nodes.ok_or("no nodes: give --cluster NAME or --nodes-file FILE")?;
    let names = nodes.names();
    let pick = |v: &[String]| -> Result<Vec<String>, String> {
        for n in v {
            if !names.contains(n) {
                return Err(format!("no node {n:?} (nodes: {})", names.join(", ")));
            }
        }
        Ok(if v.is_empty() {
            names.clone()
        } else {
            v.to_vec()
        })
    };
    let mut hooks = Hooks::default();
    let mut disk_hooks: Option<nemesis::DiskHooks> = None;
    let op = match args.fault {
        Fault::Partition {
            mode,
            node,
            grudge,
            seed,
        } => {
            let random = !matches!(
                (mode, &node),
                (PartMode::Grudge, _) | (PartMode::Isolate, Some(_))
            );
            let seed = seed.unwrap_or_else(fresh_seed);
            let mut rng = Rng::seed(seed);
            let g = match mode {
                PartMode::Isolate => {
                    let n = match node {
                        Some(n) => pick(&[n])?.remove(0),
                        None => rng.pick(&names).clone(),
                    };
                    Grudge::isolate(&names, &n)
                }
                PartMode::Halves => Grudge::random_halves(&names, &mut rng),
                PartMode::Majority => Grudge::majority_minority(&names, &mut rng),
                PartMode::MajoritiesRing => Grudge::majorities_ring(&names, &mut rng),
                PartMode::Bridge => Grudge::bridge(&names, &mut rng),
                PartMode::Grudge => {
                    let text = grudge.ok_or("--mode grudge needs --grudge '{\"n1\": [\"n2\"]}'")?;
                    let g: Grudge = serde_json::from_str(&text).map_err(|e| {
                        format!("--grudge: expected {{\"node\": [\"node\", ...]}}: {e}")
                    })?;
                    g.validate(&names).map_err(|e| e.0)?
                }
            };
            if random {
                crate::outln!("seed {seed} (--seed {seed} repeats this pick)");
            }
            crate::outln!(
                "partition: {}",
                serde_json::to_string(&g).map_err(|e| e.to_string())?
            );
            FaultOp::StartPartition {
                target: PartitionTarget::Grudge(g),
            }
        }
        Fault::Kill { proc, start } => {
            let targets = pick(&proc.nodes)?;
            for n in &nodes.nodes {
                hooks.process.insert(
                    n.name.clone(),
                    ProcessHooks::new(fill(&proc.pid_file, n), fill(&start, n)),
                );
            }
            FaultOp::Kill {
                targets: Targets::Nodes(targets),
            }
        }
        Fault::Pause { proc } => {
            let targets = pick(&proc.nodes)?;
            for n in &nodes.nodes {
                hooks.process.insert(
                    n.name.clone(),
                    ProcessHooks::new(fill(&proc.pid_file, n), String::new()),
                );
            }
            FaultOp::Pause {
                targets: Targets::Nodes(targets),
            }
        }
        Fault::PowerLoss { proc, start } => {
            let targets = pick(&proc.nodes)?;
            let mounts = nemesis::disk::MountFile::for_state(&file)
                .load()
                .map_err(|e| e.0)?;
            let mut disk = nemesis::DiskHooks::default();
            for n in &nodes.nodes {
                hooks.process.insert(
                    n.name.clone(),
                    ProcessHooks::new(fill(&proc.pid_file, n), fill(&start, n)),
                );
                let on: Vec<_> = mounts
                    .mounts
                    .iter()
                    .filter(|m| m.node == n.name)
                    .cloned()
                    .collect();
                if targets.contains(&n.name) && on.is_empty() {
                    return Err(format!(
                        "{}: shakedown's write-back file system is not mounted there (power loss drops what it holds): run a test with `power-loss` among its faults and --leave-db-running, then cut the power by hand",
                        n.name
                    ));
                }
                disk.mounts.insert(n.name.clone(), on);
            }
            disk_hooks = Some(disk);
            FaultOp::PowerLoss {
                targets: Targets::Nodes(targets),
            }
        }
        Fault::Corrupt {
            proc,
            start,
            dirs,
            files,
            mode,
            probability,
            seed,
        } => {
            if !(probability > 0.0 && probability <= 1.0) {
                return Err(format!(
                    "--probability: expected a chance above 0 and at most 1, found {probability}"
                ));
            }
            let targets = pick(&proc.nodes)?;
            let mut disk = nemesis::DiskHooks::default();
            for n in &nodes.nodes {
                hooks.process.insert(
                    n.name.clone(),
                    ProcessHooks::new(fill(&proc.pid_file, n), fill(&start, n)),
                );
                disk.dirs
                    .insert(n.name.clone(), dirs.iter().map(|d| fill(d, n)).collect());
            }
            disk_hooks = Some(disk);
            let seed = seed.unwrap_or_else(fresh_seed);
            crate::outln!("seed {seed} (--seed {seed} repeats this corruption)");
            FaultOp::Corrupt {
                nodes: targets,
                spec: nemesis::CorruptSpec {
                    mode: match mode {
                        CorruptModeArg::Bitflip => nemesis::CorruptMode::Bitflip,
                        CorruptModeArg::Truncate => nemesis::CorruptMode::Truncate,
                        CorruptModeArg::Rollback => nemesis::CorruptMode::Rollback,
                    },
                    files: if files.is_empty() {
                        vec!["**".into()]
                    } else {
                        files
                    },
                    probability,
                    seed,
                },
            }
        }
        Fault::Clock {
            nodes: ns,
            bump_ms,
            strobe_ms,
            period_ms,
            duration_ms,
            reset,
        } => {
            let ns = pick(&ns)?;
            match (bump_ms, strobe_ms, reset) {
                (Some(b), None, false) => FaultOp::BumpClock {
                    deltas: ns.into_iter().map(|n| (n, b)).collect::<BTreeMap<_, _>>(),
                },
                (None, Some(s), false) => FaultOp::StrobeClock {
                    nodes: ns,
                    delta_ms: s,
                    period_ms,
                    duration_ms,
                },
                (None, None, true) => FaultOp::ResetClock,
                _ => return Err("give one of --bump-ms, --strobe-ms, --reset".into()),
            }
        }
        Fault::Packet {
            nodes: ns,
            loss,
            delay_ms,
            jitter_ms,
            duplicate,
            reorder,
            corrupt,
        } => {
            if let Some(p) = loss {
                if !(0.0..=1.0).contains(&p) {
                    return Err(format!("--loss must be in 0..1, not {p}"));
                }
            }
            let spec = PacketSpec {
                loss,
                delay_ms,
                jitter_ms,
                duplicate,
                reorder,
                corrupt,
            };
            if spec.is_empty() {
                return Err(
                    "give at least one of --loss, --delay-ms, --duplicate, --reorder, --corrupt"
                        .into(),
                );
            }
            FaultOp::StartPacket {
                nodes: pick(&ns)?,
                spec,
            }
        }
        Fault::CheckOffsets => FaultOp::CheckOffsets,
    };
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let cluster = Cluster::new(&nodes);
        if let Some(mut disk) = disk_hooks {
            disk.bin = nemesis::disk::install_binary(&cluster, &nodes)
                .await
                .map_err(|e| e.0)?;
            hooks.disk = Some(disk);
        }
        let mut inj =
            Injector::new(&nodes, cluster.clone(), hooks, Some(file.clone())).map_err(|e| e.0)?;
        let res = inj.apply(&op).await;
        let active = inj.leave_active();
        cluster.disconnect().await;
        let effect: Effect = res.map_err(|e| e.0)?;
        for w in &effect.warnings {
            eprintln!("warning: {w}");
        }
        crate::outln!("{} {}", effect.f, effect.value);
        if active.is_empty() {
            crate::outln!("active faults: none");
        } else {
            crate::outln!("active faults: {}", active.summary());
            crate::outln!(
                "recorded in {}; undo with: shakedown heal --state {}",
                file.path.display(),
                file.path.display()
            );
        }
        Ok(())
    })
}
