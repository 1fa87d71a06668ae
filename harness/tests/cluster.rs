//! Integration tests against real local clusters (network namespaces, one
//! sshd per node, real SSH). Each test builds its own cluster with a unique
//! name and subnet and tears it down when its guard drops, also on failure.
//! Without root every test prints SKIPPED and passes.

mod common;

use harness::control::local::{self, LocalCluster};
use harness::control::{
    all_ok, quote, sha256_hex, Auth, Cluster, Cmd, ErrorKind, ExitStatus, HostKeyCheck, Nodes,
    Remote, Secret,
};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn remote(c: &LocalCluster, node: &str) -> Remote {
    Remote::new(c.node(node).unwrap().clone(), c.nodes.ssh.clone())
}

fn random_file(path: &Path, len: usize) -> String {
    let mut data = vec![0u8; len];
    // Incompressible, deterministic per length.
    let mut rng =
        <rand_xoshiro::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(len as u64);
    rand::Rng::fill_bytes(&mut rng, &mut data);
    std::fs::write(path, &data).unwrap();
    sha256_hex(&data)
}

#[test]
fn commands_exit_codes_stderr_large_output_signals_cwd_env() {
    let Some(c) = common::cluster("cmd", 3) else {
        return;
    };
    let cl = c.cluster();
    common::rt().block_on(async {
        // Every node answers, in node order, as itself.
        let res = all_ok(cl.run_all("hostname").await).unwrap();
        let names: Vec<_> = res.iter().map(|(n, o)| (n.clone(), o.stdout_str())).collect();
        assert_eq!(
            names,
            vec![("n1".into(), "n1".into()), ("n2".into(), "n2".into()), ("n3".into(), "n3".into())]
        );

        let n1 = cl.node("n1").unwrap();
        // Exit codes and stderr.
        let o = n1.run("echo out; echo oops >&2; exit 3").await.unwrap();
        assert_eq!(o.status, ExitStatus::Code(3));
        assert_eq!(o.stdout_str(), "out");
        assert_eq!(o.stderr_str(), "oops");
        let e = n1.run_ok("ls /nonexistent-shakedown").await.unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("n1: `ls /nonexistent-shakedown`: exited with 2: ls: cannot access"), "{msg}");
        assert!(!msg.contains('\n'));

        // Killed by a signal: reported as the signal, not a code.
        let o = n1.run("kill -9 $$").await.unwrap();
        assert_eq!(
            o.status,
            ExitStatus::Signal {
                signal: "KILL".into(),
                core_dumped: false
            },
            "{o:?}"
        );
        assert_eq!(o.status.to_string(), "killed by SIGKILL");

        // 10 MB of stdout, byte for byte.
        let t = Instant::now();
        let o = n1.run("head -c 10000000 /dev/urandom | tee /tmp/shk-tcmd-big | sha256sum >&2; cat /tmp/shk-tcmd-big; rm /tmp/shk-tcmd-big").await.unwrap();
        assert!(o.success(), "{o:?}");
        assert_eq!(o.stdout.len(), 10_000_000);
        assert_eq!(o.stderr_str().split_whitespace().next().unwrap(), sha256_hex(&o.stdout));
        eprintln!("10 MB of stdout in {:?}", t.elapsed());

        // Working directory, environment, stdin.
        let o = n1
            .run(Cmd::new("pwd; printf '%s|' \"$A\" \"$B\"; wc -c").cwd("/tmp").env("A", "it's $HOME").env("B", "x\ny").stdin(vec![7u8; 1 << 20]))
            .await
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&o.stdout), "/tmp\nit's $HOME|x\ny|1048576\n");
        let o = n1.run(Cmd::new("true").cwd("/no/such/dir")).await.unwrap();
        assert_eq!(o.status, ExitStatus::Code(1));

        // Quoting survives the trip through sshd and the login shell.
        for word in [&b"'"[..], b"a b", b"$(id)", b"`id`", b"\\", b"\n\t", b"\xff\xfe", b"-n", b"%s", b"\"'\""] {
            let o = n1.run(Cmd::argv([&b"printf"[..], b"%s", word])).await.unwrap();
            assert_eq!(o.stdout, word, "word {word:?}");
        }
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..40 {
            let mut word = Vec::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for _ in 0..(x % 40) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                word.push((x % 255) as u8 + 1);
            }
            let o = n1.run(Cmd::argv([&b"printf"[..], b"%s", &word])).await.unwrap();
            assert_eq!(o.stdout, word, "random word {word:?}");
        }
        let nul = n1.run(Cmd::new(quote::quote(b"x").unwrap()).env("A", b"a\0b".to_vec())).await.unwrap_err();
        assert!(nul.to_string().contains("NUL"), "{nul}");

        // The nodes reach each other over the bridge, by name (/etc/hosts).
        let o = n1.run("getent hosts n2 && timeout 2 bash -c 'echo > /dev/tcp/n2/22' && echo reachable").await.unwrap();
        assert!(o.stdout_str().ends_with("reachable"), "{o:?}");

        // A subset runs in parallel with per-node results; unknown names fail alone.
        let res = cl.run_on(&["n3", "n9"], "echo hi").await;
        assert_eq!(res[0].0, "n3");
        assert_eq!(res[0].1.as_ref().unwrap().stdout_str(), "hi");
        assert_eq!(res[1].1.as_ref().unwrap_err().to_string(), "n9: no such node in this cluster");

        // A command timeout: reported in time, and the connection stays usable.
        let t = Instant::now();
        let e = n1.run(Cmd::new("sleep 30").timeout(Duration::from_secs(1))).await.unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Timeout { .. }), "{e}");
        assert_eq!(e.to_string(), "n1: `sleep 30`: timed out after 1 s");
        assert!(t.elapsed() < Duration::from_secs(3));
        // ... and killed on the node, not left running.
        let ns = c.node("n1").unwrap().netns.clone().unwrap();
        let t = Instant::now();
        while ns_runs(&ns, "sleep\x0030") && t.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(!ns_runs(&ns, "sleep\x0030"), "the timed-out command still runs");
        assert_eq!(n1.stdout("echo still").await.unwrap(), "still");
        assert_eq!(n1.connections_made(), 1, "one connection, reused");
    });
}

