//! One test run, the whole of `shakedown run TEST.yaml` for one seed:
//!
//! 1. read the test file (CLI flags override it);
//! 2. reach the nodes: reuse or build the local cluster, or connect to the
//!    listed machines; a node that cannot be reached stops the run (exit 3);
//! 3. set up the OS (hostname, hosts file, packages), start the database on
//!    every node, wait until it serves;
//! 4. run the clients beside the nemesis for the time limit, recording the
//!    history as it goes (`history.jsonl`); heal every fault; let the
//!    cluster recover; final reads;
//! 5. download node logs, tear the database down (unless asked not to);
//! 6. check the history and write the run directory with its report.
//!
//! Faults are healed on every path: by the run loop after the main phase
//! (also after Ctrl-C), by the nemesis' injector when it is dropped (an
//! error, a panic unwinding), and by `shakedown heal` from the state file
//! after the controller itself was killed.

use crate::exit;
use crate::test_file::TestFile;
use harness::control::{self, local, Cluster, Nodes};
use harness::run::{self as run_loop, signals, Cancel, Progress, RecorderConfig, RunConfig};
use nemesis::schedule::FaultKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A failure of the harness itself (exit 3): one line a person understands.
struct Failed(String);

impl<E: std::fmt::Display> From<E> for Failed {
    fn from(e: E) -> Failed {
        Failed(e.to_string())
    }
}

/// How one run ended.
pub struct Report {
    /// The exit code of its verdict, or [`exit::ERROR`].
    pub code: u8,
    /// Its run directory, once made.
    pub run_dir: Option<PathBuf>,
    /// Stopped by Ctrl-C or a signal: the verdict covers part of the test.
    pub interrupted: bool,
    /// What results.json says, once written, and how many ops the history
    /// holds: what the command line prints.
    pub summary: Option<results::RunSummary>,
    pub ops: usize,
    /// The database was started and the clients ran (not interrupted
    /// during the setup).
    pub ran: bool,
}

impl Report {
    fn error() -> Report {
        Report {
            code: exit::ERROR,
            run_dir: None,
            interrupted: false,
            summary: None,
            ops: 0,
            ran: false,
        }
    }
}

/// Runs one test (the whole of `shakedown run` for one seed); a failure of
/// the harness is printed as one `error:` line and reported as
/// [`exit::ERROR`]. `results` overrides the test file's results directory.
pub async fn run_test(test: &TestFile, text: &str, results: Option<&Path>, seed: u64) -> Report {
    run_test_with(test, text, results, seed, None).await
}

/// A recorded fault schedule to apply instead of the seeded one, and the
/// run directory it comes from (`--replay`).
pub type Replay = (Vec<nemesis::replay::Step>, PathBuf);

/// [`run_test`], replaying `replay`'s fault schedule when given.
pub async fn run_test_with(
    test: &TestFile,
    text: &str,
    results: Option<&Path>,
    seed: u64,
    replay: Option<Replay>,
) -> Report {
    // From here on Ctrl-C, SIGTERM and SIGHUP interrupt the run wherever it
    // is (setup, run loop, teardown) instead of killing the controller.
    if let Err(e) = signals::install() {
        eprintln!("warning: cannot watch for signals: {e}");
    }
    match run_once(test, text, results, seed, replay).await {
        Ok(report) => report,
        Err(Failed(e)) => {
            eprintln!("error: {e}");
            Report::error()
        }
    }
}

