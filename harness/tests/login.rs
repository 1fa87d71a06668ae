//! Logging in through a real `ssh-agent`, with `~` in key paths, and with
//! what an ssh_config(5) file says for a host alias, against a real sshd
//! on a one-node local cluster (`cfg1` on 10.77.145.0/24).
//! Needs root (network namespaces); prints SKIPPED and passes otherwise.

use harness::control::local::{self, LocalCluster, Options};
use harness::control::ssh_config::{self, SshConfigFile};
use harness::control::{Auth, ErrorKind, HostKeyCheck, Node, Remote, SshConfig};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CLUSTER: &str = "cfg1";
const SUBNET: Ipv4Addr = Ipv4Addr::new(10, 77, 145, 0);

/// The cluster, torn down when the test ends (also on failure).
struct ClusterGuard(LocalCluster);

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        if let Err(e) = local::down(CLUSTER) {
            eprintln!("teardown of {CLUSTER}: {e}");
        }
    }
}

/// An `ssh-agent` in the foreground on its own socket, killed on drop.
struct Agent {
    child: Child,
    sock: PathBuf,
}

impl Agent {
    fn start(dir: &Path) -> Agent {
        let sock = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&sock)
            .stdout(Stdio::null())
            .spawn()
            .expect("ssh-agent");
        let t = Instant::now();
        while !sock.exists() {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "ssh-agent did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Agent { child, sock }
    }

    fn add(&self, key: &Path) {
        let st = Command::new("ssh-add")
            .arg("-q")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.sock)
            .status()
            .unwrap();
        assert!(st.success(), "ssh-add {}", key.display());
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(path: &Path) -> String {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::read_to_string(path.with_extension("pub")).unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn agent_tilde_paths_and_ssh_config_log_in() {
    if !local::is_root() {
        eprintln!(
            "SKIPPED: the ssh-agent test needs root (a local cluster); run as root to exercise it"
        );
        return;
    }
    let c = ClusterGuard(local::up(&Options::new(CLUSTER, 1).subnet(SUBNET)).expect("cluster up"));
    let c = &c.0;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // An authorized key, and one the node does not know.
    let good = dir.join("id_good");
    let stranger = dir.join("id_stranger");
    let public = keygen(&good);
    keygen(&stranger);
    let ak = c.dir.join("authorized_keys");
    let mut all = std::fs::read_to_string(&ak).unwrap();
    all.push_str(&public);
    std::fs::write(&ak, all).unwrap();

    let node = c.node("n1").unwrap().clone();
    let mut ssh = c.nodes.ssh.clone();
    ssh.auth = Auth::Agent {};
    ssh.retries = 0;
    let login = |ssh: &harness::control::SshConfig| {
        let r = Remote::new(node.clone(), ssh.clone());
        rt().block_on(async move { r.stdout("hostname").await })
    };
    let auth_reason = |e: harness::control::Error| match e.kind {
        ErrorKind::Auth { reason, .. } => reason,
        other => panic!("not an authentication error: {other:?}"),
    };

    // No agent: the error names the variable.
    std::env::remove_var("SSH_AUTH_SOCK");
    let e = auth_reason(login(&ssh).unwrap_err());
    assert!(e.contains("SSH_AUTH_SOCK is not set"), "{e}");

    let agent = Agent::start(dir);
    std::env::set_var("SSH_AUTH_SOCK", &agent.sock);
    // An empty agent, then one holding only a stranger's key.
    let e = auth_reason(login(&ssh).unwrap_err());
    assert!(e.contains("holds no keys"), "{e}");
    agent.add(&stranger);
    let e = auth_reason(login(&ssh).unwrap_err());
    assert!(
        e.contains("refused every key of the ssh-agent (ssh-ed25519 SHA256:"),
        "{e}"
    );
    // With the authorized key too (offered second): logged in, and the
    // private key file is not needed any more.
    agent.add(&good);
    std::fs::remove_file(&good).unwrap();
    assert_eq!(login(&ssh).unwrap(), "n1");

    // `~/` in a key path is the home directory.
    let home = dir.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    let public = keygen(&home.join(".ssh/id_tilde"));
    let mut all = std::fs::read_to_string(&ak).unwrap();
    all.push_str(&public);
    std::fs::write(&ak, all).unwrap();
    std::env::set_var("HOME", &home);
    ssh.auth = Auth::Key {
        path: "~/.ssh/id_tilde".into(),
        passphrase_env: None,
    };
    assert_eq!(login(&ssh).unwrap(), "n1");
    // The same key through a node's own identity-file, also with `~`.
    let mut via_node = node.clone();
    via_node.identity_file = Some("~/.ssh/id_tilde".into());
    let mut agent_only = c.nodes.ssh.clone();
    agent_only.auth = Auth::Agent {};
    std::env::remove_var("SSH_AUTH_SOCK");
    let r = Remote::new(via_node, agent_only);
    assert_eq!(
        r.config().auth,
        Auth::Key {
            path: "~/.ssh/id_tilde".into(),
            passphrase_env: None
        }
    );
    assert_eq!(rt().block_on(r.stdout("hostname")).unwrap(), "n1");

    // A host alias resolved through an ssh_config file: HostName, User,
    // Port and IdentityFile (the cluster's key) come from the file; the
    // default key (~/.ssh/id_ed25519 in the empty home) does not exist, so
    // only the file's IdentityFile can log in.
    let config = dir.join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host cfg1-alias\n  HostName {}\n  User root\n  Port 22\n  IdentityFile {}\n  ForwardAgent yes\n",
            node.host,
            c.dir.join("id_ed25519").display()
        ),
    )
    .unwrap();
    let mut alias = Node::new("n1", "cfg1-alias");
    alias.host_keys = node.host_keys.clone();
    let mut nodes = vec![alias];
    let plain = SshConfig {
        host_key_check: HostKeyCheck::Pinned,
        retries: 0,
        ..SshConfig::default()
    };
    let file = SshConfigFile::load(&config).unwrap();
    let warnings = ssh_config::apply(&file, &plain, &mut nodes).unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("line 6: ForwardAgent is not read"),
        "{warnings:?}"
    );
    assert_eq!(nodes[0].host, node.host);
    let r = Remote::new(nodes[0].clone(), plain.clone());
    assert_eq!(rt().block_on(r.stdout("hostname")).unwrap(), "n1");
    // Without the file the alias does not resolve and nothing logs in.
    let r = Remote::new(Node::new("n1", "cfg1-alias"), plain);
    assert!(rt().block_on(r.stdout("hostname")).is_err());
}
