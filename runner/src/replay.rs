//! `shakedown run --replay RUN_DIR [TEST]`: run a test again exactly as a
//! stored run ran it: the same test file, the same settings (command-line
//! overrides included), the same seed, and the same fault schedule (the
//! same fault kinds on the same targets at the same offsets from the start
//! of the client phase), on the same cluster or another one.
//!
//! What a run directory holds for this:
//! - `test.yaml`: the test file as run ([`stored_test_file`]), secrets
//!   redacted;
//! - `run.json`: the effective settings, the seed, the node names, the
//!   local cluster it ran on and the test file's directory ([`RunRecord`],
//!   written when the run starts);
//! - `history.jsonl`: each nemesis step with the fault it applied and when
//!   it began ([`nemesis::replay`]);
//! - `results.json`: written when the run finished; an interrupted or
//!   unfinished run stopped its schedule early and is not replayed.
//!
//! Secrets: the stored copy has them replaced by `<redacted>`. Such a run
//! is replayed only when the test file it was run from is given as TEST
//! and matches the stored copy apart from its secrets, whose values are
//! then taken from TEST; otherwise it is an error. TEST, when given, must
//! always match the stored copy that way, and its directory is where the
//! test's relative paths start (else the recorded `test-dir`).
//!
//! Where: by default where the run ran (its local cluster, or the machines
//! its test file lists; a run on the machines of a `--nodes-file` needs it
//! again, as the file is not kept). Another cluster: `--cluster NAME
//! [--subnet A.B.C.0]` (a local cluster) or `--nodes-file FILE` (machines,
//! JSON with `ssh` and `nodes`) replace where the test runs; the run's i-th node is then the new cluster's i-th
//! node. A recorded fault naming a node the new cluster lacks is an error
//! before any node is touched.

use crate::run::Placement;
use crate::test_file::{redact_secrets, TestFile};
use nemesis::replay::{recorded_steps, NodeMap, Step};
use nemesis::FaultKind;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file in a run directory recording how the run was run.
pub const RUN_FILE: &str = "run.json";

/// How a run was run: everything besides the test file that a replay
/// needs to run it the same way.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RunRecord {
    /// The shakedown version that ran it.
    pub shakedown: String,
    pub seed: u64,
    /// Where the test file was: its relative paths are relative to it.
    pub test_dir: PathBuf,
    /// The run's nodes, in order (faults map onto another cluster by position).
    pub nodes: Vec<String>,
    /// The effective settings (after command-line overrides).
    pub time_limit_ms: u64,
    pub concurrency: usize,
    pub rate: Option<f64>,
    pub faults: Vec<FaultKind>,
    /// The local cluster the run used (after `--cluster`, `--nodes`);
    /// none: it ran on listed machines.
    pub local_cluster: Option<LocalCluster>,
    /// The run directory this run replayed, if it was a replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<PathBuf>,
}

/// A local cluster: name, /24 and size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LocalCluster {
    pub name: String,
    pub subnet: Option<std::net::Ipv4Addr>,
    pub nodes: usize,
}

impl RunRecord {
    pub fn of(test: &TestFile, seed: u64, nodes: &[String], replay_of: Option<&Path>) -> RunRecord {
        RunRecord {
            shakedown: env!("CARGO_PKG_VERSION").to_string(),
            seed,
            test_dir: std::fs::canonicalize(&test.dir).unwrap_or_else(|_| test.dir.clone()),
            nodes: nodes.to_vec(),
            time_limit_ms: u64::try_from(test.time_limit.as_millis()).unwrap_or(u64::MAX),
            concurrency: test.concurrency,
            rate: test.rate,
            faults: test.nemesis.faults.clone(),
            local_cluster: test.cluster.as_ref().map(|c| LocalCluster {
                name: test.local_cluster_name().unwrap_or_default(),
                subnet: c.subnet,
                nodes: c.local,
            }),
            replay_of: replay_of.map(Path::to_path_buf),
        }
    }

    pub fn write(&self, run_dir: &Path) -> Result<(), String> {
        let path = run_dir.join(RUN_FILE);
        let json = serde_json::to_string_pretty(self).expect("plain data");
        std::fs::write(&path, json + "\n").map_err(|e| format!("{}: {e}", path.display()))
    }

    fn read(run_dir: &Path) -> Result<RunRecord, String> {
        let path = run_dir.join(RUN_FILE);
        let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "{}: missing: the run was made by a shakedown without --replay support, or {} is not a run directory",
                path.display(),
                run_dir.display()
            ),
            _ => format!("{}: {e}", path.display()),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
    }
}