/// Error beats invalid beats unknown beats valid.
pub fn worse(a: u8, b: u8) -> u8 {
    let rank = |c: u8| match c {
        exit::VALID => 0,
        exit::UNKNOWN => 1,
        exit::INVALID => 2,
        _ => 3,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// Where a test runs instead of where its test file says, and whether its
/// database is left running: the only settings `--replay` lets change.
#[derive(Clone, Debug, Default)]
pub struct Placement {
    /// A local cluster of this name (and /24).
    pub cluster: Option<String>,
    pub subnet: Option<std::net::Ipv4Addr>,
    /// The machines of a nodes file (JSON with `ssh` and `nodes`).
    pub nodes_file: Option<PathBuf>,
    /// The size of the local cluster.
    pub nodes: Option<usize>,
    pub leave_db_running: bool,
}

/// Where the test runs: `--cluster NAME [--subnet]` (a local cluster),
/// `--nodes-file FILE` (machines), `--nodes N` (local cluster size), and
/// `--leave-db-running`. The only overrides `--replay` accepts.
pub fn apply_placement(test: &mut TestFile, args: &Placement) -> Result<(), String> {
    if let Some(name) = &args.cluster {
        local::check_name(name).map_err(|e| format!("--cluster: {e}"))?;
        let size = match (&test.cluster, test.nodes.len()) {
            (Some(c), _) => c.local,
            (None, n) => n,
        };
        test.cluster = Some(crate::test_file::LocalClusterSpec {
            local: size,
            name: Some(name.clone()),
            subnet: args.subnet,
        });
        test.nodes.clear();
        test.ssh = None;
    }
    if let Some(file) = &args.nodes_file {
        let nodes = Nodes::load(file)?;
        test.cluster = None;
        test.nodes = nodes.nodes;
        test.ssh = Some(nodes.ssh);
    }
    if let Some(n) = args.nodes {
        match &mut test.cluster {
            Some(c) => c.local = n,
            None => {
                return Err(
                    "--nodes sets the size of a local cluster, but the test file lists its nodes"
                        .into(),
                )
            }
        }
    }
    if args.leave_db_running {
        test.leave_running = true;
    }
    Ok(())
}

async fn run_once(
    test: &TestFile,
    text: &str,
    results: Option<&Path>,
    seed: u64,
    replay: Option<Replay>,
) -> Result<Report, Failed> {
    let started_ms = results::time::now_unix_ms();
    // A signal during setup lets the setup finish, then the run loop ends
    // at once: the database that was starting is still torn down.
    let heal_command = heal_command(test);
    let interrupt = Cancel::new();
    let setup_watch = signals::watch(
        interrupt.clone(),
        heal_command.clone(),
        "the run stops once set up, tears the database down and writes its results",
    );
    // 1. The nodes.
    let (nodes, state_file, _cluster_lock) = reach_nodes(test).await?;
    let cluster = Cluster::new(&nodes);
    control::all_ok(cluster.connect_all().await)?;
    let names = nodes.names();
    // Faults a killed controller left behind (partitions, paused or killed
    // members, skewed clocks) would break the database's setup: undo them
    // before anything else.
    let healed = nemesis::heal(Some(&nodes), &state_file).await?;
    if !healed.is_empty() {
        eprintln!(
            "shakedown: healed {} fault(s) left by an earlier run",
            healed.len()
        );
    }

    // 2. The run directory, the test file as run, the log.
    let results_root = results
        .map(Path::to_path_buf)
        .or_else(|| test.results.clone())
        .unwrap_or_else(|| PathBuf::from("results"));
    let run_dir = results::RunDir::create(&results_root, &test.name, started_ms)?.path;
    // No secret in the published copy; run.json says how to run it again.
    std::fs::write(
        run_dir.join("test.yaml"),
        crate::replay::stored_test_file(text, seed, test),
    )?;
    let replay_of = replay.as_ref().map(|(_, dir)| dir.as_path());
    crate::replay::RunRecord::of(test, seed, &names, replay_of).write(&run_dir)?;
    init_log(&run_dir.join("shakedown.log"));
    tracing::info!(test = %test.name, seed, nodes = ?names, "run starting in {}", run_dir.display());
    eprintln!(
        "shakedown: {} on {} node(s); run directory {}",
        test.name,
        names.len(),
        run_dir.display()
    );

    // 3. The database.
    let target = test.target.build(targets::Ctx {
        nodes: nodes.nodes.clone(),
        test_dir: test.dir.clone(),
        run_id: format!("{}-{started_ms}", results::rundir::safe_name(&test.name)),
        // The clock shim only where clock faults are asked for: it turns
        // every clock read into a system call.
        db_env: nodes
            .nodes
            .iter()
            .filter(|n| {
                test.nemesis.faults.contains(&FaultKind::Clock)
                    && nemesis::clock::ClockMode::for_node(n) == nemesis::clock::ClockMode::Shim
            })
            .map(|n| Ok((n.name.clone(), nemesis::clock::clock_env(n)?)))
            .collect::<Result<_, nemesis::Error>>()?,
    });
    let target_name = target.name().to_string();
    if test.nemesis.faults.contains(&FaultKind::Clock)
        && nodes.nodes.iter().any(|n| n.netns.is_some())
        && !target.sees_clock_shim()
    {
        let why = format!("clock faults on local nodes work through a preloaded library that replaces libc's clock functions, and {target_name} does not read the clock through libc (Go reads it through the vDSO): the schedule runs and is recorded, but its clock is not skewed");
        eprintln!("warning: {why}");
        tracing::warn!("{why}");
    }
    eprintln!("shakedown: setting up the nodes, installing and starting {target_name}");
    // OS setup: each node's hostname and a hosts block naming every node,
    // and the database's packages (idempotent; waits for the dpkg lock).
    let mut packages = target.packages();
    if test.nemesis.faults.contains(&FaultKind::PowerLoss) {
        // shakedown's write-back file system mounts through fusermount3.
        packages.push("fuse3".into());
    }
    let packages: Vec<&str> = packages.iter().map(String::as_str).collect();
    control::debian::setup(&cluster, &packages).await?;
    // Whatever an earlier run left running is stopped first, so the
    // processes this run starts are the ones that serve.
    target.teardown(&cluster, false).await?;
    if interrupt.is_cancelled() {
        // Nothing ran, but the run directory exists: say so there, as an
        // interrupted run that is unknown, so a campaign sees the cell as
        // not complete and runs it again.
        let why = "interrupted before the database started: nothing was run";
        eprintln!("warning: {why}");
        let info = run_info(test, target_name, names, started_ms, true, None);
        let outputs = vec![results::CheckerOutput::error("run", "run", why)];
        let summary = results::write_run(&run_dir, &info, &history::History::default(), outputs)?;
        return Ok(Report {
            code: exit::UNKNOWN,
            run_dir: Some(run_dir),
            interrupted: true,
            summary: Some(summary),
            ops: 0,
            ran: false,
        });
    }
    // Disk faults: shakedown's write-back file system under the data
    // directories (power loss), the binary on the nodes (corruption).
    let mut disk = setup_disk(test, &*target, &cluster, &nodes, &state_file).await?;
    // Where each log ends now (under the disk's mounts, if any): this
    // run's copies start there, so a log an earlier run appended to holds
    // this run's output only. Taken again once install has run (which may
    // remove or empty a log: the process target's own).
    let mut marks = log_marks(&*target, &cluster, &nodes).await;
    let started = start_database(&*target, &cluster, &nodes, disk.mounts.as_ref(), &mut marks)
        .await
        .map_err(|e| {
            format!(
                "{target_name} did not come up: {e} (node logs in {})",
                run_dir.display()
            )
        });
    // The corrupt fault's globs, against the files the running database
    // has: one that matches nothing is a mistake to report now, not a
    // no-op (or an error) in the middle of the run.
    let checked = match (&started, &disk.hooks) {
        (Ok(()), Some(hooks)) if test.nemesis.faults.contains(&FaultKind::Corrupt) => {
            nemesis::disk::check_globs(
                &cluster,
                hooks,
                &test.nemesis.corrupt.globs(),
                "nemesis.corrupt.files",
            )
            .await
            .map_err(|e| e.0)
        }
        _ => Ok(()),
    };
    if let Err(why) = started.and(checked) {
        for p in download_logs(&*target, &cluster, &nodes, &run_dir, &marks).await {
            tracing::warn!("log download: {p}");
        }
        let _ = target.teardown(&cluster, true).await;
        if let Some(m) = disk.mounts.as_mut() {
            if let Err(e) = m.unmount_all().await {
                eprintln!("warning: unmount: {e}");
            }
        }
        return Err(Failed(why));
    }
    tracing::info!("{target_name} is up on every node");

    // 4. Clients and nemesis.
    let hooks = nemesis::Hooks {
        process: nodes
            .nodes
            .iter()
            .filter_map(|n| {
                target
                    .process(n)
                    .map(|p| (n.name.clone(), process_hooks(p)))
            })
            .collect(),
        primaries: target.primaries().map(|ask| -> nemesis::PrimariesHook {
            Arc::new(move |cluster| {
                let fut = ask(cluster);
                Box::pin(async move { fut.await.map_err(nemesis::Error) })
            })
        }),
        clock_mode: None,
        disk: disk.hooks.clone(),
    };
    let injector =
        nemesis::Injector::new(&nodes, cluster.clone(), hooks, Some(state_file.clone()))?;
    nemesis::install_panic_heal(state_file);
    let nem = match replay {
        Some((steps, _)) => nemesis::runner::ScheduledNemesis::replay(injector, steps),
        None => {
            let schedule = nemesis::Schedule::from_config(&test.nemesis, &names, seed)?;
            nemesis::runner::ScheduledNemesis::new(injector, schedule)
        }
    };
    // Which node was primary when, recorded beside the faults.
    let nem = targets::WatchPrimaries::new(
        nem,
        target.watch_primaries(),
        cluster.clone(),
        test.recovery_time,
    );

    // The online checkers, off the clients' path (see `crate::online`).
    let stop_main = Cancel::new();
    let stop_on_invalid = test.stop_on == Some(crate::test_file::StopOn::Invalid);
    let online = test
        .workload
        .online(checkers::online::Ticks::Every(Duration::from_millis(500)));
    let (online_task, tap) = if online.is_empty() {
        (None, None)
    } else {
        match crate::online::start(
            online,
            run_dir.join("history.jsonl"),
            stop_on_invalid.then(|| stop_main.clone()),
        ) {
            Ok((task, tap)) => (Some(task), Some(tap)),
            Err(e) => {
                eprintln!("warning: the online checkers did not start: {e}");
                (None, None)
            }
        }
    };
    if stop_on_invalid && online_task.is_none() {
        eprintln!(
            "warning: stop-on: invalid: the {} workload has no online checker; the run goes its full length",
            test.workload.name()
        );
    }

    let op_timeout = test.op_timeout;
    let connect = target
        .clients(&targets::ClientCtx {
            workload: &test.workload,
            run_dir: &run_dir,
            op_timeout,
        })
        .map_err(Failed)?;
    // Every client's answers are held to the workload's op shapes, here,
    // for built-in and exec clients alike: an answer that does not fit its
    // request is the client's error (info, restarted), never an anomaly.
    let connect = workloads::answer::Validated::new(connect, test.workload.clone());
    let cfg = RunConfig {
        nodes: names.clone(),
        concurrency: test.concurrency,
        rate: test.rate,
        time_limit: test.time_limit,
        op_timeout,
        recovery_time: test.recovery_time,
        final_time_limit: Duration::from_secs(60),
        seed,
        recorder: RecorderConfig {
            path: Some(run_dir.join("history.jsonl")),
            keep_in_memory: true,
            flush_interval: Duration::from_millis(500),
            tap,
        },
        progress: Progress::Auto,
        handle_ctrl_c: true,
        interrupt: interrupt.clone(),
        heal_command: heal_command.clone(),
        stop_main,
    };
    drop(setup_watch); // the run loop watches the signals now
    let outcome = run_loop::run(cfg, Arc::new(connect), test.workload.generator(), nem).await;
    // The run loop has dropped its end of the channel: the checkers finish
    // what the recorder wrote.
    let mut online = match online_task {
        Some(task) => tokio::task::spawn_blocking(move || task.finish())
            .await
            .ok(),
        None => None,
    };
    // An anomaly first seen after the main phase (in the final reads, or
    // caught up at the end) stopped nothing.
    if let Some(o) = online.as_mut() {
        if !matches!(&outcome, Ok(out) if out.stopped_early) {
            o.stopped_early = None;
        }
    }
    if let Some(o) = &online {
        eprintln!(
            "shakedown: online checkers: {} anomal{} in {} ops{}",
            o.anomaly_count,
            if o.anomaly_count == 1 { "y" } else { "ies" },
            o.ops,
            match &o.stopped_early {
                Some(_) => " (the main phase stopped at the first)",
                None => "",
            }
        );
    }
    let _teardown_watch = signals::watch(
        interrupt,
        heal_command,
        "finishing the teardown and the results",
    );

    // 5. Logs and teardown, whatever happened.
    for p in download_logs(&*target, &cluster, &nodes, &run_dir, &marks).await {
        tracing::warn!("log download: {p}");
    }
    if test.leave_running {
        eprintln!("shakedown: leaving {target_name} running (--leave-db-running)");
        if disk.mounts.is_some() {
            eprintln!("shakedown: its data directories stay on shakedown's write-back file system; `{}` stops it and unmounts them", self::heal_command(test));
            if let Some(m) = disk.mounts.as_mut() {
                // Listed in the mount file for that heal; not unmounted here.
                m.mounts.clear();
            }
        }
    } else {
        // Stopped, unmounted (flushed), then the data deleted: a mount
        // point cannot be removed while mounted.
        let stopped = match &disk.mounts {
            Some(_) => target.teardown(&cluster, true).await,
            None => Ok(()),
        };
        if let Some(m) = disk.mounts.as_mut() {
            if let Err(e) = m.unmount_all().await {
                eprintln!("warning: unmount: {e}");
            }
        }
        if let Err(e) = stopped.and(target.teardown(&cluster, false).await) {
            eprintln!("warning: teardown: {e}");
        }
    }
    cluster.disconnect().await;
    let outcome = outcome.map_err(Failed)?;
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
        tracing::warn!("{w}");
    }

    // 6. Check and write the run directory.
    eprintln!("shakedown: checking {} ops", outcome.history.len());
    let mut outputs = vec![match test.workload.check(&outcome.history) {
        Ok(checked) => crate::outputs::output(&checked, test.workload.checker()),
        Err(e) => results::CheckerOutput::error(test.workload.name(), "error", &e),
    }];
    // A run that tested nothing, or not what was asked, is not a pass.
    if let Some(why) = untrusted(test, &outcome) {
        eprintln!("warning: {why}");
        tracing::warn!("{why}");
        outputs.push(results::CheckerOutput::error("run", "run", &why));
    }
    let info = run_info(
        test,
        target_name,
        names,
        started_ms,
        outcome.interrupted,
        online,
    );
    let summary = results::write_run(&run_dir, &info, &outcome.history, outputs)?;
    let verdict = summary.valid;
    Ok(Report {
        // A test that did not run its course is unknown at best, never a pass.
        code: if outcome.interrupted {
            worse(exit::of(verdict), exit::UNKNOWN)
        } else {
            exit::of(verdict)
        },
        run_dir: Some(run_dir),
        interrupted: outcome.interrupted,
        summary: Some(summary),
        ops: outcome.history.len(),
        ran: true,
    })
}

/// What a run's disk faults need, made ready before the database starts.
struct Disk {
    mounts: Option<nemesis::disk::DiskMounts>,
    hooks: Option<nemesis::DiskHooks>,
}

/// For `power-loss`: the write-back file system mounted on every node's
/// data directories (checked first: `/dev/fuse`, `fuse3`, directories);
/// for `corrupt`: the data directories and the binary that corrupts them.
/// Nothing for other faults.
async fn setup_disk(
    test: &TestFile,
    target: &dyn targets::Target,
    cluster: &Cluster,
    nodes: &Nodes,
    state_file: &nemesis::StateFile,
) -> Result<Disk, Failed> {
    let faults = &test.nemesis.faults;
    let power = faults.contains(&FaultKind::PowerLoss);
    if !power && !faults.contains(&FaultKind::Corrupt) {
        return Ok(Disk {
            mounts: None,
            hooks: None,
        });
    }
    let disks: Vec<nemesis::disk::NodeDisk> = nodes
        .nodes
        .iter()
        .map(|n| nemesis::disk::NodeDisk {
            node: n.clone(),
            dirs: target.data_dirs(n),
            db_pid_file: target.process(n).map(|p| p.pid_file),
        })
        .collect();
    if let Some(d) = disks.iter().find(|d| d.dirs.is_empty()) {
        return Err(Failed(format!(
            "nemesis.faults: disk faults need the data directories of the database, and target {} declares none on {}",
            target.name(),
            d.node.name
        )));
    }
    let mounts = if power {
        eprintln!("shakedown: mounting the write-back file system on the data directories");
        Some(
            nemesis::disk::DiskMounts::mount_all(
                cluster,
                nodes,
                &disks,
                nemesis::disk::MountFile::for_state(state_file),
            )
            .await?,
        )
    } else {
        for d in &disks {
            let r = targets::remote(cluster, &d.node.name)?;
            nemesis::disk::preflight_dirs(r, &d.dirs).await?;
        }
        None
    };
    let bin = nemesis::disk::install_binary(cluster, nodes).await?;
    let hooks = nemesis::DiskHooks {
        bin,
        dirs: disks
            .iter()
            .map(|d| (d.node.name.clone(), d.dirs.clone()))
            .collect(),
        mounts: nodes
            .nodes
            .iter()
            .map(|n| {
                let m = mounts
                    .as_ref()
                    .map(|m| m.for_node(&n.name))
                    .unwrap_or_default();
                (n.name.clone(), m)
            })
            .collect(),
    };
    Ok(Disk {
        mounts,
        hooks: Some(hooks),
    })
}

/// What results.json says of the run besides its history, ending now.
fn run_info(
    test: &TestFile,
    target: String,
    nodes: Vec<String>,
    started_ms: u64,
    interrupted: bool,
    online: Option<checkers::online::OnlineSummary>,
) -> results::RunInfo {
    results::RunInfo {
        test: test.name.clone(),
        target: Some(target),
        workload: Some(test.workload.name().to_string()),
        nodes,
        start_unix_ms: Some(started_ms),
        end_unix_ms: Some(results::time::now_unix_ms()),
        source: None,
        interrupted,
        online,
    }
}

/// Why the run cannot be trusted to back a verdict of valid, if it cannot:
/// no client operation succeeded, the test asked for faults and none took
/// effect, or the nemesis itself failed.
fn untrusted(test: &TestFile, outcome: &run_loop::Outcome) -> Option<String> {
    let mut why = Vec::new();
    if let Some(nothing) = run_loop::Coverage::of(&outcome.history).tested_nothing() {
        why.push(nothing);
    }
    if !test.nemesis.faults.is_empty() && !outcome.interrupted {
        let activity = nemesis::Activity::of(&outcome.history);
        if activity.injected == 0 {
            let asked: Vec<String> = test
                .nemesis
                .faults
                .iter()
                .map(|f| format!("{f:?}").to_lowercase())
                .collect();
            let failed = if activity.failed.is_empty() {
                String::new()
            } else {
                format!(" ({})", activity.failed.join("; "))
            };
            why.push(format!(
                "the test asked for faults ({}) but none took effect{failed}",
                asked.join(", ")
            ));
        }
    }
    for w in &outcome.warnings {
        if w.contains("nemesis") {
            why.push(w.clone());
        }
    }
    // A final read that never answered (the database did not come back
    // after the faults) leaves what it kept unread: lost writes would go
    // unseen. What the checker did find still counts (invalid stays invalid).
    if !outcome.final_unanswered.is_empty() && !outcome.interrupted {
        let n = outcome.final_unanswered.len();
        let shown: Vec<&str> = outcome
            .final_unanswered
            .iter()
            .take(3)
            .map(String::as_str)
            .collect();
        why.push(format!(
            "{n} final op(s) never succeeded before the final phase ended ({}{}): what the database kept after the faults was not read",
            shown.join(", "),
            if n > 3 { ", ..." } else { "" }
        ));
    }
    if why.is_empty() {
        None
    } else {
        Some(format!("not a pass: {}", why.join("; ")))
    }
}

/// Installs, starts and waits for the database (`marks` taken again
/// between the two), then checks that every
/// node's process is one this run started and is still alive (a database
/// that could not bind its port may exit while an older one answers).
async fn start_database(
    target: &dyn targets::Target,
    cluster: &Cluster,
    nodes: &Nodes,
    mounts: Option<&nemesis::disk::DiskMounts>,
    marks: &mut std::collections::HashMap<(String, String), LogMark>,
) -> Result<(), control::Error> {
    target.install(cluster).await?;
    // What install wrote is durable: only what the database writes from
    // here on can be lost to a power failure.
    if let Some(m) = mounts {
        m.flush_all()
            .await
            .map_err(|e| control::Error::new("diskfs", control::ErrorKind::Local(e.0)))?;
    }
    *marks = log_marks(target, cluster, nodes).await;
    target.start(cluster).await?;
    for node in &nodes.nodes {
        let Some(p) = target.process(node) else {
            continue;
        };
        let remote = targets::remote(cluster, &node.name)?;
        if control::daemon::running(remote, &p.pid_file)
            .await?
            .is_none()
        {
            let tail = targets::log_tail(remote, &p.log, 5).await;
            return Err(control::Error::new(
                &node.name,
                control::ErrorKind::Local(format!(
                    "its process exited after starting (pid file {}){}",
                    p.pid_file,
                    if tail.is_empty() {
                        String::new()
                    } else {
                        format!("; end of its log:\n    {tail}")
                    }
                )),
            ));
        }
    }
    Ok(())
}

/// A log file's identity and length on its node: (inode, bytes).
type LogMark = (u64, u64);

/// Where each node's logs end before the database starts, by (node,
/// remote path); a log that does not exist yet is absent.
async fn log_marks(
    target: &dyn targets::Target,
    cluster: &Cluster,
    nodes: &Nodes,
) -> std::collections::HashMap<(String, String), LogMark> {
    let mut marks = std::collections::HashMap::new();
    for node in &nodes.nodes {
        let Some(remote) = cluster.node(&node.name) else {
            continue;
        };
        for log in target.logs(node) {
            if let Some(mark) = log_mark(remote, &log.remote).await {
                marks.insert((node.name.clone(), log.remote), mark);
            }
        }
    }
    marks
}

async fn log_mark(remote: &control::Remote, path: &str) -> Option<LogMark> {
    let cmd = format!(
        "stat -Lc '%i %s' -- {} 2>/dev/null",
        control::quote::q(path)
    );
    let out = remote.stdout(cmd).await.ok()?;
    let mut words = out.split_whitespace().map(|w| w.parse::<u64>().ok());
    Some((words.next()??, words.next()??))
}

/// Copies each node's logs to `<run>/<node>/`, each from where it ended
/// before this run's database started (`marks`; all of a log that was
/// replaced or cut since). Names are unique per node, first come first
/// served: the target's own logs (the process target's `process.log`)
/// come first, and a later log of the same name is kept under another.
/// Problems are returned, not fatal: logs are evidence, and the verdict
/// must not depend on them.
async fn download_logs(
    target: &dyn targets::Target,
    cluster: &Cluster,
    nodes: &Nodes,
    run_dir: &Path,
    marks: &std::collections::HashMap<(String, String), LogMark>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for node in &nodes.nodes {
        let Some(remote) = cluster.node(&node.name) else {
            continue;
        };
        let dest = run_dir.join(&node.name);
        if let Err(e) = std::fs::create_dir_all(&dest) {
            problems.push(format!("{}: {e}", dest.display()));
            continue;
        }
        let mut taken = std::collections::HashSet::new();
        for log in target.logs(node) {
            let name = unique_log_name(&mut taken, &log);
            if name != log.name {
                tracing::info!(
                    "{}: {} saved as {name} ({} is taken)",
                    node.name,
                    log.remote,
                    log.name
                );
            }
            let local = dest.join(&name);
            if let Err(e) = remote.download(&log.remote, &local).await {
                problems.push(e.to_string());
                continue;
            }
            let Some(&(inode, before)) = marks.get(&(node.name.clone(), log.remote.clone())) else {
                continue;
            };
            match log_mark(remote, &log.remote).await {
                Some((now_inode, now)) if now_inode == inode && now >= before && before > 0 => {
                    if let Err(e) = drop_prefix(&local, before) {
                        problems.push(format!("{}: {e}", local.display()));
                    }
                }
                _ => {}
            }
        }
    }
    problems
}

/// A name for `log` in its node's directory that no earlier log took:
/// its own, else `<parent dir>-<name>`, else `<stem>-<n>.<ext>`.
fn unique_log_name(
    taken: &mut std::collections::HashSet<String>,
    log: &targets::LogFile,
) -> String {
    let mut candidates = vec![log.name.clone()];
    if let Some(parent) = Path::new(&log.remote)
        .parent()
        .and_then(|p| p.file_name())
        .map(|p| p.to_string_lossy().into_owned())
    {
        candidates.push(format!("{parent}-{}", log.name));
    }
    let (stem, ext) = match log.name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
        _ => (log.name.clone(), String::new()),
    };
    for c in candidates {
        if taken.insert(c.clone()) {
            return c;
        }
    }
    (2..)
        .map(|n| format!("{stem}-{n}{ext}"))
        .find(|c| taken.insert(c.clone()))
        .expect("some name is free")
}