#[test]
fn two_hundred_concurrent_commands_on_one_node() {
    let Some(c) = common::cluster("conc", 3) else {
        return;
    };
    let n1 = remote(&c, "n1");
    common::rt().block_on(async {
        let t = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..200 {
            let r = n1.clone();
            set.spawn(async move { (i, r.run(format!("sleep 0.05; echo {i}")).await) });
        }
        let mut ok = 0;
        while let Some(res) = set.join_next().await {
            let (i, out) = res.unwrap();
            let out = out.unwrap_or_else(|e| panic!("command {i}: {e}"));
            assert_eq!(out.stdout_str(), i.to_string());
            ok += 1;
        }
        assert_eq!(ok, 200);
        // All over one connection: channels were capped, never refused.
        assert_eq!(n1.connections_made(), 1);
        eprintln!(
            "200 concurrent commands (8 channels at a time) in {:?}",
            t.elapsed()
        );
    });
}

#[test]
fn upload_and_download_50_mb_and_directories_with_checksums() {
    let Some(c) = common::cluster("xfer", 3) else {
        return;
    };
    let n2 = remote(&c, "n2");
    let tmpdir = tempfile::tempdir().unwrap();
    let tmp = tmpdir.path().to_path_buf();
    let local = tmp.join("big.bin");
    let sha = random_file(&local, 50 * 1024 * 1024);
    let data_dir = c.node("n2").unwrap().data_dir.clone().unwrap();
    let remote_path = format!("{data_dir}/dir with space/big.bin");
    common::rt().block_on(async {
        let t = Instant::now();
        let up = n2.upload(&local, &remote_path).await.unwrap();
        let up_time = t.elapsed();
        assert_eq!(up.bytes, 50 * 1024 * 1024);
        assert_eq!(up.sha256, sha);
        // The node's own sha256sum agrees.
        let remote_sum = n2
            .stdout(format!("sha256sum < {}", quote::q(&remote_path)))
            .await
            .unwrap();
        assert_eq!(remote_sum.split_whitespace().next().unwrap(), sha);

        let back = tmp.join("back.bin");
        let t = Instant::now();
        let down = n2.download(&remote_path, &back).await.unwrap();
        let down_time = t.elapsed();
        assert_eq!(down.sha256, sha);
        assert_eq!(sha256_hex(&std::fs::read(&back).unwrap()), sha);
        eprintln!(
            "50 MB: upload {up_time:?} ({:.0} MB/s), download {down_time:?} ({:.0} MB/s)",
            50.0 / up_time.as_secs_f64(),
            50.0 / down_time.as_secs_f64()
        );

        // Directory trees, both ways, modes kept.
        let tree = tmp.join("tree");
        std::fs::create_dir_all(tree.join("a/b")).unwrap();
        std::fs::create_dir_all(tree.join("empty")).unwrap();
        std::fs::write(tree.join("top.txt"), "top\n").unwrap();
        std::fs::write(tree.join("a/b/deep.sh"), "#!/bin/sh\necho deep\n").unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                tree.join("a/b/deep.sh"),
                std::fs::Permissions::from_mode(0o755),
            )
            .unwrap();
        }
        let rdir = format!("{data_dir}/tree");
        n2.upload(&tree, &rdir).await.unwrap();
        assert_eq!(
            n2.stdout(format!("{rdir}/a/b/deep.sh")).await.unwrap(),
            "deep"
        );
        assert_eq!(
            n2.stdout(format!("test -d {rdir}/empty && cat {rdir}/top.txt"))
                .await
                .unwrap(),
            "top"
        );
        let back_tree = tmp.join("back-tree");
        n2.download(&rdir, &back_tree).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(back_tree.join("a/b/deep.sh")).unwrap(),
            "#!/bin/sh\necho deep\n"
        );
        assert!(back_tree.join("empty").is_dir());

        // A missing file is a clear error.
        let e = n2
            .download("/no/such/file", &tmp.join("x"))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "n2: `download /no/such/file`: /no/such/file does not exist"
        );
    });
}

