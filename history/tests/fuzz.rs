//! Property tests: no input makes a reader panic, whatever the bytes.
//! Arbitrary bytes, and valid histories mutated by truncation, byte flips
//! and inserted brackets, go through all three readers; each must return
//! a history or an error.

use history::{read_from, Format};
use proptest::prelude::*;

const FORMATS: [Format; 3] = [Format::Jsonl, Format::Edn, Format::JepsenLog];

const EDN: &str = r#"{:index 0, :time 1, :type :invoke, :process 0, :f :write, :value 4}
{:index 1, :time 2, :type :ok, :process 0, :f :write, :value 4}
#jepsen.history.Op{:index 2, :type :invoke, :process 1, :f :txn, :value [[:append 1 2] [:r 1 nil]], :key "k"}
{:index 3, :type :ok, :process 1, :f :txn, :value [[:append 1 2] [:r 1 [2]]], :node "n1", :error nil}
{:process :nemesis, :type :info, :f :start, :value #{"n1" \a 1.5 -2N 3/4 ##Inf}, :x {:y (1 "é\u00e9\n")}}
; comment
#_{:discarded 1}
"#;

const KNOSSOS: &str = r#"[{:process 0 :type :invoke :f :cas :value [1 2]}
 {:process 0 :type :fail :f :cas :value [1 2]}
 {:index 5 :type :invoke :value [[:append 253 1]]} {:index 6 :type :ok :value [[:append 253 1]]}]
"#;

const JSONL: &str = r#"{"index":0,"time":1200345,"type":"invoke","process":3,"f":"write","value":4}
{"index":1,"time":1300020,"type":"ok","process":3,"f":"write","value":4}
{"index":2,"time":1500000,"type":"info","process":"nemesis","f":"start-partition","value":{"n1":["n4","n5"]}}
{"index":7,"time":2100000,"type":"invoke","process":0,"f":"txn","value":[["append","x",1],["r","y",null]]}
"#;

const LOG: &str = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
INFO  jepsen.util - 0\t:ok\t:read\t3\n\
2014-01-01 other log output\n\
INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]\n\
INFO  jepsen.util - 2\t:info\t:cas\t:timed-out\n\
INFO  jepsen.util - :nemesis\t:info\t:start\t{\"n1\" #{\"n2\"}}\t:err\n";

fn read_all(bytes: &[u8]) {
    for format in FORMATS {
        // Ok or Err, never a panic.
        let _ = read_from(bytes, format);
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let brackets = prop::sample::select(b"[]{}()#\"\\:;_\t\n ,^".to_vec());
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), brackets).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
    ]
}

fn mutate(base: &str, muts: &[Mutation]) -> Vec<u8> {
    let mut v = base.as_bytes().to_vec();
    for m in muts {
        let n = v.len().max(1);
        match *m {
            Mutation::Truncate(i) => v.truncate(i % n),
            Mutation::Flip(i, b) if !v.is_empty() => v[i % n] ^= b,
            Mutation::Insert(i, b) => v.insert(i % (v.len() + 1), b),
            Mutation::Delete(i) if !v.is_empty() => {
                v.remove(i % n);
            }
            _ => {}
        }
    }
    v
}

#[test]
fn the_seeds_are_valid() {
    assert_eq!(read_from(EDN.as_bytes(), Format::Edn).unwrap().len(), 5);
    assert_eq!(read_from(KNOSSOS.as_bytes(), Format::Edn).unwrap().len(), 4);
    assert_eq!(read_from(JSONL.as_bytes(), Format::Jsonl).unwrap().len(), 4);
    assert_eq!(
        read_from(LOG.as_bytes(), Format::JepsenLog).unwrap().len(),
        5
    );
}

proptest! {
    // PROPTEST_CASES=200000 for a longer run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(2000)
    ))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        read_all(&bytes);
    }

    #[test]
    fn edn_like_bytes_never_panic(bytes in prop::collection::vec(
        prop::sample::select(b"{}[]()#_:\"\\;, \n\t0123456789-+.eMN/abc:nil true".to_vec()), 0..256)) {
        read_all(&bytes);
    }

    #[test]
    fn mutated_histories_never_panic(
        which in 0..4usize,
        muts in prop::collection::vec(mutation(), 1..6),
    ) {
        let base = [EDN, JSONL, LOG, KNOSSOS][which];
        read_all(&mutate(base, &muts));
    }

    #[test]
    fn every_truncation_of_a_valid_history_is_ok_or_an_error(cut in 0..EDN.len()) {
        // A truncated history is either a shorter valid one or an error
        // that points inside the input.
        let bytes = &EDN.as_bytes()[..cut];
        if let Err(history::Error::Parse(e)) = read_from(bytes, Format::Edn) {
            let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
            prop_assert!(e.line >= 1 && e.line <= lines, "{e} ({lines} lines)");
        }
    }
}

#[test]
fn deep_nesting_in_every_reader() {
    for open in ["[", "{", "(", "#{", "#_[", "#tag ["] {
        let deep = open.repeat(100_000);
        read_all(deep.as_bytes());
        let op = format!("{{:type :invoke, :process 0, :f :x, :value {deep}");
        read_all(op.as_bytes());
        let log = format!("INFO  jepsen.util - 0\t:invoke\t:x\t{deep}\n");
        read_all(log.as_bytes());
        let json = format!(
            "{{\"type\":\"invoke\",\"process\":0,\"f\":\"x\",\"value\":{}}}\n",
            "[".repeat(100_000)
        );
        read_all(json.as_bytes());
    }
}