/// Drops the first `bytes` of a downloaded log (what earlier runs wrote).
fn drop_prefix(path: &Path, bytes: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    let mut from = std::fs::File::open(path)?;
    from.seek(SeekFrom::Start(bytes))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let part = path.with_file_name(format!(".{name}.part"));
    let mut to = std::fs::File::create(&part)?;
    std::io::copy(&mut from, &mut to)?;
    std::fs::rename(&part, path)
}

/// The command that heals this test's cluster (named when a second signal
/// quits before healing): its local cluster, or its state file.
fn heal_command(test: &TestFile) -> String {
    match test.local_cluster_name() {
        Some(name) => format!("shakedown heal --cluster {name}"),
        None => format!(
            "shakedown heal --state {}",
            fault_state_path(test).display()
        ),
    }
}

/// Where the nemesis keeps the faults of a test on listed machines.
fn fault_state_path(test: &TestFile) -> PathBuf {
    PathBuf::from("/var/lib/shakedown/faults")
        .join(format!("{}.json", results::rundir::safe_name(&test.name)))
}

/// The nodes and where the nemesis keeps its state: a local cluster (built
/// when missing or of another size), or the machines the test file lists.
/// The cluster's lock is taken first (before `cluster up` may rebuild it)
/// and held until the run ends.
async fn reach_nodes(
    test: &TestFile,
) -> Result<(Nodes, nemesis::StateFile, control::lock::ClusterLock), Failed> {
    let command = control::lock::this_command();
    if let Some(name) = test.local_cluster_name() {
        let held = control::lock::acquire(&control::lock::local_keys(&name), &command)?;
        let spec = test.cluster.as_ref().expect("a local cluster spec");
        // `up` reuses a healthy cluster of this size and rebuilds otherwise.
        let mut opts = local::Options::new(&name, spec.local);
        if let Some(subnet) = spec.subnet {
            opts = opts.subnet(subnet);
        }
        eprintln!(
            "shakedown: local cluster {name:?} with {} nodes",
            spec.local
        );
        let lc = tokio::task::spawn_blocking(move || local::up(&opts))
            .await
            .map_err(|e| Failed(format!("local cluster: {e}")))??;
        let state = nemesis::StateFile::for_nodes_file(&local::nodes_file(&name));
        return Ok((lc.nodes, state, held));
    }
    let nodes = Nodes {
        name: None,
        ssh: test.ssh.clone().unwrap_or_default(),
        nodes: test.nodes.clone(),
    };
    let held = control::lock::acquire(&control::lock::nodes_keys(&nodes), &command)?;
    let path = fault_state_path(test);
    let dir = path.parent().expect("a directory");
    std::fs::create_dir_all(dir).map_err(|e| Failed(format!("{}: {e}", dir.display())))?;
    let state = nemesis::StateFile::new(path);
    Ok((nodes, state, held))
}

fn process_hooks(p: targets::Process) -> nemesis::ProcessHooks {
    nemesis::ProcessHooks {
        pid_file: p.pid_file,
        start: p.start,
        env: Vec::new(),
        cwd: None,
        user: None,
        start_timeout_s: 10.0,
    }
}

/// The current run's `shakedown.log`: the tracing subscriber is
/// process-wide and installed once, so each run of a `--test-count` series
/// points it at its own file.
static RUN_LOG: std::sync::Mutex<Option<std::fs::File>> = std::sync::Mutex::new(None);

struct RunLog;

impl std::io::Write for RunLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match RUN_LOG.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some(f) => f.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match RUN_LOG.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

/// Sends the log to this run's `shakedown.log` (level from `SHAKEDOWN_LOG`,
/// default info).
fn init_log(path: &Path) {
    let file = match std::fs::File::create(path) {
        Ok(f) => Some(f),
        Err(e) => {
            eprintln!("warning: cannot write {}: {e}", path.display());
            None
        }
    };
    *RUN_LOG.lock().unwrap_or_else(|e| e.into_inner()) = file;
    let _ = tracing_subscriber::fmt()
        .with_writer(|| RunLog)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SHAKEDOWN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
}