/// Removes the test user and its sudoers file on drop.
struct UserGuard(String);

impl Drop for UserGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(format!("/etc/sudoers.d/{}", self.0));
        let _ = Command::new("userdel").args(["-r", &self.0]).output();
    }
}

#[test]
fn sudo_as_non_root_user_with_password_on_stdin() {
    let Some(c) = common::cluster("sudo", 3) else {
        return;
    };
    // Users are machine-wide: a name unique to this process.
    let user_name = common::unique_name("shku");
    let user = user_name.as_str();
    let password = "s3cret pass'word";
    let _ = Command::new("userdel").args(["-r", user]).output();
    let _guard = UserGuard(user.to_string());
    assert!(Command::new("useradd")
        .args(["-m", "-s", "/bin/bash", user])
        .status()
        .unwrap()
        .success());
    let mut chpasswd = Command::new("chpasswd")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(chpasswd.stdin.take().unwrap(), "{user}:{password}").unwrap();
    assert!(chpasswd.wait().unwrap().success());
    std::fs::write(
        format!("/etc/sudoers.d/{user}"),
        format!("{user} ALL=(ALL) ALL\n"),
    )
    .unwrap();

    // Log in as the user with a password, then sudo with the password fed on stdin.
    let mut ssh = c.nodes.ssh.clone();
    ssh.user = user.into();
    ssh.auth = Auth::Password {
        password: Secret::Env("SHK_TEST_PW".into()),
    };
    std::env::set_var("SHK_TEST_PW", password);
    ssh.sudo_password = Some(Secret::Env("SHK_TEST_PW".into()));
    let nodes = Nodes {
        name: None,
        ssh: ssh.clone(),
        nodes: c.nodes.nodes.clone(),
    };
    let cl = Cluster::new(&nodes);
    common::rt().block_on(async {
        let n1 = cl.node("n1").unwrap();
        assert_eq!(n1.stdout("id -un").await.unwrap(), user);
        // sudo to root: password on stdin, the command's own stdin follows it.
        let o = n1
            .run_ok(Cmd::new("id -un; cat").sudo("root").stdin("payload"))
            .await
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&o.stdout), "root\npayload");
        // The password is on no command line: look at every process's
        // argv while a sudo command runs.
        let watcher = n1.run(Cmd::new("sleep 1; echo done").sudo("root"));
        let ps = async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            std::fs::read_dir("/proc")
                .unwrap()
                .flatten()
                .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
                .any(|c| String::from_utf8_lossy(&c).contains("s3cret"))
        };
        let (o, leaked) = tokio::join!(watcher, ps);
        assert_eq!(o.unwrap().stdout_str(), "done");
        assert!(!leaked, "the sudo password appeared on a command line");

        // Root runs commands as the user (no password needed), on all nodes.
        let root = c.cluster();
        for (n, r) in root
            .run_all(Cmd::new("id -un; echo $HOME").sudo(user))
            .await
        {
            assert_eq!(
                r.unwrap().stdout_str(),
                format!("{user}\n/home/{user}"),
                "{n}"
            );
        }

        // A wrong sudo password fails clearly (and does not hang).
        std::env::set_var("SHK_TEST_PW_BAD", "wrong");
        let mut bad = ssh.clone();
        bad.sudo_password = Some(Secret::Env("SHK_TEST_PW_BAD".into()));
        let r = Remote::new(c.node("n2").unwrap().clone(), bad);
        let e = r.run_ok(Cmd::new("id -u").sudo("root")).await.unwrap_err();
        assert!(
            e.to_string().starts_with("n2: `id -u`: exited with 1"),
            "{e}"
        );
        // Without a sudo password, sudo -n refuses at once.
        let mut none = ssh.clone();
        none.sudo_password = None;
        let r = Remote::new(c.node("n2").unwrap().clone(), none);
        let t = Instant::now();
        let e = r.run_ok(Cmd::new("id -u").sudo("root")).await.unwrap_err();
        assert!(e.to_string().contains("password is required"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(5));
        // A wrong login password is an authentication error naming the user.
        let mut badlogin = ssh.clone();
        badlogin.auth = Auth::Password {
            password: Secret::Value("nope".into()),
        };
        let r = Remote::new(c.node("n3").unwrap().clone(), badlogin);
        let e = r.connect().await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("n3: authentication as {user} failed: the server refused the password")
        );
        cl.disconnect().await;
    });
}

