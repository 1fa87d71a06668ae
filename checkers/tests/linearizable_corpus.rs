//! Every history of the reference corpus (`shared/corpus/linearizability`)
//! gets the verdict its authors established: the etcd logs as a
//! cas-register starting at nil, the kv files as a key-value map whose keys
//! start empty, each both partitioned by key and as one object.

use checkers::linearizable::{check, ModelKind, Options};
use checkers::verdict::Validity;
use std::path::PathBuf;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/linearizability")
}

fn expected() -> Vec<(String, Validity)> {
    let tsv = std::fs::read_to_string(corpus().join("expected.tsv")).expect("expected.tsv");
    tsv.lines()
        .skip(1)
        .map(|line| {
            let (file, verdict) = line.split_once('\t').expect("file<TAB>verdict");
            let v = match verdict {
                "linearizable" => Validity::Valid,
                "not-linearizable" => Validity::Invalid,
                other => panic!("unknown verdict {other:?}"),
            };
            (file.to_string(), v)
        })
        .collect()
}

#[test]
fn every_corpus_history_gets_its_expected_verdict() {
    let cases = expected();
    assert_eq!(cases.len(), 54, "50 etcd logs and 4 kv files");
    let mut wrong = Vec::new();
    for (file, want) in &cases {
        let h = history::read_file(&corpus().join(file), None).unwrap_or_else(|e| panic!("{e}"));
        let model = if file.starts_with("kv/") {
            ModelKind::KeyValue
        } else {
            ModelKind::CasRegister
        };
        for partition_by_key in [true, false] {
            let mut opts = Options::new(model);
            opts.partition_by_key = partition_by_key;
            let r = check(&h, &opts).unwrap();
            if r.valid != *want {
                wrong.push(format!(
                    "{file} (partitioned: {partition_by_key}): got {:?}, want {want:?}",
                    r.valid
                ));
            }
            if r.valid == Validity::Invalid {
                // Evidence: a culprit, a longest prefix and an explanation.
                let f = &r.failures[0];
                assert!(!f.prefixes.is_empty(), "{file}: no prefix in the evidence");
                assert!(f.explanation.contains("cannot be linearized"), "{file}");
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// One known failure, pinned down exactly: in etcd_000 a read returns 2
/// where no order of the operations allows it.
#[test]
fn etcd_000_failure_is_explained() {
    let h = history::read_file(&corpus().join("etcd/etcd_000.log"), None).unwrap();
    let r = check(&h, &Options::new(ModelKind::CasRegister)).unwrap();
    assert_eq!(r.valid, Validity::Invalid);
    let f = &r.failures[0];
    assert_eq!(f.op.f, "read");
    assert_eq!(f.op.index, 84);
    assert_eq!(f.op.output, Some(history::Value::Int(2)));
    assert_ne!(
        f.state,
        history::Value::Int(2),
        "the model state at the end of the prefix is not 2"
    );
    let last = f.prefixes[0].steps.last().unwrap();
    assert_eq!(last.state, f.state);
}
