//! Knossos compatibility: histories written for Knossos get Knossos's
//! verdicts. Knossos's `data/cas-register` histories in the shared corpus
//! (`shared/corpus/linearizability/knossos`, verdicts in its expected.tsv)
//! as a cas-register starting at 0 whose nil reads match any state; and
//! histories built here in Knossos's other forms: `multi-register` txns and
//! Jepsen `independent` `[key value]` tuples, valid and invalid, with the
//! call that cannot be linearized.

use checkers::linearizable::{check, LinResult, ModelKind, NilReads, Options};
use checkers::verdict::Validity;
use history::{Format, History, Value};
use std::path::PathBuf;

fn knossos_corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/linearizability/knossos")
}

fn edn(text: &str) -> History {
    history::read_from(text.as_bytes(), Format::Edn).unwrap_or_else(|e| panic!("{e}"))
}

fn knossos_options(model: ModelKind, initial: Value) -> Options {
    let mut opts = Options::new(model);
    opts.initial = initial;
    opts.nil_reads = NilReads::Any;
    opts
}

fn check_ok(h: &History, opts: &Options) -> LinResult {
    check(h, opts).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_knossos_cas_register_history_gets_knossos_verdict() {
    let tsv = std::fs::read_to_string(knossos_corpus().join("expected.tsv")).expect("expected.tsv");
    let cases: Vec<(String, Validity)> = tsv
        .lines()
        .skip(1)
        .map(|line| {
            let mut cols = line.split('\t');
            let file = cols.next().unwrap().to_string();
            let v = match cols.next().expect("file<TAB>verdict") {
                "linearizable" => Validity::Valid,
                "not-linearizable" => Validity::Invalid,
                other => panic!("unknown verdict {other:?}"),
            };
            (file, v)
        })
        .collect();
    assert_eq!(cases.len(), 2, "the two Knossos histories of the corpus");
    for (file, want) in &cases {
        let h = history::read_file(&knossos_corpus().join(file), None)
            .unwrap_or_else(|e| panic!("{e}"));
        for partition_by_key in [true, false] {
            let mut opts = knossos_options(ModelKind::CasRegister, Value::Int(0));
            opts.partition_by_key = partition_by_key;
            let r = check_ok(&h, &opts);
            assert_eq!(r.valid, *want, "{file} (partitioned: {partition_by_key})");
            assert_eq!(r.nil_reads, NilReads::Any);
        }
    }
}

/// Knossos's own test of this history (knossos.linear-test/cas-failure-test)
/// blames the ok read of 0 by process 70 at index 491: after the writes of
/// 3 and 4 and the failed cas from 0, nothing can set the register back to 0.
#[test]
fn knossos_cas_failure_blames_the_read_of_0_as_knossos_does() {
    let h = history::read_file(&knossos_corpus().join("bad-cas-failure.edn"), None).unwrap();
    let r = check_ok(&h, &knossos_options(ModelKind::CasRegister, Value::Int(0)));
    assert_eq!(r.valid, Validity::Invalid);
    let op = &r.failures[0].op;
    assert_eq!(
        (op.process.as_str(), op.f.as_str(), op.output.clone()),
        ("70", "read", Some(Value::Int(0))),
        "{op}"
    );
    assert_eq!(op.completion_index, Some(491), "{op}");
}

/// Under the strict rule the good history is not linearizable (its ok
/// reads of nil cannot follow the initial 0): the rule is what makes the
/// difference, and it is reported.
#[test]
fn the_strict_rule_rejects_knossos_nil_reads() {
    let h = history::read_file(&knossos_corpus().join("good-memstress3-1.edn"), None).unwrap();
    let mut opts = knossos_options(ModelKind::CasRegister, Value::Int(0));
    opts.nil_reads = NilReads::Strict;
    let r = check_ok(&h, &opts);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.nil_reads, NilReads::Strict);
    assert_eq!(r.failures[0].op.output, Some(Value::Nil));
}

fn multi_initial() -> Value {
    history::edn::parse_value("{:x 0 :y 0}").unwrap()
}