#[test]
fn stopped_sshd_gives_clear_error_in_time_while_others_work() {
    let Some(c) = common::cluster("dead", 3) else {
        return;
    };
    let mut ssh = c.nodes.ssh.clone();
    ssh.connect_timeout = Duration::from_secs(2);
    let nodes = Nodes {
        name: None,
        ssh,
        nodes: c.nodes.nodes.clone(),
    };
    let cl = Cluster::new(&nodes);
    common::rt().block_on(async {
        assert!(cl.connect_all().await.iter().all(|(_, r)| r.is_ok()));
        // Kill n2's sshd and its sessions: our open connection dies too.
        c.stop_sshd("n2", true).unwrap();
        let t = Instant::now();
        let res = cl.run_all("hostname").await;
        let took = t.elapsed();
        assert_eq!(res[0].1.as_ref().unwrap().stdout_str(), "n1");
        assert_eq!(res[2].1.as_ref().unwrap().stdout_str(), "n3");
        let e = res[1].1.as_ref().unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "n2: `hostname`: connect to {}:22 failed: connection refused (is sshd running?)",
                c.host("n2")
            )
        );
        assert!(took < Duration::from_secs(3), "took {took:?}");
        eprintln!("dead node reported in {took:?}: {e}");

        // A node that drops packets: a connect timeout, within the timeout.
        let ns = c.node("n3").unwrap().netns.clone().unwrap();
        let st = Command::new("ip")
            .args([
                "netns", "exec", &ns, "iptables", "-w", "-I", "INPUT", "-p", "tcp", "--dport",
                "22", "-j", "DROP",
            ])
            .status()
            .unwrap();
        assert!(st.success());
        cl.node("n3").unwrap().disconnect().await;
        let t = Instant::now();
        let e = cl.node("n3").unwrap().run("true").await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "n3: `true`: connect to {}:22 timed out after 2 s",
                c.host("n3")
            )
        );
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "took {:?}",
            t.elapsed()
        );
        // n1 is unaffected.
        assert_eq!(
            cl.node("n1").unwrap().stdout("hostname").await.unwrap(),
            "n1"
        );

        // sshd back: the next command reconnects by itself.
        c.start_sshd("n2").unwrap();
        let n2 = cl.node("n2").unwrap();
        assert_eq!(n2.stdout("hostname").await.unwrap(), "n2");
        assert_eq!(n2.connections_made(), 2);

        // The connection dies while a command runs: not re-run, said so.
        let long = n2.run("sleep 5; echo finished");
        let kill = async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            c.stop_sshd("n2", true).unwrap();
        };
        let (r, ()) = tokio::join!(long, kill);
        let e = r.unwrap_err();
        assert!(
            matches!(
                e.kind,
                ErrorKind::Disconnected {
                    maybe_ran: true,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("may have run; not retried"), "{e}");
    });
}

