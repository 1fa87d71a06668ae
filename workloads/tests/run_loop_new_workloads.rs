//! The bank, counter, queue, unique-ids and long-fork workloads through the
//! real run loop (10 workers, 3 nodes, final ops), against an in-process
//! store: a correct one checks valid, and one with the workload's bug
//! (a lost debit, a dropped increment, a redelivered element, a restarted
//! id sequence, asynchronous replication) checks invalid.

use checkers::verdict::Validity;
use harness::run::{self, Client, Completion, Connect, NoNemesis, OpRequest, Progress, RunConfig};
use history::Value;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use workloads::{Checked, Workload};

#[derive(Default)]
struct State {
    ops: u64,
    /// Bank balances by account name.
    accounts: BTreeMap<String, i64>,
    counter: i64,
    queue: VecDeque<i64>,
    next_id: i64,
    /// Long fork: keys written, per replica, and writes not yet copied to
    /// the other replica.
    replicas: [HashSet<i64>; 2],
    unreplicated: VecDeque<(usize, i64)>,
}

/// One store for every workload; `buggy` turns on each workload's bug.
#[derive(Clone)]
struct Store {
    state: Arc<Mutex<State>>,
    /// The workload's name (bank and counter both `read`).
    workload: &'static str,
    buggy: bool,
}

struct StoreClient {
    store: Store,
    /// Long fork: the replica this client talks to.
    replica: usize,
}

impl Connect for Store {
    type Client = StoreClient;

    async fn open(&self, node: &str, _process: u64) -> Result<StoreClient, String> {
        Ok(StoreClient {
            store: self.clone(),
            replica: (node == "n1") as usize,
        })
    }
}

impl Client for StoreClient {
    async fn invoke(&mut self, op: &OpRequest) -> Completion {
        // Let other workers run between invocation and effect.
        tokio::task::yield_now().await;
        let done = self.apply(op);
        tokio::task::yield_now().await;
        done
    }
}

fn int(v: &Value, k: &str) -> i64 {
    v.get(k).and_then(Value::as_int).unwrap()
}

impl StoreClient {
    fn apply(&self, op: &OpRequest) -> Completion {
        let buggy = self.store.buggy;
        let mut s = self.store.state.lock().unwrap();
        s.ops += 1;
        let n = s.ops;
        match op.f {
            "init" => {
                if s.accounts.is_empty() {
                    let Value::Map(m) = &op.value else {
                        return Completion::fail("init: expected a map");
                    };
                    for (k, v) in m {
                        s.accounts
                            .insert(k.as_str().unwrap().to_string(), v.as_int().unwrap());
                    }
                }
                Completion::Ok(op.value.clone())
            }
            "transfer" => {
                let (from, to) = (int(&op.value, "from"), int(&op.value, "to"));
                let (from, to) = (from.to_string(), to.to_string());
                let amount = int(&op.value, "amount");
                match s.accounts.get(&from) {
                    Some(&b) if b >= amount && s.accounts.contains_key(&to) => {
                        if !(buggy && n % 50 == 0) {
                            *s.accounts.get_mut(&from).unwrap() -= amount; // the debit
                        }
                        *s.accounts.get_mut(&to).unwrap() += amount;
                        Completion::Ok(op.value.clone())
                    }
                    _ => Completion::fail("insufficient funds or no such account"),
                }
            }
            "read" if self.store.workload == "bank" => Completion::Ok(Value::Map(
                s.accounts
                    .iter()
                    .map(|(k, &v)| (Value::Str(k.clone()), Value::Int(v)))
                    .collect(),
            )),
            "add" => {
                if !(buggy && n % 50 == 0) {
                    s.counter += op.value.as_int().unwrap();
                }
                Completion::Ok(op.value.clone())
            }
            "read" => Completion::Ok(Value::Int(s.counter)),
            "enqueue" => {
                s.queue.push_back(op.value.as_int().unwrap());
                Completion::Ok(op.value.clone())
            }
            "dequeue" => match s.queue.pop_front() {
                Some(e) => {
                    if buggy && n % 20 == 0 {
                        s.queue.push_back(e); // its acknowledgement was lost
                    }
                    Completion::Ok(Value::Int(e))
                }
                None => Completion::fail("empty"),
            },
            "drain" => Completion::Ok(Value::List(s.queue.drain(..).map(Value::Int).collect())),
            "generate" => {
                s.next_id += 1;
                if buggy && s.next_id == 100 {
                    s.next_id = 90; // restarted from a stale checkpoint
                }
                Completion::Ok(Value::Int(s.next_id))
            }
            "txn" => self.long_fork_txn(&mut s, &op.value),
            f => Completion::fail(format!("unsupported f {f:?}")),
        }
    }