/// Knossos's multi-register form: `:txn` ops of `[:read k v]` / `[:write k
/// v]`, reads nil in the invocation and filled in by the completion, an
/// info txn whose writes may or may not have happened.
#[test]
fn multi_register_history_in_knossos_form_is_linearizable() {
    let h = edn(
        "[{:process 0, :type :invoke, :f :txn, :value [[:write :x 1] [:write :y 1]]}
 {:process 1, :type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]]}
 {:process 0, :type :ok, :f :txn, :value [[:write :x 1] [:write :y 1]]}
 {:process 1, :type :ok, :f :txn, :value [[:read :x 1] [:read :y 1]]}
 {:process 2, :type :invoke, :f :txn, :value [[:read :x nil] [:write :y 2]]}
 {:process 2, :type :ok, :f :txn, :value [[:read :x 1] [:write :y 2]]}
 {:process 3, :type :invoke, :f :txn, :value [[:write :x 5] [:read :y nil]]}
 {:process 3, :type :info, :f :txn, :value [[:write :x 5] [:read :y nil]]}
 {:process 1, :type :invoke, :f :txn, :value [[:read :y nil] [:read :x nil]]}
 {:process 1, :type :ok, :f :txn, :value [[:read :y 2] [:read :x 5]]}
 {:process 0, :type :invoke, :f :txn, :value [[:read :x nil]]}
 {:process 0, :type :ok, :f :txn, :value [[:read :x nil]]}]",
    );
    let r = check_ok(
        &h,
        &knossos_options(ModelKind::MultiRegister, multi_initial()),
    );
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.failures);
    assert_eq!(r.model, ModelKind::MultiRegister);
    // The last read of nil only passes under Knossos's rule.
    let mut strict = knossos_options(ModelKind::MultiRegister, multi_initial());
    strict.nil_reads = NilReads::Strict;
    let r = check_ok(&h, &strict);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.failures[0].op.index, 10);
}

/// A torn read: x and y are only ever written together, yet a read sees
/// the new x beside the old y. No atomic point allows it.
#[test]
fn multi_register_torn_read_is_not_linearizable_and_blamed() {
    let h = edn(
        "[{:process 0, :type :invoke, :f :txn, :value [[:write :x 1] [:write :y 1]]}
 {:process 1, :type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]]}
 {:process 1, :type :ok, :f :txn, :value [[:read :x 1] [:read :y 0]]}
 {:process 0, :type :ok, :f :txn, :value [[:write :x 1] [:write :y 1]]}]",
    );
    let r = check_ok(
        &h,
        &knossos_options(ModelKind::MultiRegister, multi_initial()),
    );
    assert_eq!(r.valid, Validity::Invalid);
    let f = &r.failures[0];
    assert_eq!(
        (f.op.index, f.op.process.as_str()),
        (1, "1"),
        "{}",
        f.explanation
    );
    assert!(f.explanation.contains("cannot be linearized"));
    // The state the read could not see, as a map of the registers.
    let x0y0 = history::edn::parse_value("{\"x\" 0 \"y\" 0}").unwrap();
    let x1y1 = history::edn::parse_value("{\"x\" 1 \"y\" 1}").unwrap();
    assert!(f.state == x0y0 || f.state == x1y1, "{}", f.state);
}

#[test]
fn multi_register_rejects_what_it_cannot_read() {
    let h = edn("[{:process 0, :type :invoke, :f :read, :value nil}]");
    let e = check(
        &h,
        &knossos_options(ModelKind::MultiRegister, multi_initial()),
    )
    .unwrap_err();
    assert!(
        e.contains("op index 0") && e.contains("expected txn"),
        "{e}"
    );
    let h = edn("[{:process 0, :type :invoke, :f :txn, :value [[:append :x 1]]}]");
    let e = check(
        &h,
        &knossos_options(ModelKind::MultiRegister, multi_initial()),
    )
    .unwrap_err();
    assert!(e.contains("expected read or write"), "{e}");
    let h = edn("[{:process 0, :type :invoke, :f :txn, :value [[:write :x 1]]}]");
    let e = check(
        &h,
        &knossos_options(ModelKind::MultiRegister, Value::Int(0)),
    )
    .unwrap_err();
    assert!(e.contains("initial value must be a map"), "{e}");
}

const INDEPENDENT: &str = "[{:process 0, :type :invoke, :f :write, :value [1 3]}
 {:process 0, :type :ok, :f :write, :value [1 3]}
 {:process 1, :type :invoke, :f :write, :value [2 4]}
 {:process 1, :type :ok, :f :write, :value [2 4]}
 {:process 2, :type :invoke, :f :read, :value [1 nil]}
 {:process 2, :type :ok, :f :read, :value [1 3]}
 {:process 3, :type :invoke, :f :cas, :value [2 [4 5]]}
 {:process :nemesis, :type :info, :f :start-partition, :value nil}
 {:process 3, :type :ok, :f :cas, :value [2 [4 5]]}
 {:process 2, :type :invoke, :f :read, :value [2 nil]}
 {:process 2, :type :ok, :f :read, :value [2 READ]}
 {:process 4, :type :invoke, :f :read, :value [1 nil]}
 {:process 4, :type :ok, :f :read, :value [1 nil]}]";