#[test]
fn host_keys_wrong_pinned_changed_unknown_tofu_and_accept_any() {
    let Some(c) = common::cluster("hkey", 3) else {
        return;
    };
    let n1 = c.node("n1").unwrap().clone();
    let n2_key = c.node("n2").unwrap().host_keys[0].clone();
    common::rt().block_on(async {
        // Pinned key of another node: refused, both fingerprints named.
        let mut wrong = n1.clone();
        wrong.host_keys = vec![n2_key.clone()];
        let e = Remote::new(wrong, c.nodes.ssh.clone())
            .connect()
            .await
            .unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e.kind, ErrorKind::HostKey { .. }));
        assert!(
            msg.starts_with(&format!(
                "n1: host key of {}:22 refused: it presented ssh-ed25519 SHA256:",
                c.host("n1")
            )),
            "{msg}"
        );
        assert!(
            msg.contains("but the pinned key is ssh-ed25519 SHA256:"),
            "{msg}"
        );

        // known_hosts mode, no pins.
        let tmpdir = tempfile::tempdir().unwrap();
        let dir = tmpdir.path();
        let kh = dir.join("known_hosts");
        let mut unpinned = n1.clone();
        unpinned.host_keys.clear();
        let mut ssh = c.nodes.ssh.clone();
        ssh.known_hosts = Some(kh.clone());
        ssh.host_key_check = HostKeyCheck::KnownHosts;
        // Unknown host: refused, with what to do.
        let e = Remote::new(unpinned.clone(), ssh.clone())
            .connect()
            .await
            .unwrap_err();
        assert!(e.to_string().contains("is not in"), "{e}");
        // Changed key in known_hosts: refused loudly.
        let fake = n2_key
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        std::fs::write(&kh, format!("{} {fake}\n", c.host("n1"))).unwrap();
        let e = Remote::new(unpinned.clone(), ssh.clone())
            .connect()
            .await
            .unwrap_err();
        assert!(e.to_string().contains("HOST KEY CHANGED"), "{e}");
        assert!(e.to_string().contains("line 1"), "{e}");

        // Trust on first use: records the key, then accepts it; a changed
        // key afterwards is refused.
        std::fs::remove_file(&kh).unwrap();
        ssh.host_key_check = HostKeyCheck::TrustOnFirstUse;
        Remote::new(unpinned.clone(), ssh.clone())
            .connect()
            .await
            .unwrap();
        let recorded = std::fs::read_to_string(&kh).unwrap();
        assert!(
            recorded
                .trim_start()
                .starts_with(&format!("{} ssh-ed25519 ", c.host("n1"))),
            "{recorded}"
        );
        Remote::new(unpinned.clone(), ssh.clone())
            .connect()
            .await
            .unwrap();
        std::fs::write(&kh, format!("{} {fake}\n", c.host("n1"))).unwrap();
        let e = Remote::new(unpinned.clone(), ssh.clone())
            .connect()
            .await
            .unwrap_err();
        assert!(e.to_string().contains("HOST KEY CHANGED"), "{e}");

        // Accept-any: explicitly opted in, connects (and logs a warning).
        ssh.host_key_check = HostKeyCheck::AcceptAny;
        let r = Remote::new(unpinned, ssh);
        assert_eq!(r.stdout("hostname").await.unwrap(), "n1");
    });
}

