//! Every fault on a real local cluster (network namespaces, one sshd per
//! node, real SSH), with its effect observed from outside and its heal.
//! Each test builds its own cluster (unique name and subnet) and tears it
//! down when its guard drops, also on failure. Without root every test
//! prints SKIPPED and passes.

mod common;

use common::*;
use harness::control::Cmd;
use nemesis::{
    net, process, FaultOp, Grudge, Hooks, Injector, PacketSpec, PartitionTarget, Rng, StateFile,
    Targets,
};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn partition(g: Grudge) -> FaultOp {
    FaultOp::StartPartition {
        target: PartitionTarget::Grudge(g),
    }
}

fn nodes(v: &[&str]) -> Targets {
    Targets::Nodes(v.iter().map(|s| s.to_string()).collect())
}

/// Under a partition, TCP connects between cut nodes fail and all others
/// succeed; a second partition replaces the first; heal restores every
/// connection and removes exactly shakedown's chains (a rule of the node's
/// own stays).
#[test]
fn partitions_cut_exactly_the_grudge_and_heal_restores_everything() {
    let Some(c) = cluster("nmpart", 5, 150) else {
        return;
    };
    let cl = c.cluster();
    rt().block_on(async {
        // A rule that is not ours, on n1: heal must leave it alone.
        cl.node("n1")
            .unwrap()
            .run_ok("iptables -w -A INPUT -s 192.0.2.7 -j DROP")
            .await
            .unwrap();
        let before = connectivity(&c, 22);
        assert!(all_connected(&before), "{before:?}");

        let file = StateFile::new(c.dir.join("nemesis-test.faults.json"));
        let mut inj =
            Injector::new(&c.nodes, cl.clone(), Hooks::default(), Some(file.clone())).unwrap();
        let names = c.nodes.names();
        let mut rng = Rng::seed(1);
        for g in [
            Grudge::majority_minority(&names, &mut rng),
            Grudge::bridge(&names, &mut rng),
            Grudge::majorities_ring(&names, &mut rng),
        ] {
            let t = Instant::now();
            let effect = inj.apply(&partition(g.clone())).await.unwrap();
            eprintln!("partition {} applied in {:?}", g.summary(), t.elapsed());
            assert_eq!(effect.f, "start-partition");
            assert_eq!(effect.value, serde_json::to_value(&g).unwrap());
            assert_eq!(
                file.load().unwrap().unwrap().partition.as_ref(),
                Some(&g),
                "the state file lists the active partition"
            );
            let m = connectivity(&c, 22);
            for ((a, b), ok) in &m {
                assert_eq!(*ok, !g.cut(a, b), "{a} -> {b} under {}", g.summary());
            }
            let cut = m.values().filter(|ok| !**ok).count();
            eprintln!("  {cut} of {} directed pairs cut", m.len());
            assert!(cut > 0 && cut < m.len());
        }

        drop(inj);
        // Isolate the primary: the target's hook names it (n4 here).
        let hooks = Hooks {
            primaries: Some(Arc::new(|_| Box::pin(async { Ok(vec!["n4".to_string()]) }))),
            ..Default::default()
        };
        let mut inj = Injector::new(&c.nodes, cl.clone(), hooks, Some(file.clone())).unwrap();
        let e = inj
            .apply(&FaultOp::StartPartition {
                target: PartitionTarget::Primaries,
            })
            .await
            .unwrap();
        assert_eq!(e.value["n4"], serde_json::json!(["n1", "n2", "n3", "n5"]));
        let m = connectivity(&c, 22);
        for ((a, b), ok) in &m {
            assert_eq!(*ok, a != "n4" && b != "n4", "{a} -> {b}, n4 isolated");
        }

        let effects = inj.heal_all().await.unwrap();
        assert_eq!(effects.len(), 1);
        assert_eq!(effects[0].f, "stop-partition");
        let after = connectivity(&c, 22);
        assert!(all_connected(&after), "{after:?}");
        for r in cl.remotes() {
            assert_eq!(
                net::rules(r).await.unwrap(),
                "",
                "{} keeps shakedown rules",
                r.name()
            );
        }
        let n1 = cl
            .node("n1")
            .unwrap()
            .stdout("iptables -w -S INPUT")
            .await
            .unwrap();
        assert!(n1.contains("-A INPUT -s 192.0.2.7/32 -j DROP"), "{n1}");
        assert!(file.load().unwrap().is_none(), "healed: state file removed");
        // Heal is idempotent.
        assert!(inj.heal_all().await.unwrap().is_empty());
        drop(inj);
        cl.disconnect().await;
    });
}