fn independent_options() -> Options {
    let mut opts = knossos_options(ModelKind::CasRegister, Value::Int(0));
    opts.independent = true;
    opts
}

#[test]
fn independent_history_is_split_by_key_and_linearizable() {
    let h = edn(&INDEPENDENT.replace("READ", "5"));
    let r = check_ok(&h, &independent_options());
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.failures);
    assert_eq!((r.partitions, r.calls), (2, 6));
    assert!(r.independent);
}

#[test]
fn independent_history_stale_read_is_blamed_on_its_key() {
    // Key 2 read 4 after the cas from 4 to 5 had completed.
    let h = edn(&INDEPENDENT.replace("READ", "4"));
    let r = check_ok(&h, &independent_options());
    assert_eq!(r.valid, Validity::Invalid);
    let f = &r.failures[0];
    assert_eq!(f.key, Some(Value::Int(2)));
    assert_eq!(
        (f.op.index, f.op.f.as_str(), f.op.output.clone()),
        (9, "read", Some(Value::Int(4)))
    );
    // The evidence speaks of the register's values, not of tuples.
    assert_eq!(f.state, Value::Int(5));
}

#[test]
fn independent_needs_tuples() {
    let h = edn("[{:process 0, :type :invoke, :f :write, :value 3}]");
    let e = check(&h, &independent_options()).unwrap_err();
    assert!(
        e.contains("op index 0") && e.contains("[key value] tuples"),
        "{e}"
    );
}

/// What the report and JUnit get from the result (`CheckerResult`): the
/// rule in the summary, the culprit blamed, the failure as a picture block.
#[test]
fn the_result_tells_the_report_its_rule_and_culprit() {
    use checkers::result::Block;
    use checkers::CheckerResult;
    let h = history::read_file(&knossos_corpus().join("bad-cas-failure.edn"), None).unwrap();
    let r = check_ok(&h, &knossos_options(ModelKind::CasRegister, Value::Int(0)));
    assert_eq!(CheckerResult::valid(&r), Validity::Invalid);
    assert_eq!(r.summary()[0], "model cas-register, nil reads any");
    let blamed = r.blamed();
    assert_eq!(blamed.len(), 1);
    assert_eq!(blamed[0].index, r.failures[0].op.index);
    let section = r.section();
    let pictures: Vec<&Block> = section
        .blocks
        .iter()
        .filter(|b| matches!(b, Block::Linearizability { .. }))
        .collect();
    assert_eq!(pictures.len(), 1);
    assert!(section
        .texts()
        .iter()
        .any(|t| t.contains("a nil read matches any state")));
    assert!(section
        .texts()
        .iter()
        .any(|t| t.contains("cannot be linearized")));
}

// ---- against a brute-force oracle on small random histories ----------------

mod oracle {
    use checkers::linearizable::generate::Rng;
    use history::{History, Op, OpType, Value};
    use std::collections::BTreeMap;

    /// A call as the oracle sees it: `must` when it completed ok.
    pub struct Call {
        inv: usize,
        ret: usize,
        must: bool,
        pub f: String,
        pub input: Value,
        pub output: Value,
    }

    impl Call {
        /// Completed ok: it must be placed, with its recorded output.
        pub fn ok(&self) -> bool {
            self.must
        }
    }

    fn calls(h: &History) -> Vec<Call> {
        let ops = h.ops();
        h.calls()
            .filter_map(|c| {
                let comp = c.completion.map(|i| &ops[i]);
                let kind = comp.map_or(OpType::Info, |o| o.kind);
                (kind != OpType::Fail).then(|| Call {
                    inv: c.invoke,
                    ret: if kind == OpType::Ok {
                        c.completion.unwrap()
                    } else {
                        usize::MAX
                    },
                    must: kind == OpType::Ok,
                    f: ops[c.invoke].f.clone(),
                    input: ops[c.invoke].value.clone(),
                    output: comp.map_or(Value::Nil, |o| o.value.clone()),
                })
            })
            .collect()
    }