#[test]
fn rsa_ecdsa_and_passphrase_keys_authenticate() {
    let Some(c) = common::cluster("keys", 3) else {
        return;
    };
    let tmpdir = tempfile::tempdir().unwrap();
    let dir = tmpdir.path();
    let ak = c.dir.join("authorized_keys");
    let mut keys = Vec::new();
    for (t, bits, pass) in [
        ("rsa", "3072", ""),
        ("ecdsa", "256", ""),
        ("ed25519", "256", "pass phrase"),
    ] {
        let path = dir.join(format!("id_{t}"));
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", t, "-b", bits, "-N", pass, "-f"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(st.success());
        let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
        let mut all = std::fs::read_to_string(&ak).unwrap();
        all.push_str(&public);
        std::fs::write(&ak, all).unwrap();
        keys.push((t, path, pass));
    }
    common::rt().block_on(async {
        for (t, path, pass) in &keys {
            let mut ssh = c.nodes.ssh.clone();
            let env = format!("SHK_TEST_KEYPASS_{}", t.to_uppercase());
            ssh.auth = Auth::Key {
                path: path.clone(),
                passphrase_env: (!pass.is_empty()).then(|| env.clone()),
            };
            if !pass.is_empty() {
                // Missing passphrase variable: a clear error.
                let e = Remote::new(c.node("n1").unwrap().clone(), ssh.clone())
                    .connect()
                    .await
                    .unwrap_err();
                assert!(
                    e.to_string()
                        .contains(&format!("environment variable {env} is not set")),
                    "{e}"
                );
                std::env::set_var(&env, pass);
            }
            let r = Remote::new(c.node("n1").unwrap().clone(), ssh);
            assert_eq!(
                r.stdout("hostname")
                    .await
                    .unwrap_or_else(|e| panic!("{t}: {e}")),
                "n1",
                "{t}"
            );
        }
    });
}

#[test]
fn debian_setup_hostname_hosts_and_idempotent_install() {
    let Some(c) = common::cluster("deb", 3) else {
        return;
    };
    let cl = c.cluster();
    common::rt().block_on(async {
        // Packages the host already has: nothing to fetch, so this is safe
        // offline and proves idempotence.
        harness::control::debian::setup(&cl, &["coreutils", "openssh-server"])
            .await
            .unwrap();
        harness::control::debian::setup(&cl, &["coreutils"])
            .await
            .unwrap();
        for (n, r) in cl
            .run_all("hostname; cat /etc/hostname; grep -c shakedown /etc/hosts; getent hosts n3")
            .await
        {
            let out = r.unwrap().stdout_str();
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(lines[0], n);
            assert_eq!(lines[1], n);
            assert_eq!(lines[2], "2", "one managed block after two runs");
            assert!(lines[3].starts_with(&c.host("n3")), "{out}");
        }
        // Per-node files, not the host's.
        let host = std::fs::read_to_string("/etc/hosts").unwrap();
        assert!(
            !host.contains(&c.host("n1")),
            "the host's /etc/hosts was touched"
        );
        let n1 = cl.node("n1").unwrap();
        let o = n1
            .run(harness::control::debian::install_script(&["coreutils"]))
            .await
            .unwrap();
        assert_eq!(o.stdout_str(), "already installed");
    });
}