/// A paused process is in state T and answers nothing, then answers again
/// after resume; a killed process is gone and the restarted one serves; the
/// primaries hook picks the target; an injector dropped with a paused
/// process resumes it.
#[test]
fn kill_and_pause_by_pid_file() {
    let Some(c) = cluster("nmproc", 3, 151) else {
        return;
    };
    let cl = c.cluster();
    rt().block_on(async {
        let mut hooks = Hooks::default();
        for n in c.nodes.names() {
            hooks
                .process
                .insert(n.clone(), server_hooks(&c, &n, Vec::new()));
        }
        hooks.primaries = Some(Arc::new(|_cluster| {
            Box::pin(async { Ok(vec!["n3".to_string()]) })
        }));
        for (n, h) in &hooks.process {
            let o = process::start(cl.node(n).unwrap(), h).await.unwrap();
            assert!(matches!(o, process::Outcome::Started(_)), "{o:?}");
        }
        let t = Duration::from_millis(800);
        for n in ["n1", "n2", "n3"] {
            assert!(ask(&addr(&c, n), t).is_some(), "{n} serves");
        }
        let mut inj = Injector::new(&c.nodes, cl.clone(), hooks.clone(), None).unwrap();

        // Pause n1.
        let p1 = read_pid(&hooks.process["n1"]);
        let e = inj
            .apply(&FaultOp::Pause {
                targets: nodes(&["n1"]),
            })
            .await
            .unwrap();
        assert_eq!(
            e.value["n1"],
            serde_json::json!({"result": "paused", "pid": p1})
        );
        assert_eq!(proc_state(p1), Some('T'));
        let t0 = Instant::now();
        assert_eq!(
            ask(&addr(&c, "n1"), t),
            None,
            "a paused process answers nothing"
        );
        eprintln!("paused n1: no answer after {:?}", t0.elapsed());
        assert!(ask(&addr(&c, "n2"), t).is_some());
        inj.apply(&FaultOp::Resume).await.unwrap();
        assert_ne!(proc_state(p1), Some('T'));
        assert_eq!(
            ask(&addr(&c, "n1"), t).map(|a| a.1),
            Some(p1),
            "answers again"
        );

        // Kill n2.
        let p2 = read_pid(&hooks.process["n2"]);
        let e = inj
            .apply(&FaultOp::Kill {
                targets: nodes(&["n2"]),
            })
            .await
            .unwrap();
        assert_eq!(e.f, "kill");
        assert_eq!(
            e.value["n2"],
            serde_json::json!({"result": "killed", "pid": p2})
        );
        assert_eq!(proc_state(p2), None, "pid {p2} is gone");
        assert_eq!(ask(&addr(&c, "n2"), t), None);
        assert_eq!(inj.state().summary(), "killed n2");
        let e = inj.apply(&FaultOp::Start).await.unwrap();
        let p2b = read_pid(&hooks.process["n2"]);
        assert_ne!(p2b, p2);
        assert_eq!(
            e.value["n2"],
            serde_json::json!({"result": "started", "pid": p2b})
        );
        assert_eq!(
            ask(&addr(&c, "n2"), t).map(|a| a.1),
            Some(p2b),
            "the restarted one serves"
        );

        // The primaries: the hook says n3.
        let p3 = read_pid(&hooks.process["n3"]);
        let e = inj
            .apply(&FaultOp::Kill {
                targets: Targets::Primaries,
            })
            .await
            .unwrap();
        assert_eq!(e.value.as_object().unwrap().len(), 1);
        assert_eq!(proc_state(p3), None);
        assert!(proc_state(p1).is_some() && proc_state(p2b).is_some());
        // Pause n1 and kill everything: heal resumes and restarts.
        inj.apply(&FaultOp::Pause {
            targets: nodes(&["n1"]),
        })
        .await
        .unwrap();
        let effects = inj.heal_all().await.unwrap();
        let fs: Vec<&str> = effects.iter().map(|e| e.f.as_str()).collect();
        assert_eq!(fs, vec!["resume", "start"]);
        for n in ["n1", "n2", "n3"] {
            assert!(ask(&addr(&c, n), t).is_some(), "{n} serves after heal");
        }

        // Nothing runs under that pid file: reported, and nothing to undo.
        let mut bogus = hooks.clone();
        bogus.process.get_mut("n1").unwrap().pid_file = "/nonexistent/shakedown.pid".into();
        let mut inj2 = Injector::new(&c.nodes, cl.clone(), bogus, None).unwrap();
        let e = inj2
            .apply(&FaultOp::Kill {
                targets: nodes(&["n1"]),
            })
            .await
            .unwrap();
        assert_eq!(e.value["n1"], serde_json::json!({"result": "not-running"}));
        assert!(inj2.state().is_empty());
        assert!(proc_state(p1).is_some(), "n1's real process untouched");
        drop(inj2);

        // Drop with a fault active: the guard heals.
        inj.apply(&FaultOp::Pause {
            targets: nodes(&["n2"]),
        })
        .await
        .unwrap();
        assert_eq!(proc_state(p2b), Some('T'));
        drop(inj);
        assert_ne!(
            proc_state(p2b),
            Some('T'),
            "dropping the injector resumed n2"
        );
        assert!(ask(&addr(&c, "n2"), t).is_some());
        cl.disconnect().await;
    });
}

