//! `shakedown fault` and `shakedown heal` name their cluster: without
//! `--cluster` / `--nodes-file` (heal: or `--state`) they refuse with a
//! clear error instead of acting on the cluster `local`. Random partition
//! picks take a fresh seed each time, print it, and `--seed` repeats one.
//!
//! No root needed: the nodes file names nodes nobody listens for, so the
//! fault is picked and printed, then fails to reach them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shakedown() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shakedown"))
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn fault_and_heal_without_a_cluster_are_refused() {
    for args in [
        &["fault", "partition"][..],
        &["fault", "partition", "--mode", "halves"],
        &["fault", "packet", "--loss", "0.5"],
        &["fault", "pause", "--pid-file", "/tmp/x.pid"],
        &["fault", "clock", "--reset"],
        &["fault", "partition", "--state", "/tmp/nowhere.faults.json"],
    ] {
        let out = shakedown().args(args).output().unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stdout}{stderr}");
        assert!(
            stderr.contains("which cluster? give --cluster NAME")
                && stderr.contains("--nodes-file FILE"),
            "{args:?}: {stderr}"
        );
        assert!(stdout.is_empty(), "{args:?} did something: {stdout}");
    }
    let out = shakedown().arg("heal").output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(
        stderr.contains("which cluster? give --cluster NAME")
            && stderr.contains("--nodes-file FILE")
            && stderr.contains("--state FILE"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "heal did something: {stdout}");
}

/// Five nodes on loopback port 1, where nothing listens.
fn unreachable_nodes(dir: &Path) -> PathBuf {
    let nodes: Vec<serde_json::Value> = (1..=5)
        .map(|i| serde_json::json!({"name": format!("n{i}"), "host": "127.0.0.1", "port": 1}))
        .collect();
    let path = dir.join("nodes.json");
    let file = serde_json::json!({"ssh": {"user": "root"}, "nodes": nodes});
    std::fs::write(&path, file.to_string()).unwrap();
    path
}

/// The printed seed (if any) and the partition picked.
fn pick(nodes_file: &Path, extra: &[&str]) -> (Option<u64>, String) {
    let out = shakedown()
        .args(["fault", "partition", "--nodes-file"])
        .arg(nodes_file)
        .args(extra)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    // The nodes cannot be reached: the fault is picked, then not applied.
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stderr.contains("127.0.0.1:1"), "{stderr}");
    let seed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("seed "))
        .map(|rest| rest.split(' ').next().unwrap().parse().unwrap());
    let partition = stdout
        .lines()
        .find_map(|l| l.strip_prefix("partition: "))
        .unwrap_or_else(|| panic!("no partition printed: {stdout}"))
        .to_string();
    (seed, partition)
}

#[test]
fn random_picks_use_a_fresh_printed_seed_and_seed_repeats_them() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = unreachable_nodes(dir.path());
    let picks: Vec<(Option<u64>, String)> = (0..8).map(|_| pick(&nodes, &[])).collect();
    let seeds: std::collections::BTreeSet<u64> =
        picks.iter().map(|(s, _)| s.expect("a seed")).collect();
    assert_eq!(seeds.len(), picks.len(), "seeds repeat: {picks:?}");
    let isolated: std::collections::BTreeSet<&String> = picks.iter().map(|(_, p)| p).collect();
    // Eight picks of one node in five: all the same with probability 5^-7.
    assert!(isolated.len() > 1, "always the same node: {picks:?}");

    // --seed repeats a pick, in every random mode.
    for (seed, partition) in &picks[..3] {
        let seed = seed.unwrap().to_string();
        assert_eq!(
            pick(&nodes, &["--seed", &seed]),
            (Some(seed.parse().unwrap()), partition.clone())
        );
    }
    for mode in ["halves", "majority", "majorities-ring", "bridge"] {
        let (seed, first) = pick(&nodes, &["--mode", mode]);
        let seed = seed.expect("a seed").to_string();
        let (_, again) = pick(&nodes, &["--mode", mode, "--seed", &seed]);
        assert_eq!(first, again, "{mode} with seed {seed}");
    }

    // No seed is printed where nothing is random.
    let (seed, partition) = pick(&nodes, &["--node", "n3"]);
    assert_eq!(seed, None);
    assert!(partition.contains("\"n3\""), "{partition}");
}