    /// Tries every real-time-respecting order; calls of unknown outcome may
    /// be left out. Knows nothing of the checker's models.
    pub fn linearizable<S: Clone>(
        h: &History,
        init: S,
        step: &dyn Fn(&Call, &S) -> Option<S>,
    ) -> bool {
        fn dfs<S: Clone>(
            calls: &[Call],
            placed: &mut Vec<bool>,
            s: &S,
            step: &dyn Fn(&Call, &S) -> Option<S>,
        ) -> bool {
            if calls.iter().zip(placed.iter()).all(|(c, &p)| p || !c.must) {
                return true;
            }
            for i in 0..calls.len() {
                let blocked = calls
                    .iter()
                    .enumerate()
                    .any(|(j, d)| !placed[j] && j != i && d.ret < calls[i].inv);
                if placed[i] || blocked {
                    continue;
                }
                if let Some(next) = step(&calls[i], s) {
                    placed[i] = true;
                    if dfs(calls, placed, &next, step) {
                        return true;
                    }
                    placed[i] = false;
                }
            }
            false
        }
        let calls = calls(h);
        let mut placed = vec![false; calls.len()];
        dfs(&calls, &mut placed, &init, step)
    }

    /// Knossos's cas-register starting at 0: a read of nil matches anything.
    pub fn cas_register_nil_any(c: &Call, s: &Value) -> Option<Value> {
        match c.f.as_str() {
            "read" => (!c.ok() || c.output.is_nil() || &c.output == s).then(|| s.clone()),
            "write" => Some(c.input.clone()),
            _ => {
                let l = c.input.as_list().unwrap();
                (&l[0] == s).then(|| l[1].clone())
            }
        }
    }

    pub type Registers = BTreeMap<String, Value>;

    /// Knossos's multi-register; `nil_any` is the Knossos rule for reads of nil.
    pub fn multi_register(nil_any: bool) -> impl Fn(&Call, &Registers) -> Option<Registers> {
        move |c, s| {
            let mops = if c.ok() { &c.output } else { &c.input };
            let mut next = s.clone();
            for m in mops.as_list().unwrap() {
                let m = m.as_list().unwrap();
                let key = m[1].as_str().unwrap().to_string();
                let now = next.get(&key).cloned().unwrap_or(Value::Nil);
                match m[0].as_str().unwrap() {
                    "read" if !c.ok() => {}
                    "read" if m[2].is_nil() && nil_any => {}
                    "read" if m[2] != now => return None,
                    "read" => {}
                    _ => {
                        next.insert(key, m[2].clone());
                    }
                }
            }
            Some(next)
        }
    }

