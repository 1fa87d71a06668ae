//! The etcd client against a real, single-node etcd (Debian's etcd-server,
//! started per test on free ports with a temporary data directory, killed
//! by pid when the test ends, pass or fail), and short end-to-end runs of
//! the run loop with each workload, their histories checked.
//!
//! Without /usr/bin/etcd the tests fail, unless SHAKEDOWN_SKIP_ETCD=1.

use checkers::verdict::Validity;
use harness::run::{
    self, Client, Completion, Connect, NoNemesis, OpRequest, Progress, RecorderConfig, RunConfig,
};
use history::Value;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use targets::etcd::client::{
    find_leader, ClientOptions, Compare, EtcdClient, EtcdConnect, EtcdError, TxnOp, TxnResult,
};
use workloads::Workload;

const ETCD: &str = "/usr/bin/etcd";

/// A single-node etcd, killed (by pid) and wiped when dropped.
struct Etcd {
    child: Child,
    endpoint: String,
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Etcd {
    /// None when etcd is not installed and SHAKEDOWN_SKIP_ETCD=1.
    async fn start() -> Option<Etcd> {
        if !std::path::Path::new(ETCD).exists() {
            if std::env::var("SHAKEDOWN_SKIP_ETCD").is_ok_and(|v| v == "1") {
                eprintln!("skipped: {ETCD} not installed");
                return None;
            }
            panic!("{ETCD} not found: apt-get install etcd-server (or SHAKEDOWN_SKIP_ETCD=1)");
        }
        let dir = tempfile::tempdir().unwrap();
        let (client, peer) = (free_port(), free_port());
        let log = std::fs::File::create(dir.path().join("etcd.log")).unwrap();
        let child = Command::new(ETCD)
            .arg("--name=test")
            .arg(format!("--data-dir={}", dir.path().join("data").display()))
            .arg(format!("--listen-client-urls=http://127.0.0.1:{client}"))
            .arg(format!("--advertise-client-urls=http://127.0.0.1:{client}"))
            .arg(format!("--listen-peer-urls=http://127.0.0.1:{peer}"))
            .arg(format!(
                "--initial-advertise-peer-urls=http://127.0.0.1:{peer}"
            ))
            .arg(format!("--initial-cluster=test=http://127.0.0.1:{peer}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let etcd = Etcd {
            child,
            endpoint: format!("127.0.0.1:{client}"),
            dir,
        };
        let mut c = EtcdClient::new(&etcd.endpoint);
        c.timeout = Duration::from_secs(1);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match c.status().await {
                Ok(s) if s.leader != 0 => return Some(etcd),
                r if Instant::now() > deadline => panic!(
                    "etcd did not come up: {r:?}\n{}",
                    std::fs::read_to_string(etcd.log()).unwrap_or_default()
                ),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("etcd.log")
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn kv_txn_and_status_against_a_real_etcd() {
    let Some(etcd) = Etcd::start().await else {
        return;
    };
    let mut c = EtcdClient::new(&format!("http://{}", etcd.endpoint));
    assert_eq!(c.get(b"t/a").await.unwrap(), None);
    let rev = c.put(b"t/a", b"1").await.unwrap();
    let kv = c.get(b"t/a").await.unwrap().unwrap();
    assert_eq!((kv.value.as_slice(), kv.mod_revision), (&b"1"[..], rev));
    // cas on the value
    assert!(!c.cas(b"t/a", b"2", b"3").await.unwrap());
    assert!(c.cas(b"t/a", b"1", b"3").await.unwrap());
    assert!(!c.cas(b"t/missing", b"", b"x").await.unwrap());
    // cas on the revision; 0 means absent
    let kv = c.get(b"t/a").await.unwrap().unwrap();
    assert!(!c
        .cas_revision(b"t/a", kv.mod_revision - 1, b"4")
        .await
        .unwrap());
    assert!(c.cas_revision(b"t/a", kv.mod_revision, b"4").await.unwrap());
    assert!(c.cas_revision(b"t/b", 0, b"new").await.unwrap());
    assert!(!c.cas_revision(b"t/b", 0, b"again").await.unwrap());
    // serializable reads see it too on a single node
    c.serializable = true;
    assert_eq!(c.get(b"t/a").await.unwrap().unwrap().value, b"4");
    c.serializable = false;
    // prefix reads, in key order
    for k in ["t/p/2", "t/p/1", "t/q"] {
        c.put(k.as_bytes(), b"").await.unwrap();
    }
    let keys: Vec<Vec<u8>> = c
        .get_prefix(b"t/p/", true)
        .await
        .unwrap()
        .into_iter()
        .map(|kv| kv.key)
        .collect();
    assert_eq!(keys, vec![b"t/p/1".to_vec(), b"t/p/2".to_vec()]);
    // a multi-key txn: failure branch reads
    let r = c
        .txn(
            &[Compare::Value(b"t/a".to_vec(), b"nope".to_vec())],
            &[TxnOp::Put(b"t/a".to_vec(), b"5".to_vec())],
            &[TxnOp::Get(b"t/a".to_vec()), TxnOp::Get(b"t/zzz".to_vec())],
        )
        .await
        .unwrap();
    assert!(!r.succeeded);
    match &r.results[..] {
        [TxnResult::Get(Some(a)), TxnResult::Get(None)] => assert_eq!(a.value, b"4"),
        other => panic!("{other:?}"),
    }
    // status names the leader: itself
    let s = c.status().await.unwrap();
    assert!(s.is_leader(), "{s:?}");
    assert!(s.version.starts_with("3."), "{s:?}");
    let nodes = vec![
        ("down".to_string(), format!("127.0.0.1:{}", free_port())),
        ("n1".to_string(), etcd.endpoint.clone()),
    ];
    assert_eq!(
        find_leader(&nodes, Duration::from_secs(1)).await.unwrap(),
        "n1"
    );
    let err = find_leader(&nodes[..1], Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(err.contains("down: not sent"), "{err}");
    // an error response (chunked, with trailers) is a definite failure,
    // and the connection stays usable
    let err = c.get(b"").await.unwrap_err();
    match &err {
        EtcdError::Server {
            code: 3, message, ..
        } => assert!(message.contains("key is not provided")),
        other => panic!("{other:?}"),
    }
    assert!(err.definitely_failed());
    assert!(c.get(b"t/a").await.unwrap().is_some());
    // large values come back whole
    let big = vec![b'x'; 300_000];
    c.put(b"t/big", &big).await.unwrap();
    assert_eq!(c.get(b"t/big").await.unwrap().unwrap().value, big);
    // once etcd is gone, requests are never sent: definite failures
    drop(etcd);
    let err = c.get(b"t/a").await.unwrap_err();
    assert!(matches!(err, EtcdError::NotSent(_)), "{err:?}");
    assert!(err.definitely_failed());
}

#[tokio::test]
async fn timeouts_and_resets_after_sending_are_unknown() {
    // Accepts, reads the request, never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let mut c = EtcdClient::new(&silent_addr);
    c.timeout = Duration::from_millis(200);
    let err = c.put(b"k", b"v").await.unwrap_err();
    assert!(
        matches!(err, EtcdError::Unknown(ref m) if m.contains("timeout")),
        "{err:?}"
    );
    assert!(!err.definitely_failed());

    // Accepts, reads the request, closes.
    let rude = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rude_addr = rude.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        while let Ok((mut s, _)) = rude.accept().await {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
        }
    });
    let mut c = EtcdClient::new(&rude_addr);
    let err = c.put(b"k", b"v").await.unwrap_err();
    assert!(matches!(err, EtcdError::Unknown(_)), "{err:?}");

    // Nothing listening: never sent.
    let closed = format!("127.0.0.1:{}", free_port());
    let mut c = EtcdClient::new(&closed);
    let err = c.put(b"k", b"v").await.unwrap_err();
    assert!(matches!(err, EtcdError::NotSent(_)), "{err:?}");

    // The run-loop client maps them: a write of unknown outcome is info,
    // a read that failed is fail, a refused write is fail.
    let connect = EtcdConnect {
        endpoints: vec![("n1".into(), silent_addr), ("n2".into(), closed)],
        options: ClientOptions {
            timeout: Duration::from_millis(200),
            ..ClientOptions::default()
        },
    };
    let mut n1 = connect.open("n1", 0).await.unwrap();
    let write = OpRequest::new("write", 1).with_key(0);
    assert!(matches!(n1.invoke(&write).await, Completion::Info(_)));
    let read = OpRequest::new("read", Value::Nil).with_key(0);
    assert!(matches!(n1.invoke(&read).await, Completion::Fail(_)));
    let mut n2 = connect.open("n2", 1).await.unwrap();
    assert!(matches!(n2.invoke(&write).await, Completion::Fail(_)));
}

/// A fake gateway: the first request overall is answered after 300 ms
/// with revision 1, every other at once with revision 2.
async fn slow_first_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let first = first.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                // One request per read is enough for these small bodies.
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    let rev = if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        1
                    } else {
                        2
                    };
                    let body = format!("{{\"header\":{{\"revision\":\"{rev}\"}}}}");
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if s.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_request_abandoned_midway_does_not_poison_the_next() {
    let addr = slow_first_server().await;
    let mut c = EtcdClient::new(&addr);
    let abandoned = tokio::time::timeout(Duration::from_millis(100), c.put(b"k", b"1")).await;
    assert!(abandoned.is_err());
    // A fresh connection: the late answer to the first request is not
    // taken for the answer to this one.
    assert_eq!(c.put(b"k", b"2").await.unwrap(), 2);
    assert_eq!(c.put(b"k", b"3").await.unwrap(), 2);
}

fn run_config(
    endpoint: &str,
    secs: u64,
    path: PathBuf,
    workload: &'static str,
) -> (RunConfig, Arc<EtcdConnect>) {
    let cfg = RunConfig {
        nodes: vec!["n1".into()],
        concurrency: 8,
        time_limit: Duration::from_secs(secs),
        op_timeout: Duration::from_secs(3),
        recovery_time: Duration::ZERO,
        progress: Progress::Off,
        recorder: RecorderConfig {
            path: Some(path),
            ..RecorderConfig::default()
        },
        ..RunConfig::default()
    };
    let connect = EtcdConnect {
        endpoints: vec![("n1".into(), endpoint.into())],
        options: ClientOptions {
            prefix: format!("run-{}/", std::process::id()),
            timeout: Duration::from_secs(2),
            workload,
            ..ClientOptions::default()
        },
    };
    (cfg, Arc::new(connect))
}

async fn run_workload(etcd: &Etcd, options: &str, secs: u64) -> (workloads::Checked, run::Outcome) {
    let workload: Workload = serde_json::from_str(options).unwrap();
    workload.validate().unwrap();
    let (cfg, connect) = run_config(
        &etcd.endpoint,
        secs,
        etcd.dir.path().join("history.jsonl"),
        workload.name(),
    );
    let out = run::run(cfg, connect, workload.generator(), NoNemesis)
        .await
        .unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    // What is on disk is what was checked.
    let on_disk = run::read_history(out.history_path.as_ref().unwrap()).unwrap();
    assert_eq!(on_disk.ops(), out.history.ops());
    let checked = workload.check(&out.history).unwrap();
    (checked, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_run_against_etcd_is_linearizable() {
    let Some(etcd) = Etcd::start().await else {
        return;
    };
    let (checked, out) = run_workload(&etcd, r#"{"name":"register","keys":5}"#, 5).await;
    let c = out.counts;
    eprintln!("register: {c:?} in {:?}", out.main_elapsed);
    assert!(c.ok > 200, "{c:?}");
    assert!(c.fail > 0, "some cas should fail: {c:?}");
    assert_eq!(c.info, 0, "{c:?}");
    assert_eq!(
        checked.valid(),
        Validity::Valid,
        "{}",
        serde_json::to_string(&checked).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_append_run_against_etcd_is_strict_serializable() {
    let Some(etcd) = Etcd::start().await else {
        return;
    };
    let (checked, out) = run_workload(&etcd, r#"{"name":"list-append","keys":4}"#, 4).await;
    let c = out.counts;
    eprintln!("list-append: {c:?} in {:?}", out.main_elapsed);
    assert!(c.ok > 100, "{c:?}");
    let workloads::Checked::Txn(r) = &checked else {
        panic!()
    };
    assert_eq!(
        r.valid,
        Validity::Valid,
        "{:?} {:?}",
        r.anomaly_types,
        r.warnings
    );
    // Reads saw appends: the check had something to work with.
    let longest = out
        .history
        .ops()
        .iter()
        .filter(|o| o.kind == history::OpType::Ok)
        .flat_map(|o| o.value.as_list().unwrap().iter())
        .filter_map(|m| m.as_list().and_then(|m| m[2].as_list()).map(|l| l.len()))
        .max()
        .unwrap_or(0);
    assert!(longest >= 3, "longest list read: {longest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_run_against_etcd_loses_nothing() {
    let Some(etcd) = Etcd::start().await else {
        return;
    };
    let (checked, out) = run_workload(&etcd, r#"{"name":"set","reads":1}"#, 3).await;
    let workloads::Checked::Set(r) = &checked else {
        panic!()
    };
    eprintln!("set: {:?}: {}", out.counts, r.explanation);
    assert_eq!(r.valid, Validity::Valid, "{}", r.explanation);
    assert_eq!(r.final_reads, 1);
    assert!(r.acknowledged > 50, "{r:?}");
}