/// The controller dies (SIGKILL) in the middle of a partition: the fault
/// stays, the state file names it, and `heal` (what `shakedown heal` runs)
/// restores full connectivity from the state file alone.
#[test]
fn heal_after_controller_sigkill() {
    let Some(c) = cluster("nmcrash", 3, 152) else {
        return;
    };
    let nodes_file = harness::control::local::nodes_file("nmcrash");
    let file = StateFile::for_nodes_file(&nodes_file);
    let mut child = Command::new(TESTKIT)
        .args([
            "hold-partition",
            nodes_file.to_str().unwrap(),
            file.path.to_str().unwrap(),
            "n1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "applied");
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    eprintln!("controller: {status}");

    let m = connectivity(&c, 22);
    for ((a, b), ok) in &m {
        assert_eq!(
            *ok,
            a != "n1" && b != "n1",
            "{a} -> {b} after the controller died"
        );
    }
    let saved = file.load().unwrap().expect("the state file survives");
    assert!(saved.partition.is_some());

    rt().block_on(async {
        let effects = nemesis::heal(None, &file).await.unwrap();
        assert_eq!(effects[0].f, "stop-partition");
    });
    assert!(all_connected(&connectivity(&c, 22)));
    assert!(file.load().unwrap().is_none());
    // Safe to run again, with or without a state file.
    rt().block_on(async {
        assert!(nemesis::heal(Some(&c.nodes), &file)
            .await
            .unwrap()
            .is_empty());
    });

    // A controller that panics (guard disarmed): the panic hook heals.
    let out = Command::new(TESTKIT)
        .args([
            "panic-partition",
            nodes_file.to_str().unwrap(),
            file.path.to_str().unwrap(),
            "n2",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("healed every fault after the panic"),
        "{stderr}"
    );
    assert!(all_connected(&connectivity(&c, 22)));
    assert!(file.load().unwrap().is_none());
}

/// Where iptables is absent the same faults go through nftables (forced
/// here with SHAKEDOWN_FIREWALL=nft): a partition cuts, loss drops, and
/// heal removes the `inet shakedown` table.
#[test]
fn nftables_partition_loss_and_heal() {
    let Some(c) = cluster("nmnft", 3, 158) else {
        return;
    };
    let cl = c.cluster();
    rt().block_on(async {
        let nft = |script: String| Cmd::new(script).env("SHAKEDOWN_FIREWALL", "nft");
        let n1 = cl.node("n1").unwrap();
        n1.run_ok(nft(net::partition_script(&[addr(&c, "n2")])))
            .await
            .unwrap();
        let rules = net::rules(n1).await.unwrap();
        assert!(rules.contains("table inet shakedown"), "{rules}");
        assert!(!rules.contains("-A SHAKEDOWN"), "{rules}");
        let m = connectivity(&c, 22);
        for ((a, b), ok) in &m {
            let cut = (a == "n1" && b == "n2") || (a == "n2" && b == "n1");
            assert_eq!(*ok, !cut, "{a} -> {b}");
        }
        let h = server_hooks(&c, "n3", Vec::new());
        let n3 = cl.node("n3").unwrap();
        process::start(n3, &h).await.unwrap();
        n3.run_ok(nft(net::loss_script(0.3, 22))).await.unwrap();
        let lost = udp_loss(&addr(&c, "n3"));
        eprintln!("nft 30% loss: {:.1}% lost", lost * 100.0);
        assert!((0.15..=0.45).contains(&lost), "{lost}");

        net::heal_all(&cl).await.unwrap();
        for r in cl.remotes() {
            assert_eq!(net::rules(r).await.unwrap(), "");
        }
        assert!(all_connected(&connectivity(&c, 22)));
        assert!(udp_loss(&addr(&c, "n3")) <= 0.02);
        cl.disconnect().await;
    });
}

/// A process started under the faketime env sees a bumped clock, a strobed
/// clock flips, check-offsets measures the offsets, reset brings it back.
#[test]
fn clock_skew_through_libfaketime() {
    if nemesis::clock::faketime_lib().is_none() {
        eprintln!("SKIPPED: libfaketime is not installed (apt-get install faketime)");
        return;
    }
    let Some(c) = cluster("nmclock", 3, 153) else {
        return;
    };
    let cl = c.cluster();
    rt().block_on(async {
        let mut hooks = Hooks::default();
        for n in ["n1", "n2"] {
            let env = nemesis::clock::faketime_env(c.node(n).unwrap());
            let h = server_hooks(&c, n, env);
            process::start(cl.node(n).unwrap(), &h).await.unwrap();
            hooks.process.insert(n.to_string(), h);
        }
        let t = Duration::from_secs(1);
        let skew = |n: &str| {
            let host = addr(&c, n);
            let t0 = now();
            let (theirs, _) = ask(&host, t).expect("answers");
            theirs - (t0 + now()) / 2.0
        };
        assert!(skew("n1").abs() < 0.3, "no skew before: {}", skew("n1"));
        let mut inj = Injector::new(&c.nodes, cl.clone(), hooks, None).unwrap();

        let deltas = BTreeMap::from([("n1".to_string(), 5_000i64)]);
        let e = inj.apply(&FaultOp::BumpClock { deltas }).await.unwrap();
        assert_eq!(e.value["offsets_ms"]["n1"], 5000);
        let s1 = skew("n1");
        eprintln!("n1's server sees {s1:+.3} s after a +5 s bump");
        assert!((s1 - 5.0).abs() < 0.3, "{s1}");
        assert!(skew("n2").abs() < 0.3);
        // Bumps add up.
        let deltas = BTreeMap::from([("n1".to_string(), -7_000i64)]);
        inj.apply(&FaultOp::BumpClock { deltas }).await.unwrap();
        let s1 = skew("n1");
        assert!((s1 + 2.0).abs() < 0.3, "{s1}");

        let e = inj.apply(&FaultOp::CheckOffsets).await.unwrap();
        eprintln!("check-offsets: {}", e.value);
        assert!(
            (e.value["n1"].as_i64().unwrap() + 2000).abs() < 300,
            "{}",
            e.value
        );
        assert!(e.value["n2"].as_i64().unwrap().abs() < 300, "{}", e.value);
        assert!(e.value["n3"].as_i64().unwrap().abs() < 300, "{}", e.value);

        // Strobe n2 by +3 s every 100 ms for 1.5 s, sampling meanwhile.
        let host = addr(&c, "n2");
        let sampler = std::thread::spawn(move || {
            let mut seen = Vec::new();
            let end = Instant::now() + Duration::from_millis(1400);
            while Instant::now() < end {
                let t0 = now();
                if let Some((theirs, _)) = ask(&host, Duration::from_secs(1)) {
                    seen.push(theirs - (t0 + now()) / 2.0);
                }
                std::thread::sleep(Duration::from_millis(30));
            }
            seen
        });
        let e = inj
            .apply(&FaultOp::StrobeClock {
                nodes: vec!["n2".into()],
                delta_ms: 3000,
                period_ms: 100,
                duration_ms: 1500,
            })
            .await
            .unwrap();
        let seen = sampler.join().unwrap();
        let high = seen.iter().filter(|s| (**s - 3.0).abs() < 0.3).count();
        let low = seen.iter().filter(|s| s.abs() < 0.3).count();
        eprintln!(
            "strobe: {} flips; {high} samples at +3 s, {low} at 0",
            e.value["flips"]
        );
        assert!(high > 0 && low > 0, "{seen:?}");
        assert!(skew("n2").abs() < 0.3, "a strobe ends where it started");

        let effects = inj.heal_all().await.unwrap();
        assert!(effects.iter().any(|e| e.f == "reset-clock"));
        assert!(skew("n1").abs() < 0.3, "reset: {}", skew("n1"));
        let f = nemesis::clock::faketime_file(c.node("n1").unwrap());
        assert_eq!(std::fs::read_to_string(f).unwrap().trim(), "+0.000");
        drop(inj);
        cl.disconnect().await;
    });
}

/// 30% packet loss shows up as ~30% of UDP datagrams unanswered, SSH keeps
/// working, netem faults are reported unsupported (or applied where the
/// kernel has netem), and heal brings loss back to zero.
#[test]
fn packet_loss_at_the_expected_rate() {
    let Some(c) = cluster("nmloss", 2, 154) else {
        return;
    };
    let cl = c.cluster();
    rt().block_on(async {
        let h = server_hooks(&c, "n2", Vec::new());
        process::start(cl.node("n2").unwrap(), &h).await.unwrap();
        let host = addr(&c, "n2");
        let base = udp_loss(&host);
        assert!(base <= 0.02, "no loss before: {base}");
        let mut inj = Injector::new(&c.nodes, cl.clone(), Hooks::default(), None).unwrap();
        let spec = PacketSpec {
            loss: Some(0.3),
            ..Default::default()
        };
        inj.apply(&FaultOp::StartPacket {
            nodes: vec!["n2".into()],
            spec,
        })
        .await
        .unwrap();
        let lost = udp_loss(&host);
        eprintln!("30% loss on n2: {:.1}% of 200 datagrams lost", lost * 100.0);
        assert!((0.15..=0.45).contains(&lost), "{lost}");
        // SSH to the node is exempt: commands still run promptly.
        let t = Instant::now();
        for _ in 0..5 {
            cl.node("n2")
                .unwrap()
                .run_ok(Cmd::new("true"))
                .await
                .unwrap();
        }
        eprintln!("5 SSH commands under loss in {:?}", t.elapsed());

        let netem = PacketSpec {
            delay_ms: Some(50),
            ..Default::default()
        };
        let e = inj
            .apply(&FaultOp::StartPacket {
                nodes: vec!["n2".into()],
                spec: netem,
            })
            .await
            .unwrap();
        let supported = net::probe_netem(cl.node("n2").unwrap()).await.unwrap();
        if supported {
            assert!(e.warnings.is_empty());
        } else {
            eprintln!("netem: {}", e.value["unsupported"]);
            assert_eq!(
                e.value["unsupported"],
                format!("netem delay 50ms: {}", net::NETEM_UNSUPPORTED)
            );
            assert_eq!(e.warnings.len(), 1);
        }

        let effects = inj.heal_all().await.unwrap();
        assert_eq!(effects[0].f, "stop-packet");
        let after = udp_loss(&host);
        assert!(after <= 0.02, "no loss after heal: {after}");
        assert_eq!(net::rules(cl.node("n2").unwrap()).await.unwrap(), "");
        drop(inj);
        cl.disconnect().await;
    });
}

/// The whole thing in the run loop: a seeded schedule of every fault kind
/// beside in-memory clients; every nemesis op in the history is an `info`
/// op of process `nemesis` with a known `f`; after the run everything is
/// healed (checked from outside) and the state file is gone.
#[test]
fn scheduled_nemesis_in_the_run_loop_records_and_heals() {
    use harness::run::{self, memory::MemoryStore, OpRequest, Progress, RunConfig};
    use nemesis::{runner::ScheduledNemesis, NemesisConfig, Schedule};
    let Some(c) = cluster("nmrun", 3, 157) else {
        return;
    };
    let cl = c.cluster();
    rt().block_on(async {
        let mut hooks = Hooks::default();
        for n in c.nodes.names() {
            let env = nemesis::clock::faketime_env(c.node(&n).unwrap());
            let h = server_hooks(&c, &n, env);
            process::start(cl.node(&n).unwrap(), &h).await.unwrap();
            hooks.process.insert(n, h);
        }
        let file = StateFile::new(c.dir.join("run.faults.json"));
        // A crashed earlier controller left a partition behind.
        let mut old = Injector::new(&c.nodes, cl.clone(), Hooks::default(), Some(file.clone()))
            .unwrap();
        old.apply(&partition(Grudge::isolate(&c.nodes.names(), "n3")))
            .await
            .unwrap();
        let _ = old.leave_active();
        let inj = Injector::new(&c.nodes, cl.clone(), hooks.clone(), Some(file.clone())).unwrap();
        let cfg: NemesisConfig = serde_saphyr::from_str(
            "faults: [partition, kill, pause, clock, packet]\ninterval: 0.25\nclock: {strobe-duration-ms: 300}\n",
        )
        .unwrap();
        assert_eq!(cfg.faults.len(), 5);
        let schedule = Schedule::from_config(&cfg, &c.nodes.names(), 11).unwrap();
        let nem = ScheduledNemesis::new(inj, schedule);
        let rc = RunConfig {
            nodes: c.nodes.names(),
            concurrency: 2,
            rate: Some(50.0),
            time_limit: Duration::from_secs(4),
            recovery_time: Duration::ZERO,
            progress: Progress::Off,
            ..RunConfig::default()
        };
        let gen = run::from_fn(|_, _| Some(OpRequest::new("read", history::Value::Nil).with_key(0)));
        let out = run::run(rc, Arc::new(MemoryStore::new()), gen, nem).await.unwrap();
        let nem: Vec<_> = out.history.ops().iter().filter(|o| o.process.is_nemesis()).collect();
        let fs: Vec<&str> = nem.iter().map(|o| o.f.as_str()).collect();
        eprintln!("{} nemesis ops: {fs:?}", nem.len());
        assert!(nem.len() >= 8, "{fs:?}");
        let known = [
            "start-partition", "stop-partition", "kill", "start", "pause", "resume",
            "bump-clock", "strobe-clock", "reset-clock", "check-offsets", "start-packet",
            "stop-packet",
        ];
        for o in &nem {
            assert_eq!(o.kind, history::OpType::Info);
            assert!(known.contains(&o.f.as_str()), "{}", o.f);
            assert!(
                !matches!(&o.value, history::Value::Map(m) if m.iter().any(|(k, _)| k.as_str() == Some("error"))),
                "{o:?}"
            );
        }
        // The leftover is healed (and recorded) before the first step.
        assert_eq!(fs[0], "stop-partition");
        let fs = &fs[1..];
        // Starts and stops pair up by the end (the heal closes what is open).
        for (start, stop) in [
            ("start-partition", "stop-partition"),
            ("kill", "start"),
            ("pause", "resume"),
            ("start-packet", "stop-packet"),
        ] {
            let a = fs.iter().filter(|f| **f == start).count();
            let b = fs.iter().filter(|f| **f == stop).count();
            assert_eq!(a, b, "{start} vs {stop}: {fs:?}");
        }
        assert!(file.load().unwrap().is_none(), "healed: no state file");
        assert!(all_connected(&connectivity(&c, 22)));
        for r in cl.remotes() {
            assert_eq!(net::rules(r).await.unwrap(), "");
        }
        for (n, h) in &hooks.process {
            let pid = read_pid(h);
            assert!(matches!(proc_state(pid), Some(s) if s != 'T'), "{n} runs");
            let t0 = now();
            let (theirs, p) = ask(&addr(&c, n), Duration::from_secs(1)).expect("serves");
            assert_eq!(p, pid);
            assert!((theirs - t0).abs() < 0.5, "{n}'s clock is back");
        }
        cl.disconnect().await;
    });
}