    /// Up to 8 calls by 3 processes, outputs often wrong, some nil; some
    /// calls fail, crash (info) or never complete.
    pub fn history(
        seed: u64,
        mut call: impl FnMut(&mut Rng) -> (&'static str, Value),
        mut output: impl FnMut(&mut Rng, &str, &Value) -> Value,
    ) -> History {
        let mut rng = Rng::new(seed);
        let n = 1 + rng.below(8) as usize;
        let mut ops = Vec::new();
        let mut pending: Vec<Option<(u64, &str, Value)>> = vec![None; 3];
        let mut pid = [0u64, 1, 2];
        let (mut invoked, mut unfinished) = (0, 0);
        while invoked < n || pending.iter().flatten().count() > unfinished {
            let slot = rng.below(3) as usize;
            match pending[slot].take() {
                None if invoked < n => {
                    invoked += 1;
                    let (f, v) = call(&mut rng);
                    ops.push(Op::invoke(pid[slot], f, v.clone()));
                    pending[slot] = Some((pid[slot], f, v));
                }
                None => {}
                Some((p, f, v)) => match rng.below(12) {
                    0 => {
                        ops.push(Op::info(p, f, v));
                        pid[slot] += 3;
                    }
                    1 => ops.push(Op::fail(p, f, v)),
                    2 if invoked >= n => {
                        unfinished += 1;
                        pending[slot] = Some((p, f, v));
                        if pending.iter().flatten().count() <= unfinished {
                            break;
                        }
                    }
                    _ => {
                        let out = output(&mut rng, f, &v);
                        ops.push(Op::ok(p, f, out));
                    }
                },
            }
        }
        History::indexed(ops).unwrap()
    }

    fn small(rng: &mut Rng) -> Value {
        Value::Int(rng.below(3) as i64)
    }

    /// A read's result: nil a quarter of the time, else 0..2.
    fn read_result(rng: &mut Rng) -> Value {
        match rng.below(4) {
            0 => Value::Nil,
            v => Value::Int(v as i64 - 1),
        }
    }

    pub fn cas_history(seed: u64) -> History {
        history(
            seed,
            |rng| match rng.below(3) {
                0 => ("read", Value::Nil),
                1 => ("write", small(rng)),
                _ => ("cas", Value::List(vec![small(rng), small(rng)])),
            },
            |rng, f, v| {
                if f == "read" {
                    read_result(rng)
                } else {
                    v.clone()
                }
            },
        )
    }

    pub fn multi_history(seed: u64) -> History {
        let mop = |f: &str, k: &str, v: Value| {
            Value::List(vec![Value::Keyword(f.into()), Value::Keyword(k.into()), v])
        };
        history(
            seed,
            move |rng| {
                let len = 1 + rng.below(2);
                let mops = (0..len)
                    .map(|_| {
                        let k = if rng.chance(0.5) { "x" } else { "y" };
                        if rng.chance(0.5) {
                            mop("read", k, Value::Nil)
                        } else {
                            mop("write", k, small(rng))
                        }
                    })
                    .collect();
                ("txn", Value::List(mops))
            },
            move |rng, _, v| {
                // The completion fills each read in, often wrongly.
                let filled = v
                    .as_list()
                    .unwrap()
                    .iter()
                    .map(|m| {
                        let m = m.as_list().unwrap();
                        match m[0].as_str() {
                            Some("read") => {
                                Value::List(vec![m[0].clone(), m[1].clone(), read_result(rng)])
                            }
                            _ => Value::List(m.to_vec()),
                        }
                    })
                    .collect();
                Value::List(filled)
            },
        )
    }
}

/// Whether the checker found the history linearizable, in the oracle's
/// terms: a history in which nothing was left to check (every call
/// failed, or only reads that constrain nothing) is `unknown`, never
/// valid, and the oracle, which cannot tell, calls it linearizable.
fn agrees(r: &checkers::linearizable::LinResult) -> bool {
    match r.valid {
        Validity::Valid => true,
        Validity::Unknown => r.reason.as_deref().is_some_and(|why| {
            why.starts_with("no client operation") || why.starts_with("nothing observed")
        }),
        Validity::Invalid => false,
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    #[test]
    fn nil_reads_any_agrees_with_brute_force(seed: u64) {
        let h = oracle::cas_history(seed);
        let r = check_ok(&h, &knossos_options(ModelKind::CasRegister, Value::Int(0)));
        let want = oracle::linearizable(&h, Value::Int(0), &oracle::cas_register_nil_any);
        proptest::prop_assert_eq!(agrees(&r), want, "{:?}", h.ops());
    }

    #[test]
    fn multi_register_agrees_with_brute_force(seed: u64, nil_any: bool) {
        let h = oracle::multi_history(seed);
        let mut opts = knossos_options(ModelKind::MultiRegister, multi_initial());
        opts.nil_reads = if nil_any { NilReads::Any } else { NilReads::Strict };
        let r = check_ok(&h, &opts);
        let init: oracle::Registers =
            [("x".to_string(), Value::Int(0)), ("y".to_string(), Value::Int(0))].into();
        let want = oracle::linearizable(&h, init, &oracle::multi_register(nil_any));
        proptest::prop_assert_eq!(agrees(&r), want, "{:?}", h.ops());
    }
}

/// The oracle comparisons mean something only if the random histories
/// are a real mix of both verdicts.
#[test]
fn random_knossos_histories_mix_both_verdicts() {
    let cas = (0..500u64)
        .filter(|&s| {
            let h = oracle::cas_history(s);
            oracle::linearizable(&h, Value::Int(0), &oracle::cas_register_nil_any)
        })
        .count();
    assert!(
        (100..400).contains(&cas),
        "{cas} of 500 cas histories valid"
    );
    let step = oracle::multi_register(true);
    let multi = (0..500u64)
        .filter(|&s| {
            let init: oracle::Registers = [
                ("x".to_string(), Value::Int(0)),
                ("y".to_string(), Value::Int(0)),
            ]
            .into();
            oracle::linearizable(&oracle::multi_history(s), init, &step)
        })
        .count();
    assert!(
        (100..400).contains(&multi),
        "{multi} of 500 multi-register histories valid"
    );
}
