//! `shakedown run` against real Redis (servers, replicas, Sentinels) on
//! local clusters: the ground truth of the Redis target.
//!
//! - no faults: `set` is VALID, nothing lost;
//! - the primary cut off longer than a failover: `set` is INVALID and names
//!   the acknowledged adds the old primary threw away; the history records
//!   the failover (two servers saying they are primary) beside the
//!   partition;
//! - `wait: 2` (five nodes): the cut-off primary's writes are no longer
//!   acknowledged (`info`: WAIT saw no replica); none lost in our runs;
//! - the primary killed: Sentinel fails over, clients follow, and what the
//!   checker calls lost really is missing from a node (checked against
//!   `SMEMBERS` on each node, the database left running for it);
//! - bad input: Sentinels that cannot see each other (never able to fail
//!   over), a node without redis-server, a wrong option, an impossible
//!   quorum: one clear error and nothing left running;
//! - clock faults cannot reach Redis on local nodes: redis-server does not
//!   come up under libfaketime (a canary for when that changes).
//!
//! Needs root (CI is root); skipped with a message otherwise. Each test has
//! its own cluster name (rd1..rd9) and subnet (10.77.186-194.0/24).

use harness::control::{local, Nodes};
use history::{OpType, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn shakedown() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shakedown"))
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

macro_rules! require_root {
    () => {
        if !local::is_root() {
            eprintln!("skipped: needs root (network namespaces, sshd, iptables, redis)");
            return;
        }
    };
}

/// The pid files the Redis target keeps on a node.
fn pid_files(data_dir: &str) -> [PathBuf; 2] {
    let d = Path::new(data_dir).join("redis");
    [d.join("redis.pid"), d.join("sentinel.pid")]
}

/// Kills whatever Redis a test left (by pid file) and takes the cluster
/// down, passed or failed.
struct ClusterGuard(&'static str);

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        if let Ok(nodes) = Nodes::load(&local::nodes_file(self.0)) {
            for n in &nodes.nodes {
                for pid in pid_files(n.data_dir.as_deref().unwrap_or("/nonexistent")) {
                    if let Ok(p) = std::fs::read_to_string(&pid) {
                        let _ = Command::new("kill").args(["-9", "--", p.trim()]).status();
                    }
                }
            }
        }
        let _ = shakedown()
            .args(["cluster", "down", "--name", self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn cluster_up(name: &str, nodes: usize, subnet: &str) -> Nodes {
    let up = shakedown()
        .args(["cluster", "up", "--name", name, "--nodes"])
        .arg(nodes.to_string())
        .args(["--subnet", subnet])
        .output()
        .unwrap();
    assert!(up.status.success(), "{:?}", text(&up));
    Nodes::load(&local::nodes_file(name)).unwrap()
}

/// Runs a test file; returns (exit code, stdout, stderr, run directory).
fn run(dir: &Path, yaml: &str, extra: &[&str]) -> (Option<i32>, String, String, PathBuf) {
    let test = dir.join("test.yaml");
    std::fs::write(&test, yaml).unwrap();
    let results = dir.join("results");
    let out = shakedown()
        .arg("run")
        .arg(&test)
        .arg("--results")
        .arg(&results)
        .args(extra)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    let run = std::fs::canonicalize(results.join("latest")).unwrap_or_default();
    (out.status.code(), stdout, stderr, run)
}

/// No redis-server or redis-sentinel of this cluster is alive: no pid file
/// left, and no process whose command line names one of its directories.
fn assert_nothing_running(cluster: &str) {
    let nodes = Nodes::load(&local::nodes_file(cluster)).unwrap();
    let ps = Command::new("ps")
        .args(["-eo", "pid,args"])
        .output()
        .unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    for n in &nodes.nodes {
        let data = n.data_dir.as_deref().unwrap();
        for pid in pid_files(data) {
            assert!(!pid.exists(), "{} left behind", pid.display());
        }
        let dir = format!("{data}/redis/");
        if let Some(line) = ps.lines().find(|l| l.contains(&dir)) {
            panic!("{}: still running: {line}", n.name);
        }
    }
}

fn history_of(run: &Path) -> history::History {
    history::read_file(&run.join("history.jsonl"), None).unwrap()
}

/// The primaries recorded as the run went (process `primaries`), in order.
fn primaries_seen(h: &history::History) -> Vec<Vec<String>> {
    h.ops()
        .iter()
        .filter(|op| op.process == history::Process::Named("primaries".into()))
        .map(|op| {
            op.value
                .as_list()
                .unwrap_or(&[])
                .iter()
                .filter_map(|v| match v {
                    Value::Str(s) => Some(s.clone()),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

/// The set checker's result in results.json.
fn set_result(run: &Path) -> serde_json::Value {
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    let mut found = None;
    find_key(&r, "lost_count", &mut found);
    found.expect("a set result in results.json")
}

fn find_key(v: &serde_json::Value, key: &str, found: &mut Option<serde_json::Value>) {
    match v {
        serde_json::Value::Object(m) => {
            if m.contains_key(key) {
                *found = Some(v.clone());
                return;
            }
            for x in m.values() {
                find_key(x, key, found);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| find_key(x, key, found)),
        _ => {}
    }
}

#[test]
fn set_without_faults_is_valid_and_nothing_is_lost() {
    require_root!();
    let _guard = ClusterGuard("rd1");
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr, run) = run(
        dir.path(),
        "name: redis-set-calm
target: redis
cluster: {local: 3, name: rd1, subnet: 10.77.186.0}
workload: {name: set}
concurrency: 6
rate: 100
time-limit: 15s
recovery-time: 2s
",
        &[],
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("redis-set-calm  VALID"), "{stdout}");
    let r = set_result(&run);
    assert_eq!(r["lost_count"], 0, "{r}");
    assert_eq!(r["final_reads"], 3, "one final read per node: {r}");
    assert!(r["acknowledged"].as_u64().unwrap() > 500, "{r}");
    // The primary was watched: n1 throughout.
    assert_eq!(
        primaries_seen(&history_of(&run)),
        vec![vec!["n1".to_string()]]
    );
    for f in ["n1/redis.log", "n2/sentinel.log", "report.html"] {
        assert!(run.join(f).is_file(), "{f} missing in {}", run.display());
    }
    assert_nothing_running("rd1");
}

/// Jepsen's Redis finding: the primary is cut off from the replicas and
/// Sentinels (not from the clients) for longer than a failover; clients
/// go on writing to it; Sentinel promotes a replica; when the partition
/// heals the old primary becomes a replica and drops what it took.
const PARTITION_PRIMARY: &str = "target: redis
workload: {name: set}
concurrency: 6
rate: 150
time-limit: 30s
recovery-time: 12s
op-timeout: 5s
nemesis:
  faults: [partition]
  interval: 12
  partition: {modes: [primaries]}
";

#[test]
fn cutting_the_primary_off_loses_acknowledged_writes() {
    require_root!();
    let _guard = ClusterGuard("rd2");
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "name: redis-set-partition\ncluster: {{local: 3, name: rd2, subnet: 10.77.187.0}}\nseed: 5\n{PARTITION_PRIMARY}"
    );
    let (code, stdout, stderr, run) = run(dir.path(), &yaml, &[]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("redis-set-partition  INVALID"), "{stdout}");
    let r = set_result(&run);
    assert!(r["lost_count"].as_u64().unwrap() > 0, "{r}");
    assert!(!r["lost"].as_array().unwrap().is_empty(), "named: {r}");
    assert!(r["explanation"].as_str().unwrap().contains("lost"), "{r}");
    // The history shows the partition and, beside it, two servers that
    // each said they were primary (the old one, cut off, and the one
    // Sentinel promoted), then one again.
    let h = history_of(&run);
    assert!(
        h.ops()
            .iter()
            .any(|op| op.process.is_nemesis() && op.f == "start-partition"),
        "no partition recorded"
    );
    let seen = primaries_seen(&h);
    assert!(
        seen.iter().any(|p| p.len() == 2),
        "no split brain seen: {seen:?}"
    );
    assert!(
        seen.iter().any(|p| p.len() == 1 && p[0] != "n1"),
        "no failover away from n1 seen: {seen:?}"
    );
    assert_nothing_running("rd2");
}

#[test]
fn wait_for_two_replicas_makes_the_cut_off_primarys_writes_unknown() {
    require_root!();
    let _guard = ClusterGuard("rd3");
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "name: redis-set-wait\ncluster: {{local: 5, name: rd3, subnet: 10.77.188.0}}\nseed: 5\n{}",
        PARTITION_PRIMARY.replace("target: redis", "target: {name: redis, wait: 2}")
    );
    let (code, stdout, stderr, run) = run(dir.path(), &yaml, &[]);
    let r = set_result(&run);
    eprintln!("wait 2: exit {code:?}; {r}");
    assert!(matches!(code, Some(0 | 1)), "{stdout}\n{stderr}");
    // WAIT made the old primary's writes unconfirmed: they are `info`, not
    // `ok`, once it is cut off.
    assert!(r["unknown"].as_u64().unwrap() > 0, "{r}");
    assert_nothing_running("rd3");
}

/// The same partition under the counter and queue workloads: increments
/// the old primary acknowledged vanish (reads below what acknowledged adds
/// require), and a queue loses enqueues and hands out twice what was
/// dequeued from the old primary (the new one still had it).
#[test]
fn cutting_the_primary_off_loses_increments() {
    require_root!();
    let result = partition_run("counter", "rd8", "10.77.193.0");
    assert!(result["bad_read_count"].as_u64().unwrap() > 0, "{result}");
}

#[test]
fn cutting_the_primary_off_loses_enqueues_and_duplicates_dequeues() {
    require_root!();
    let result = partition_run("queue", "rd9", "10.77.194.0");
    assert!(result["drained"].as_bool().unwrap(), "{result}");
    let lost = result["lost_count"].as_u64().unwrap();
    let dup = result["duplicated_count"].as_u64().unwrap();
    assert!(lost + dup > 0, "{result}");
}

/// [`PARTITION_PRIMARY`] with another workload: INVALID, nothing left
/// running; the checker's result.
fn partition_run(workload: &str, cluster: &'static str, subnet: &str) -> serde_json::Value {
    let _guard = ClusterGuard(cluster);
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "name: redis-{workload}-partition\ncluster: {{local: 3, name: {cluster}, subnet: {subnet}}}\nseed: 4\n{}",
        PARTITION_PRIMARY.replace(
            "workload: {name: set}",
            &format!("workload: {{name: {workload}}}")
        )
    );
    let (code, stdout, stderr, run) = run(dir.path(), &yaml, &[]);
    assert_eq!(code, Some(1), "{workload}: {stdout}\n{stderr}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    let result = r["checkers"][0]["result"].clone();
    let text = result.to_string();
    eprintln!("{workload}: {}", &text[..text.len().min(600)]);
    assert_nothing_running(cluster);
    result
}

#[test]
fn killing_the_primary_fails_over_clients_follow_and_lost_means_missing() {
    require_root!();
    let _guard = ClusterGuard("rd4");
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr, run) = run(
        dir.path(),
        "name: redis-set-kill
target: redis
cluster: {local: 3, name: rd4, subnet: 10.77.189.0}
workload: {name: set}
concurrency: 6
rate: 150
time-limit: 25s
recovery-time: 12s
seed: 3
nemesis:
  faults: [kill]
  interval: 10
  kill: {targets: [primaries]}
",
        &["--leave-db-running"],
    );
    assert!(matches!(code, Some(0 | 1)), "{stdout}\n{stderr}");
    let h = history_of(&run);
    let kills: Vec<&history::Op> = h
        .ops()
        .iter()
        .filter(|op| op.process.is_nemesis() && op.f == "kill")
        .collect();
    assert!(!kills.is_empty(), "no kill recorded");
    // Sentinel failed over: a primary other than n1 was seen ...
    let seen = primaries_seen(&h);
    let failover = h
        .ops()
        .iter()
        .position(|op| {
            op.process == history::Process::Named("primaries".into())
                && op
                    .value
                    .as_list()
                    .is_some_and(|l| l.len() == 1 && l[0] != Value::from("n1"))
        })
        .unwrap_or_else(|| panic!("no failover seen: {seen:?}"));
    // ... and clients followed it: adds acknowledged after the failover.
    let oks_after = h.ops()[failover..]
        .iter()
        .filter(|op| op.process.is_client() && op.kind == OpType::Ok && op.f == "add")
        .count();
    assert!(
        oks_after > 50,
        "only {oks_after} adds acknowledged after the failover"
    );

    // Nothing reported lost that was not lost: every element the checker
    // calls lost is missing from the set on some node, and every
    // acknowledged element present on every node is not called lost.
    let r = set_result(&run);
    let lost: Vec<i64> = r["lost"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let nodes = Nodes::load(&local::nodes_file("rd4")).unwrap();
    let prefix = run_prefix(&run);
    let mut on_nodes = Vec::new();
    for n in &nodes.nodes {
        let out = Command::new("redis-cli")
            .args(["-h", &n.host, "--raw", "SMEMBERS"])
            .arg(format!("{prefix}:set"))
            .output()
            .unwrap();
        let members: std::collections::BTreeSet<i64> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        assert!(!members.is_empty(), "{}: empty set", n.name);
        on_nodes.push(members);
    }
    for e in &lost {
        assert!(
            on_nodes.iter().any(|m| !m.contains(e)),
            "{e} is reported lost but every node has it"
        );
    }
    let acked: Vec<i64> = h
        .ops()
        .iter()
        .filter(|op| op.process.is_client() && op.kind == OpType::Ok && op.f == "add")
        .filter_map(|op| op.value.as_int())
        .collect();
    for e in acked {
        if on_nodes.iter().all(|m| m.contains(&e)) {
            assert!(!lost.contains(&e), "{e} is on every node but reported lost");
        }
    }
    eprintln!(
        "kill: exit {code:?}; {} lost, checked against SMEMBERS on {} nodes",
        lost.len(),
        on_nodes.len()
    );
    // Now stop what --leave-db-running left, as the guard would.
    let down = stop_redis("rd4");
    assert!(down > 0, "nothing was left running to check");
}

/// The key prefix of a run: the run id the target derives keys from,
/// `<test name>-<start ms>`, read back from the history's first add.
fn run_prefix(run: &Path) -> String {
    // results.json names the test and its start time.
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    let mut test = None;
    find_key(&r, "start_unix_ms", &mut test);
    let info = test.expect("run info in results.json");
    format!(
        "{}-{}",
        info["test"].as_str().unwrap(),
        info["start_unix_ms"].as_u64().unwrap()
    )
}

/// Kills the cluster's Redis processes by pid file; how many there were.
fn stop_redis(cluster: &str) -> usize {
    let nodes = Nodes::load(&local::nodes_file(cluster)).unwrap();
    let mut n = 0;
    for node in &nodes.nodes {
        for pid in pid_files(node.data_dir.as_deref().unwrap()) {
            if let Ok(p) = std::fs::read_to_string(&pid) {
                let _ = Command::new("kill").args(["-9", "--", p.trim()]).status();
                let _ = std::fs::remove_file(&pid);
                n += 1;
            }
        }
    }
    n
}

#[test]
fn sentinels_that_cannot_see_each_other_are_refused_and_nothing_is_left_running() {
    require_root!();
    let _guard = ClusterGuard("rd5");
    let nodes = cluster_up("rd5", 3, "10.77.190.0");
    // A firewall drops Sentinel's port between the nodes (not from the
    // controller): every Sentinel runs, none can ever agree on a failover.
    for n in &nodes.nodes {
        for other in nodes.nodes.iter().filter(|o| o.name != n.name) {
            let ok = Command::new("ip")
                .args(["netns", "exec", n.netns.as_deref().unwrap()])
                .args([
                    "iptables", "-w", "-I", "INPUT", "-p", "tcp", "--dport", "26379", "-s",
                ])
                .arg(&other.host)
                .args(["-j", "DROP"])
                .status()
                .unwrap()
                .success();
            assert!(ok);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr, _) = run(
        dir.path(),
        "name: redis-noquorum
target: {name: redis, ready-timeout-s: 12}
cluster: {local: 3, name: rd5, subnet: 10.77.190.0}
workload: {name: set}
time-limit: 5s
",
        &[],
    );
    assert_eq!(code, Some(3), "{stdout}\n{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("redis did not come up"), "{stderr}");
    assert!(stderr.contains("redis-sentinel"), "{stderr}");
    assert!(
        stderr.contains("NOQUORUM"),
        "Sentinel's own words: {stderr}"
    );
    assert_nothing_running("rd5");

    // An impossible quorum is refused before anything starts.
    let (code, stdout, stderr, _) = run(
        dir.path(),
        "name: redis-quorum
target: {name: redis, quorum: 4}
cluster: {local: 3, name: rd5, subnet: 10.77.190.0}
workload: {name: set}
time-limit: 5s
",
        &[],
    );
    assert_eq!(code, Some(3), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("target.quorum: 4") && stderr.contains("3 Sentinels"),
        "{stderr}"
    );
    assert_nothing_running("rd5");
}

#[test]
fn a_node_without_redis_server_is_named_and_nothing_is_left_running() {
    require_root!();
    let _guard = ClusterGuard("rd6");
    let nodes = cluster_up("rd6", 3, "10.77.191.0");
    // Each node's sessions live in its sshd's mount namespace (`ip netns
    // exec` gives it one): hide redis-server on n2 only, behind an empty,
    // non-executable file.
    let n2 = &nodes.nodes[1];
    let sshd_pid =
        std::fs::read_to_string(format!("/var/lib/shakedown/rd6/sshd/{}/sshd.pid", n2.name))
            .unwrap();
    let empty = tempfile::NamedTempFile::new().unwrap();
    let hidden = Command::new("nsenter")
        .args(["-t", sshd_pid.trim(), "-m", "--", "mount", "--bind"])
        .arg(empty.path())
        .arg("/usr/bin/redis-server")
        .status()
        .unwrap()
        .success();
    assert!(hidden, "could not hide redis-server on n2");
    assert!(
        Path::new("/usr/bin/redis-server").metadata().unwrap().len() > 0,
        "the host's redis-server must stay"
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr, _) = run(
        dir.path(),
        "name: redis-missing
target: redis
cluster: {local: 3, name: rd6, subnet: 10.77.191.0}
workload: {name: set}
time-limit: 5s
",
        &[],
    );
    assert_eq!(code, Some(3), "{stdout}\n{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("n2") && stderr.contains("/usr/bin/redis-server is missing"),
        "{stderr}"
    );
    assert_nothing_running("rd6");
}

#[test]
fn a_wrong_option_is_refused_with_its_line_before_any_node_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    // The cluster is never built: the file is refused first.
    let (code, _, stderr, _) = run(
        dir.path(),
        "name: redis-typo
cluster: {local: 3, name: rdx, subnet: 10.77.195.0}
target:
  name: redis
  wiat: 2
workload: {name: set}
",
        &[],
    );
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("wiat") && stderr.contains("line 5"),
        "{stderr}"
    );
    assert!(!local::nodes_file("rdx").exists(), "a cluster was built");
    let (code, _, stderr, _) = run(
        dir.path(),
        "name: redis-workload
cluster: {local: 3, name: rdx, subnet: 10.77.195.0}
target: redis
workload: {name: list-append}
",
        &[],
    );
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("no client for it"), "{stderr}");
}

/// Why clock faults do not reach Redis on local nodes: Debian's
/// redis-server allocates with jemalloc, which calls `clock_gettime` while
/// libfaketime initializes, and under libfaketime the server never comes
/// up (libfaketime issue #130). A canary: if a libfaketime or Redis
/// update ever makes it answer, this fails, and the target should pass
/// libfaketime's environment again (`RedisTarget::sees_faketime`).
#[test]
fn redis_server_under_libfaketime_does_not_come_up_so_the_target_does_not_use_it() {
    let Some(lib) = nemesis::clock::faketime_lib() else {
        eprintln!("skipped: libfaketime is not installed");
        return;
    };
    if !Path::new("/usr/bin/redis-server").exists() {
        eprintln!("skipped: redis-server is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let stamp = dir.path().join("faketime");
    std::fs::write(&stamp, "+3600.000\n").unwrap();
    let sock = dir.path().join("redis.sock");
    let log = std::fs::File::create(dir.path().join("log")).unwrap();
    let mut server = Command::new("/usr/bin/redis-server")
        .args([
            "--port",
            "0",
            "--save",
            "",
            "--appendonly",
            "no",
            "--unixsocket",
        ])
        .arg(&sock)
        .current_dir(dir.path())
        .env("LD_PRELOAD", &lib)
        .env("FAKETIME_TIMESTAMP_FILE", &stamp)
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let pong = Command::new("redis-cli")
        .arg("-s")
        .arg(&sock)
        .arg("PING")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("PONG"))
        .unwrap_or(false);
    let _ = server.kill();
    let _ = server.wait();
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
    assert!(
        !pong,
        "redis-server now runs under libfaketime: let the Redis target use it (sees_faketime)"
    );
    assert!(log.contains("clock_gettime"), "{log}");
    let target =
        targets::TargetSpec::Redis(targets::redis::Options::default()).build(targets::Ctx {
            nodes: vec![harness::control::Node::new("n1", "10.0.0.1")],
            test_dir: PathBuf::from("/"),
            run_id: "x".into(),
            db_env: Default::default(),
        });
    assert!(!target.sees_faketime());
}

/// Every `examples/redis-*.yaml` names a valid Redis target and a workload
/// it has a client for.
#[test]
fn every_redis_example_parses() {
    #[derive(serde::Deserialize)]
    struct Example {
        #[serde(deserialize_with = "targets::TargetSpec::deserialize_either")]
        target: targets::TargetSpec,
        workload: workloads::Workload,
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("redis-") && name.ends_with(".yaml")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let e: Example =
            serde_saphyr::from_str(&text).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(e.target.name(), "redis", "{name}");
        e.target
            .validate(&dir)
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        e.target
            .supports(&e.workload)
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        seen += 1;
    }
    assert!(seen >= 4, "only {seen} Redis examples");
}