#[test]
fn up_is_idempotent_and_down_leaves_nothing_behind() {
    let Some(c) = common::cluster("down", 3) else {
        return;
    };
    let name = c.name.clone();
    let before = local::leftovers(&name);
    eprintln!("before down: {before:?}");
    assert_eq!(before.namespaces.len(), 3);
    assert_eq!(
        before.links.len(),
        4,
        "bridge + 3 veths: {:?}",
        before.links
    );
    assert!(before.dir_exists);
    let sshd: Vec<u32> = ["n1", "n2", "n3"]
        .iter()
        .map(|n| c.sshd_pid(n).unwrap())
        .collect();

    // up again: same cluster (same sshd processes, same keys).
    let again = local::up(&local::Options::new(&name, 3).subnet(c.subnet)).unwrap();
    assert_eq!(again.nodes.nodes, c.nodes.nodes);
    assert_eq!(again.sshd_pid("n1"), Some(sshd[0]));
    // A dead sshd is restarted in place by `up`, keeping keys and the rest.
    c.stop_sshd("n2", true).unwrap();
    assert_eq!(c.sshd_pid("n2"), None);
    let again = local::up(&local::Options::new(&name, 3).subnet(c.subnet)).unwrap();
    assert_eq!(again.nodes.nodes, c.nodes.nodes);
    assert_eq!(again.sshd_pid("n1"), Some(sshd[0]));
    let sshd: Vec<u32> = ["n1", "n2", "n3"]
        .iter()
        .map(|n| c.sshd_pid(n).unwrap())
        .collect();

    // Start something in a node that outlives its session (like a database).
    let r = remote(&c, "n1");
    common::rt().block_on(async {
        r.run_ok("setsid sleep 1000 > /dev/null 2>&1 < /dev/null & echo started")
            .await
            .unwrap();
        r.disconnect().await;
    });
    assert!(local::leftovers(&name).processes.len() >= 4);

    // Simulate a crash mid-up: nodes.json gone, an extra namespace around.
    std::fs::remove_file(local::nodes_file(&name)).unwrap();
    assert!(Command::new("ip")
        .args(["netns", "add", &format!("shk-{name}-n7")])
        .status()
        .unwrap()
        .success());
    local::down(&name).unwrap();
    let after = local::leftovers(&name);
    eprintln!("after down: {after:?}");
    assert!(after.is_empty(), "{after:?}");
    for p in sshd {
        assert!(
            !Path::new(&format!("/proc/{p}")).exists() || is_zombie(p),
            "sshd {p} survived"
        );
    }
    // down twice is fine.
    local::down(&name).unwrap();
    std::mem::forget(c); // already down
}