const EFFECTIVE: &str = "\n# effective: ";

/// The run directory's copy of the test file: a header line, the test file
/// (secrets redacted), and a last comment line with the effective settings.
pub fn stored_test_file(text: &str, seed: u64, test: &TestFile) -> String {
    format!(
        "# as run by shakedown {} (seed {seed}; command-line overrides applied below the file)\n{}{EFFECTIVE}time-limit {:?}, concurrency {}, rate {:?}, faults {:?}, seed {seed}\n",
        env!("CARGO_PKG_VERSION"),
        redact_secrets(text),
        test.time_limit,
        test.concurrency,
        test.rate,
        test.nemesis.faults,
    )
}

/// The test file inside a [`stored_test_file`].
fn stored_body(stored: &str) -> Option<&str> {
    let (header, rest) = stored.split_once('\n')?;
    if !header.starts_with("# as run by shakedown ") {
        return None;
    }
    let end = rest.rfind(EFFECTIVE)?;
    Some(&rest[..end])
}

/// What a replay runs: the test, its text, the seed and the steps.
pub struct Plan {
    pub test: TestFile,
    pub text: String,
    pub seed: u64,
    pub steps: Vec<Step>,
    pub run_dir: PathBuf,
}

/// Reads and checks everything the replay needs, touching no node: the
/// run in `run_dir`, `test` (the file it was made from, when given) and
/// where it runs now. Settings that would change the run (time limit,
/// concurrency, seed ...) are the caller's to refuse.
pub fn plan(test_path: Option<&Path>, args: &Placement, run_dir: &Path) -> Result<Plan, String> {
    if !run_dir.is_dir() {
        return Err(format!("{}: no such run directory", run_dir.display()));
    }
    let record = RunRecord::read(run_dir)?;
    let summary = results::rundir::read_summary(run_dir).map_err(|e| match e {
        results::rundir::Error::Io(p, io) if io.kind() == std::io::ErrorKind::NotFound => format!(
            "{}: missing: the run did not finish (its controller stopped), so its fault schedule may end early",
            p.display()
        ),
        e => e.to_string(),
    })?;
    if summary.interrupted {
        return Err(format!(
            "{}: the run was interrupted, so its fault schedule ends early; replay a run that ran its course",
            run_dir.join(results::rundir::RESULTS_FILE).display()
        ));
    }

    // The test file, with its secrets from TEST when they were redacted.
    let stored_path = run_dir.join(results::rundir::TEST_FILE);
    let stored = std::fs::read_to_string(&stored_path)
        .map_err(|e| format!("{}: {e}", stored_path.display()))?;
    let body = stored_body(&stored).ok_or_else(|| {
        format!(
            "{}: not a test file as shakedown run stores it (no `# as run by` header or `# effective:` line)",
            stored_path.display()
        )
    })?;
    let redacted = body.contains(harness::control::REDACTED);
    let text = match test_path {
        Some(given) => {
            let text = std::fs::read_to_string(given)
                .map_err(|e| format!("{}: cannot read the test file: {e}", given.display()))?;
            if redact_secrets(&text) != body {
                return Err(format!(
                    "{}: differs from the test file the run stored ({}) in more than its secrets; give the file the run was made from, or none",
                    given.display(),
                    stored_path.display()
                ));
            }
            text
        }
        None if redacted => {
            return Err(format!(
                "{}: its secrets were redacted (`{}`); give the test file the run was made from, whose secrets are used: shakedown run --replay {} TEST.yaml",
                stored_path.display(),
                harness::control::REDACTED,
                run_dir.display()
            ))
        }
        None => body.to_string(),
    };
    // Relative paths (files to copy, the client program) from beside the
    // given test file, else from where the run's test file was.
    let test_dir = match test_path.map(Path::parent) {
        Some(Some(d)) if !d.as_os_str().is_empty() => d.to_path_buf(),
        Some(_) => PathBuf::from("."),
        None => record.test_dir.clone(),
    };
    let in_file = |e: String| format!("{}: {e}", stored_path.display());
    let mut test = TestFile::parse_in(&text, &test_dir).map_err(in_file)?;
    for w in test.resolve_ssh_config().map_err(in_file)? {
        eprintln!("warning: {w}");
    }

    // The run's settings, then where this replay runs.
    test.time_limit = Duration::from_millis(record.time_limit_ms);
    test.concurrency = record.concurrency;
    test.rate = record.rate;
    test.nemesis.faults = record.faults.clone();
    test.seed = Some(record.seed);
    // Where the run ran, unless told where to replay it.
    let placed = args.cluster.is_some() || args.nodes_file.is_some();
    match &record.local_cluster {
        Some(c) => {
            test.cluster = Some(crate::test_file::LocalClusterSpec {
                local: c.nodes,
                name: Some(c.name.clone()),
                subnet: c.subnet,
            });
            test.nodes.clear();
        }
        None if test.cluster.is_some() && !placed => {
            return Err(format!(
                "{}: the run ran on the machines of a nodes file (--nodes-file), not on its test file's local cluster; say where to replay it with --nodes-file FILE or --cluster NAME",
                run_dir.join(RUN_FILE).display()
            ))
        }
        None => {}
    }
    crate::run::apply_placement(&mut test, args)?;
    let names = test.node_names();
    let map = NodeMap::new(&record.nodes, &names);
    if let Some(g) = &test.nemesis.partition.grudge {
        test.nemesis.partition.grudge = Some(
            map.grudge(g)
                .map_err(|e| format!("{}: nemesis.partition.grudge {e}", stored_path.display()))?,
        );
    }
    test.validate().map_err(in_file)?;

    // The schedule.
    let history_path = run_dir.join(results::rundir::HISTORY_FILE);
    if !history_path.is_file() {
        return Err(format!(
            "{}: missing: no history, so no fault schedule to replay",
            history_path.display()
        ));
    }
    let history = harness::run::read_history(&history_path)?;
    let in_history = |e: String| format!("{}: {e}", history_path.display());
    let steps = recorded_steps(&history).map_err(in_history)?;
    if steps.is_empty() && !record.faults.is_empty() {
        return Err(in_history(format!(
            "the test asked for faults ({}) but no nemesis step is recorded: nothing to replay",
            kinds(&record.faults)
        )));
    }
    let steps = map.steps(&steps).map_err(in_history)?;

    let mapping = if map.is_identity() {
        String::new()
    } else {
        let pairs: Vec<String> = record
            .nodes
            .iter()
            .zip(&names)
            .map(|(a, b)| format!("{a}->{b}"))
            .collect();
        format!("; nodes by position: {}", pairs.join(" "))
    };
    eprintln!(
        "shakedown: replaying {}: seed {}, {} fault step(s){}{mapping}",
        run_dir.display(),
        record.seed,
        steps.len(),
        if redacted {
            format!(
                "; secrets from {}",
                test_path
                    .map(Path::display)
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            )
        } else {
            String::new()
        }
    );
    Ok(Plan {
        test,
        text,
        seed: record.seed,
        steps,
        run_dir: std::fs::canonicalize(run_dir).unwrap_or_else(|_| run_dir.to_path_buf()),
    })
}

