//! `shakedown campaign` end to end: a campaign of 1 test × 2 seeds × 2
//! fault sets split over 2 shards (two processes, one after the other)
//! runs 4 runs in all, each once; the two JUnit files hold 4 testcases; the
//! unsharded campaign has the same cells; running a shard again skips its
//! finished cells (resume). The test is single-node Redis through the
//! process target (examples/redis-process), short runs.
//!
//! Needs root; cluster `camp1` on 10.77.168.0/24.

use harness::control::local;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn shakedown() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shakedown"))
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

struct ClusterGuard(&'static str);

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        let _ = shakedown()
            .args(["cluster", "down", "--name", self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The Redis example's test file and client, on cluster camp1, and a
/// campaign over seeds and fault sets.
fn write_campaign(dir: &Path) {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/redis-process");
    std::fs::copy(examples.join("client.py"), dir.join("client.py")).unwrap();
    let test = std::fs::read_to_string(examples.join("register.yaml"))
        .unwrap()
        .replace(
            "cluster: {local: 1, name: redisreg, subnet: 10.77.163.0}",
            "cluster: {local: 1, name: camp1, subnet: 10.77.168.0}",
        );
    assert!(test.contains("camp1"));
    std::fs::write(dir.join("redis.yaml"), test).unwrap();
    std::fs::write(
        dir.join("nightly.yaml"),
        "name: nightly
tests: [redis.yaml]
matrix:
  seed: [1, 2]
  nemesis.faults: [[kill], [pause]]
set:
  time-limit: 6s
  recovery-time: 1s
  nemesis.interval: 3
",
    )
    .unwrap();
}

fn list(dir: &Path, shard: Option<&str>) -> Vec<String> {
    let mut cmd = shakedown();
    cmd.arg("campaign")
        .arg(dir.join("nightly.yaml"))
        .arg("--list");
    if let Some(s) = shard {
        cmd.args(["--shard", s]);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn two_shards_run_every_cell_once_and_a_rerun_resumes() {
    if !local::is_root() {
        eprintln!("skipped: needs root (network namespaces, sshd)");
        return;
    }
    let _guard = ClusterGuard("camp1");
    let dir = tempfile::tempdir().unwrap();
    write_campaign(dir.path());

    // The same cells, sharded or not.
    let all = list(dir.path(), None);
    assert_eq!(all.len(), 4, "{all:?}");
    let (a, b) = (list(dir.path(), Some("1/2")), list(dir.path(), Some("2/2")));
    assert_eq!(a.len() + b.len(), 4);
    let mut union: Vec<String> = a.iter().chain(&b).cloned().collect();
    union.sort();
    assert_eq!(union, all);

    let results = dir.path().join("results");
    for shard in ["1/2", "2/2"] {
        let junit = dir.path().join(format!("junit-{}.xml", &shard[..1]));
        let out = shakedown()
            .arg("campaign")
            .arg(dir.path().join("nightly.yaml"))
            .args(["--shard", shard, "--results"])
            .arg(&results)
            .arg("--junit")
            .arg(&junit)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "shard {shard}: {}", text(&out));
    }
    // 4 runs in all, each once.
    let campaign = results.join("campaigns/nightly");
    let records: Vec<serde_json::Value> = std::fs::read_dir(campaign.join("cells"))
        .unwrap()
        .map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    assert_eq!(records.len(), 4);
    let mut cells: Vec<String> = records
        .iter()
        .map(|r| r["cell"].as_str().unwrap().to_string())
        .collect();
    cells.sort();
    assert_eq!(cells, all);
    let run_dirs = std::fs::read_dir(campaign.join("runs/redis-process-register"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != "latest")
        .count();
    assert_eq!(run_dirs, 4, "one run directory per cell");
    for r in &records {
        assert_eq!(r["verdict"], "valid", "{r}");
        let run = Path::new(r["run-dir"].as_str().unwrap());
        assert!(run.join("report.html").is_file());
        let yaml = std::fs::read_to_string(run.join("test.yaml")).unwrap();
        assert!(yaml.contains("\"time-limit\": \"6s\""), "{yaml}");
    }
    // The JUnit files hold 4 testcases, named by test and cell.
    let mut cases = 0;
    for f in ["junit-1.xml", "junit-2.xml"] {
        let x = std::fs::read_to_string(dir.path().join(f)).unwrap();
        cases += x.matches("<testcase ").count();
        assert!(x.contains("classname=\"nightly.redis.yaml\""), "{x}");
        assert!(!x.contains("<failure"), "{x}");
    }
    assert_eq!(cases, 4);

    // Resume: the shard again runs nothing new.
    let out = shakedown()
        .arg("campaign")
        .arg(dir.path().join("nightly.yaml"))
        .args(["--shard", "1/2", "--results"])
        .arg(&results)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        text(&out).matches("done before (valid)").count(),
        2,
        "{}",
        text(&out)
    );
    let run_dirs = std::fs::read_dir(campaign.join("runs/redis-process-register"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != "latest")
        .count();
    assert_eq!(run_dirs, 4, "a finished cell ran again");
}

#[test]
fn a_bad_cell_stops_the_campaign_before_any_node_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    write_campaign(dir.path());
    let bad = std::fs::read_to_string(dir.path().join("nightly.yaml"))
        .unwrap()
        .replace("  seed: [1, 2]\n", "  seed: [1, 2]\n  workload.kyes: [3]\n");
    std::fs::write(dir.path().join("nightly.yaml"), bad).unwrap();
    let out = shakedown()
        .arg("campaign")
        .arg(dir.path().join("nightly.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("nightly.yaml") && t.contains("kyes"), "{t}");
    assert!(!t.contains("shakedown: ["), "a cell started: {t}");
}