/// Whether a live process in namespace `ns` has exactly this cmdline
/// (arguments separated by NUL).
fn ns_runs(ns: &str, cmdline: &str) -> bool {
    let out = Command::new("ip")
        .args(["netns", "pids", ns])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .any(|p| {
            !is_zombie(p.parse().unwrap_or(0))
                && std::fs::read(format!("/proc/{p}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).trim_end_matches('\0') == cmdline)
        })
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}

#[test]
fn refuses_taken_subnet_and_bad_names() {
    if !local::is_root() {
        eprintln!("SKIPPED: needs root");
        return;
    }
    let Some(a) = common::cluster("suba", 1) else {
        return;
    };
    let other = common::unique_name("subb");
    let e = local::up(&local::Options::new(&other, 1).subnet(a.subnet)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "subnet {0}/24 is already in use ({0}/24 via shakedown cluster {1:?}); pick another with --subnet",
            a.subnet, a.name
        )
    );
    assert!(local::leftovers(&other).is_empty());
    let e = local::up(&local::Options::new("Bad-Name", 1)).unwrap_err();
    assert!(e.to_string().contains("must be 1 to 8 characters"), "{e}");
}

#[test]
fn daemons_by_pid_file_start_pause_stop_and_write_read_files() {
    use harness::control::daemon::{self, Daemon, Started};
    let Some(c) = common::cluster("daem", 3) else {
        return;
    };
    let cl = c.cluster();
    common::rt().block_on(async {
        let n1 = cl.node("n1").unwrap();
        let dir = c.node("n1").unwrap().data_dir.clone().unwrap();
        let d = Daemon {
            bin: "sh".into(),
            args: vec![
                "-c".into(),
                "echo \"up $GREETING\"; sleep 1000 & wait".into(),
            ],
            pidfile: format!("{dir}/run/d.pid"),
            logfile: format!("{dir}/log/d.log"),
            chdir: Some(dir.clone()),
            env: vec![("GREETING".into(), "hello world".into())],
            user: None,
        };
        let first = daemon::start(n1, &d).await.unwrap();
        let Started::Started(pid) = first else {
            panic!("{first:?}")
        };
        assert_eq!(
            daemon::start(n1, &d).await.unwrap(),
            Started::AlreadyRunning(pid)
        );
        assert_eq!(daemon::running(n1, &d.pidfile).await.unwrap(), Some(pid));
        // The same pid file path on n2 names nothing: nodes are separate.
        let n2 = cl.node("n2").unwrap();
        assert_eq!(
            daemon::running(n2, &format!("{dir}/nothing.pid"))
                .await
                .unwrap(),
            None
        );
        // Pause and resume the whole process group.
        daemon::signal(n1, &d.pidfile, "STOP").await.unwrap();
        let state = |p: u32| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .map(|s| {
                    s.rsplit(')')
                        .next()
                        .unwrap()
                        .split_whitespace()
                        .next()
                        .unwrap()
                        .to_string()
                })
                .unwrap_or_default()
        };
        let t = Instant::now();
        while state(pid) != "T" && t.elapsed() < Duration::from_secs(2) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(state(pid), "T");
        daemon::signal(n1, &d.pidfile, "CONT").await.unwrap();
        assert_ne!(state(pid), "T");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let log = n1.read_file(&d.logfile).await.unwrap();
        assert_eq!(String::from_utf8_lossy(&log), "up hello world\n");
        // Stop: the group (sh and its sleep) is gone, the pid file too.
        let children: Vec<u32> = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/status")).is_ok_and(|s| {
                    s.lines().any(|l| {
                        l.split_whitespace().collect::<Vec<_>>() == ["PPid:", &pid.to_string()]
                    })
                })
            })
            .collect();
        assert_eq!(children.len(), 1, "sh has its sleep child");
        assert_eq!(
            daemon::stop(n1, &d.pidfile, Duration::from_secs(2))
                .await
                .unwrap(),
            Some(pid)
        );
        assert_eq!(daemon::running(n1, &d.pidfile).await.unwrap(), None);
        assert!(state(pid).is_empty() || state(pid) == "Z");
        for child in &children {
            assert!(
                state(*child).is_empty() || state(*child) == "Z",
                "the daemon's child {child} survived"
            );
        }
        assert_eq!(
            daemon::stop(n1, &d.pidfile, Duration::from_secs(1))
                .await
                .unwrap(),
            None
        );

        // write_file / read_file round trip with mode.
        let path = format!("{dir}/etc/conf file");
        let t = n1.write_file(&path, b"a\0b\xff", 0o640).await.unwrap();
        assert_eq!(t.bytes, 4);
        assert_eq!(n1.read_file(&path).await.unwrap(), b"a\0b\xff");
        assert_eq!(
            n1.stdout(format!("stat -c %a {}", quote::q(&path)))
                .await
                .unwrap(),
            "640"
        );
    });
}