    /// Writes land on this client's replica and are copied to the other
    /// one at once, or (buggy) a few operations later.
    fn long_fork_txn(&self, s: &mut State, txn: &Value) -> Completion {
        let delay = if self.store.buggy { 6 } else { 0 };
        while s.unreplicated.len() > delay {
            let (r, k) = s.unreplicated.pop_front().unwrap();
            s.replicas[r].insert(k);
        }
        let mops = txn.as_list().unwrap();
        let mut out = Vec::new();
        for m in mops {
            let [f, k, v] = m.as_list().unwrap() else {
                return Completion::fail("bad micro-op");
            };
            let key = k.as_int().unwrap();
            if f.as_str() == Some("w") {
                s.replicas[self.replica].insert(key);
                s.unreplicated.push_back((1 - self.replica, key));
                if delay == 0 {
                    s.replicas[1 - self.replica].insert(key);
                }
                out.push(m.clone());
            } else {
                let seen = s.replicas[self.replica].contains(&key);
                let v = if seen { Value::Int(1) } else { v.clone() };
                out.push(Value::List(vec![f.clone(), k.clone(), v]));
            }
        }
        Completion::Ok(Value::List(out))
    }
}

/// The offline verdict, and how many anomalies the workload's online
/// checkers found in the same history replayed as if live (never any
/// where the offline verdict is not invalid: the offline check is the
/// authority).
async fn run_and_check(workload: &str, buggy: bool) -> (Checked, usize) {
    let w = Workload::by_name(workload).unwrap();
    let cfg = RunConfig {
        nodes: vec!["n0".into(), "n1".into(), "n2".into()],
        concurrency: 10,
        // Long enough for a few hundred ops also on a loaded machine (at
        // 400 ms a CI dry run once saw 14).
        time_limit: Duration::from_secs(2),
        recovery_time: Duration::ZERO,
        op_timeout: Duration::from_secs(2),
        rate: Some(3000.0),
        progress: Progress::Off,
        ..RunConfig::default()
    };
    let store = Store {
        state: Arc::new(Mutex::new(State::default())),
        workload: w.name(),
        buggy,
    };
    let out = run::run(cfg, Arc::new(store), w.generator(), NoNemesis)
        .await
        .unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert!(out.counts.ok > 200, "{workload}: {:?}", out.counts);
    let checked = w.check(&out.history).unwrap();
    let mut online = w.online(checkers::online::Ticks::Ops(100));
    checkers::online::replay(&mut online, &out.history);
    if checked.valid() != Validity::Invalid {
        assert_eq!(
            online.anomaly_count(),
            0,
            "{workload}: online {:?} where offline is {:?}",
            online.anomalies(),
            checked.valid()
        );
    }
    (checked, online.anomaly_count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correct_stores_check_valid_through_the_run_loop() {
    for name in [
        "bank",
        "counter",
        "queue",
        "total-queue",
        "unique-ids",
        "long-fork",
    ] {
        let (c, _) = run_and_check(name, false).await;
        assert_eq!(
            c.valid(),
            Validity::Valid,
            "{name}: {}",
            serde_json::to_string(&c).unwrap()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buggy_stores_check_invalid_through_the_run_loop() {
    for name in ["bank", "counter", "queue", "unique-ids", "long-fork"] {
        let (mut c, mut online) = run_and_check(name, true).await;
        // A long fork needs two reads racing replication: retry a few
        // times rather than fail on an unlucky schedule.
        for _ in 0..4 {
            if c.valid() == Validity::Invalid {
                break;
            }
            (c, online) = run_and_check(name, true).await;
        }
        // Every family but long-fork (no online checker: its verdict
        // needs the whole history) is caught online too.
        assert_eq!(
            online > 0,
            name != "long-fork",
            "{name}: {online} online anomalies"
        );
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(c.valid(), Validity::Invalid, "{name}: {json}");
        // Invalid for the bug planted, not for something else.
        let caught = match &c {
            Checked::Bank(r) => {
                r.error_counts.keys().collect::<Vec<_>>()
                    == vec![&checkers::bank::ErrorKind::WrongTotal]
            }
            Checked::Counter(r) => r.bad_read_count > 0,
            Checked::Queue(r) => r.duplicated_count > 0 && r.lost_count + r.unexpected_count == 0,
            Checked::UniqueIds(r) => r.duplicated_count == 10,
            Checked::LongFork(r) => r.fork_count > 0 && r.bad_values.is_empty(),
            _ => false,
        };
        assert!(caught, "{name}: {json}");
    }
}