fn kinds(faults: &[FaultKind]) -> String {
    faults
        .iter()
        .map(|f| format!("{f:?}").to_lowercase())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST: &str = "name: t\ntarget: {name: process, start: 'mydb --listen {host}', ready: 'true', client: {command: [/bin/cat]}}\ncluster: {local: 3}\nworkload: {name: register}\nssh:\n  sudo-password: {value: hunter2}\n";

    #[test]
    fn the_stored_copy_gives_back_the_test_file() {
        let test = TestFile::parse(TEST).unwrap();
        let stored = stored_test_file(TEST, 7, &test);
        assert!(stored.starts_with("# as run by shakedown "));
        assert!(stored.contains("# effective: time-limit 60s"), "{stored}");
        let body = stored_body(&stored).unwrap();
        assert_eq!(body, redact_secrets(TEST));
        assert!(body.contains(harness::control::REDACTED) && !body.contains("hunter2"));
        assert_eq!(stored_body("name: t\n"), None);
    }

    #[test]
    fn the_run_record_reads_back() {
        let test = TestFile::parse(TEST).unwrap();
        let names: Vec<String> = vec!["n1".into(), "n2".into(), "n3".into()];
        let r = RunRecord::of(&test, 42, &names, None);
        let dir = tempfile::tempdir().unwrap();
        r.write(dir.path()).unwrap();
        assert_eq!(RunRecord::read(dir.path()).unwrap(), r);
        assert_eq!(
            r.local_cluster,
            Some(LocalCluster {
                name: "local".into(),
                subnet: None,
                nodes: 3
            })
        );
        assert_eq!(r.time_limit_ms, 60_000);
        let e = RunRecord::read(&dir.path().join("nope")).unwrap_err();
        assert!(e.contains("nope/run.json: missing"), "{e}");
    }
}
