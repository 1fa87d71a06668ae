//! Fault injectors built on the harness control plane: partitions, process
//! kills and pauses, clock skew, packet loss; and the guarantee that every
//! fault is undone.
//!
//! - [`grudge`]: partitions as grudges (for each node, the nodes it drops
//!   traffic from) and their generators: isolate one node, random halves,
//!   majority / minority, majorities ring, bridge, the primaries, explicit.
//! - [`net`]: iptables (nftables where iptables is absent) in shakedown's
//!   own chains, packet loss with the `statistic` match, `tc netem` where
//!   the kernel has it.
//! - [`process`]: kill -9 / restart, SIGSTOP / SIGCONT by pid file.
//! - [`disk`]: shakedown's write-back file system under the data
//!   directories (mount, flush, drop unsynced writes, unmount), for the
//!   `power-loss` and `corrupt` faults.
//! - [`clock`]: bump, strobe, reset, check offsets (shakedown's clock shim on local
//!   clusters, `date -s` on real machines).
//! - [`schedule`]: the YAML config and a seeded, reproducible schedule of
//!   [`FaultOp`]s.
//! - [`Injector`]: applies ops, returns their exact [`Effect`] (an `info`
//!   op of process `nemesis`), keeps the [`ActiveFaults`] in a
//!   [`StateFile`], heals everything with [`Injector::heal_all`], and heals
//!   on drop if nobody did.
//! - [`runner::ScheduledNemesis`]: the schedule and an injector as a
//!   [`harness::run::Nemesis`] for the run loop.
//! - [`replay`]: a run's schedule read back from its history, to apply
//!   again (on the same cluster or, by node position, another).
//!
//! # How the run loop uses it
//!
//! ```ignore
//! let hooks = nemesis::Hooks { process: target.process_hooks(&nodes), primaries: target.primaries_hook(), ..Default::default() };
//! let file = nemesis::StateFile::for_nodes_file(&nodes_file);   // or StateFile::new(run_dir.join("faults.json"))
//! let injector = nemesis::Injector::new(&nodes, cluster.clone(), hooks, Some(file.clone()))?;
//! let schedule = nemesis::Schedule::from_config(&cfg.nemesis, &nodes.names(), seed)?;
//! let nem = nemesis::runner::ScheduledNemesis::new(injector, schedule);
//! harness::run::run(config, client, generator, nem).await;          // calls nem.heal() after the main phase
//! ```
//!
//! `ScheduledNemesis::heal` (called by the run loop after the main phase,
//! also after Ctrl-C) heals and records the stop ops; if the run loop
//! returns early or panics, dropping the nemesis heals synchronously. A
//! state file left by a crashed controller is loaded by `Injector::new`
//! and healed by `ScheduledNemesis::run` before its first step. After
//! a hard exit (SIGKILL, `std::process::exit`, a second Ctrl-C) the state
//! file remains for `shakedown heal --state FILE`.

pub mod clock;
pub mod disk;
pub mod grudge;
mod inject;
pub mod net;
pub mod process;
pub mod replay;
pub mod runner;
pub mod schedule;
pub mod state;

pub use grudge::{Grudge, Rng};
pub use inject::{
    heal, CorruptMode, CorruptSpec, DiskHooks, Effect, FaultOp, Hooks, Injector, PartitionTarget,
    PrimariesHook, Targets,
};
pub use net::PacketSpec;
pub use process::ProcessHooks;
pub use schedule::{FaultKind, NemesisConfig, Schedule};
pub use state::{ActiveFaults, ClockSkew, StateFile};

use std::fmt;

/// A nemesis failure, one line naming the node and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<harness::control::Error> for Error {
    fn from(e: harness::control::Error) -> Error {
        Error(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// A JSON value as a history value (maps keep their order).
pub fn json_value(v: &serde_json::Value) -> history::Value {
    use history::Value;
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(history::value::Float(n.as_f64().unwrap_or(f64::NAN))),
        },
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(a) => Value::List(a.iter().map(json_value).collect()),
        serde_json::Value::Object(m) => Value::Map(
            m.iter()
                .map(|(k, v)| (Value::Str(k.clone()), json_value(v)))
                .collect(),
        ),
    }
}

/// Heal from a state file if the process panics, for builds with
/// `panic = "abort"`, where destructors (the [`Injector`]'s heal on drop)
/// do not run. Chains the existing hook; the heal runs on a fresh runtime
/// in a helper thread. Do not install it in unwinding builds: the hook also
/// fires for panics that are caught (a panicking client task the run loop
/// survives) and would heal in the middle of the run.
pub fn install_panic_heal(file: StateFile) {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        prev(info);
        let f = file.clone();
        let r = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error(e.to_string()))?;
            rt.block_on(heal(None, &f)).map(|_| ())
        })
        .join();
        match r {
            Ok(Ok(())) => eprintln!("nemesis: healed every fault after the panic"),
            Ok(Err(e)) => eprintln!("nemesis: heal after panic: {e}"),
            Err(_) => eprintln!("nemesis: heal after panic: the heal thread panicked"),
        }
    }));
}

/// Names of the nemesis ops that start a fault (see [`FaultOp::f`]).
pub const FAULT_STARTS: &[&str] = &[
    "start-partition",
    "kill",
    "pause",
    "power-loss",
    "corrupt",
    "bump-clock",
    "strobe-clock",
    "start-packet",
];

/// What the nemesis really did during a run, read back from the history:
/// a run that asked for faults is only trusted if some took effect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    /// Fault starts that took effect.
    pub injected: usize,
    /// Fault starts that failed, with their error (`kill: n2: ...`).
    pub failed: Vec<String>,
}

impl Activity {
    pub fn of(history: &history::History) -> Activity {
        let mut a = Activity::default();
        for op in history.ops() {
            if !op.process.is_nemesis() || !FAULT_STARTS.contains(&op.f.as_str()) {
                continue;
            }
            match op.value.get("error") {
                Some(e) => a
                    .failed
                    .push(format!("{}: {}", op.f, e.as_str().unwrap_or("failed"))),
                None => a.injected += 1,
            }
        }
        a
    }
}
