//! One command per cluster at a time, through the binary: while a run holds
//! its local cluster, a second run, `heal` and `fault` on it are refused at
//! once, naming the holder; once the holder is killed (-9), its lock is
//! taken over. Needs root; cluster `lk2` on 10.77.224.0.

use std::process::Stdio;
use std::time::{Duration, Instant};

mod common;
use common::{shakedown, text, ClusterGuard};

/// A process-target test whose server is `nc -lk` and whose client fails
/// every op: what matters is that the run holds the cluster for a while.
const TEST: &str = r#"name: lock-lk2
target:
  name: process
  packages: [netcat-openbsd]
  start: "nc -lk {host} 7730"
  ready: "nc -z {host} 7730"
  client:
    command: [/bin/sh, -c, 'while read l; do echo "{\"type\": \"fail\", \"error\": \"no\"}"; done']
cluster: {local: 1, name: lk2, subnet: 10.77.224.0}
workload: {name: set}
concurrency: 1
rate: 10
time-limit: 60s
nemesis: {faults: []}
"#;

#[test]
fn a_second_command_on_a_held_cluster_is_refused_naming_the_holder_and_a_dead_holders_lock_is_taken_over(
) {
    require_root!();
    let _guard = ClusterGuard("lk2");
    let dir = tempfile::tempdir().unwrap();
    let test = dir.path().join("test.yaml");
    std::fs::write(&test, TEST).unwrap();
    let mut first = shakedown()
        .arg("run")
        .arg(&test)
        .arg("--results")
        .arg(dir.path().join("results"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let holder = format!("pid {}", first.id());

    // Wait for the run to hold the lock: `heal` says so.
    let deadline = Instant::now() + Duration::from_secs(60);
    let refused = loop {
        let out = shakedown()
            .args(["heal", "--cluster", "lk2"])
            .output()
            .unwrap();
        let (_, stderr) = text(&out);
        if stderr.contains("is in use by") {
            break (out, stderr);
        }
        assert!(
            Instant::now() < deadline,
            "the run never held lk2: {stderr}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(!refused.0.status.success());
    assert!(
        refused
            .1
            .contains(&format!("local cluster \"lk2\" is in use by {holder}"))
            && refused.1.contains("shakedown run"),
        "{}",
        refused.1
    );

    // A second run of the same test and a fault: refused at once, before
    // touching anything.
    let started = Instant::now();
    let second = shakedown()
        .arg("run")
        .arg(&test)
        .arg("--results")
        .arg(dir.path().join("results2"))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&second);
    assert_eq!(second.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("is in use by {holder}")),
        "{stderr}"
    );
    let fault = shakedown()
        .args([
            "fault",
            "--cluster",
            "lk2",
            "partition",
            "--mode",
            "isolate",
            "--node",
            "n1",
        ])
        .output()
        .unwrap();
    let (_, fault_err) = text(&fault);
    assert!(!fault.status.success());
    assert!(
        fault_err.contains(&format!("is in use by {holder}")),
        "{fault_err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(
        !dir.path().join("results2").join("lock-lk2").exists()
            || std::fs::read_dir(dir.path().join("results2/lock-lk2"))
                .map(|d| d.count() == 0)
                .unwrap_or(true),
        "the refused run wrote a run directory"
    );
    assert!(
        first.try_wait().unwrap().is_none(),
        "the holder was disturbed"
    );

    // The holder dies without releasing anything: its lock is taken over.
    first.kill().unwrap();
    first.wait().unwrap();
    let out = shakedown()
        .args(["heal", "--cluster", "lk2"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stderr.contains("in use"), "{stderr}");
}
