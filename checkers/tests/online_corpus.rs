//! The offline verdict is the authority: every history of the reference
//! corpus (`shared/corpus`), replayed through the online checkers as if
//! live (op by op, the prefix searches run every few ops), never gets an
//! online anomaly where the offline check says valid, and the online
//! checkers find the anomaly of every history the offline check finds
//! invalid (linearizability: prefix-closed, so the last check, on the
//! whole history, is the offline search itself).

use checkers::linearizable::{check, ModelKind, NilReads, Options};
use checkers::online::{linearizable::PerKey, prefix::Recheck, replay, Online, Ticks};
use checkers::verdict::Validity;
use history::Value;
use std::path::PathBuf;
use std::time::Duration;

fn corpus(part: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus")
        .join(part)
}

/// (file, model options, expected verdict) for every linearizability
/// history of the corpus.
fn linearizability_cases() -> Vec<(String, Options, Validity)> {
    let mut cases = Vec::new();
    let verdict = |v: &str| match v {
        "linearizable" => Validity::Valid,
        "not-linearizable" => Validity::Invalid,
        other => panic!("unknown verdict {other:?}"),
    };
    let dir = corpus("linearizability");
    let tsv = std::fs::read_to_string(dir.join("expected.tsv")).expect("expected.tsv");
    for line in tsv.lines().skip(1) {
        let (file, v) = line.split_once('\t').expect("file<TAB>verdict");
        let model = if file.starts_with("kv/") {
            ModelKind::KeyValue
        } else {
            ModelKind::CasRegister
        };
        cases.push((file.to_string(), Options::new(model), verdict(v)));
    }
    let tsv = std::fs::read_to_string(dir.join("knossos/expected.tsv")).expect("knossos");
    for line in tsv.lines().skip(1) {
        let mut f = line.split('\t');
        let (file, v) = (f.next().unwrap(), f.next().unwrap());
        let mut opts = Options::new(ModelKind::CasRegister);
        opts.initial = Value::Int(0);
        opts.nil_reads = NilReads::Any;
        cases.push((format!("knossos/{file}"), opts, verdict(v)));
    }
    cases
}

#[test]
fn online_never_contradicts_offline_on_the_linearizability_corpus() {
    let cases = linearizability_cases();
    assert_eq!(cases.len(), 56, "54 of expected.tsv and 2 of Knossos");
    let mut contradictions = Vec::new();
    let mut missed = Vec::new();
    let mut found_early = 0;
    let mut invalid = 0;
    for (file, opts, want) in &cases {
        let h = history::read_file(&corpus("linearizability").join(file), None)
            .unwrap_or_else(|e| panic!("{e}"));
        let offline = check(&h, opts).unwrap();
        assert_eq!(offline.valid, *want, "{file}: offline verdict");
        for every in [1, 7, 50] {
            let mut online = Online::new(
                vec![Box::new(PerKey::new(opts.clone(), Duration::from_secs(10)))],
                Ticks::Ops(every),
            );
            replay(&mut online, &h);
            let n = online.anomaly_count();
            if offline.valid == Validity::Valid && n > 0 {
                contradictions.push(format!(
                    "{file} (tick every {every} ops): online found {:?}, offline says valid",
                    online.anomalies()[0]
                ));
            }
            if offline.valid == Validity::Invalid {
                if n == 0 {
                    missed.push(format!("{file} (tick every {every} ops)"));
                } else if every == 1 {
                    invalid += 1;
                    // Seen before the history ended: online, the anomaly
                    // shows while the run still goes.
                    let a = &online.anomalies()[0];
                    if a.seen_at_index < h.ops().last().unwrap().index {
                        found_early += 1;
                    }
                    assert!(a.what.contains("cannot be linearized"), "{file}: {a:?}");
                }
            }
        }
    }
    assert!(contradictions.is_empty(), "{}", contradictions.join("\n"));
    assert!(missed.is_empty(), "missed online: {}", missed.join(", "));
    eprintln!("{invalid} invalid histories, {found_early} of them found before their end");
    assert!(
        found_early > 0,
        "no anomaly was found before its history ended"
    );
}

/// A prefix of a history is never found invalid online when the whole
/// is valid, whatever the cut: every corpus history that is linearizable,
/// cut at every 10th op and replayed, has no online anomaly.
#[test]
fn no_cut_of_a_valid_corpus_history_is_invalid_online() {
    for (file, opts, want) in linearizability_cases() {
        if want != Validity::Valid || file.starts_with("kv/c10") {
            continue;
        }
        let h = history::read_file(&corpus("linearizability").join(&file), None).unwrap();
        for cut in (1..h.len()).step_by(10) {
            let prefix = history::History::new(h.ops()[..cut].iter().cloned()).unwrap();
            let mut online = Online::new(
                vec![Box::new(PerKey::new(opts.clone(), Duration::from_secs(10)))],
                Ticks::Manual,
            );
            replay(&mut online, &prefix);
            assert_eq!(
                online.anomaly_count(),
                0,
                "{file} cut at {cut}: {:?}",
                online.anomalies()
            );
        }
    }
}

/// The Elle paper's list-append history (G-single offline) through the
/// transactional checker re-run on its prefixes: the online result finds
/// it, and says nothing the offline check does not.
#[test]
fn the_elle_paper_example_is_found_online() {
    let path = corpus("transactional/elle-paper-example.edn");
    let h = history::read_file(&path, None).unwrap();
    let offline = checkers::txn::check(&h, &checkers::txn::Options::default());
    assert_eq!(offline.valid, Validity::Invalid);
    let judge = Box::new(|p: &history::History| {
        let r = checkers::txn::check(p, &checkers::txn::Options::default());
        (r.valid == Validity::Invalid).then(|| {
            let i = checkers::CheckerResult::blamed(&r)
                .iter()
                .map(|b| b.index)
                .min()
                .unwrap_or(0);
            (i, r.anomaly_types.join(", "))
        })
    });
    let mut online = Online::new(vec![Box::new(Recheck::new("txn", judge))], Ticks::Ops(1));
    replay(&mut online, &h);
    assert_eq!(online.anomaly_count(), 1, "{:?}", online.anomalies());
    let found = &online.anomalies()[0].what;
    for kind in &offline.anomaly_types {
        assert!(
            found.contains(kind.as_str()),
            "{found} vs {:?}",
            offline.anomaly_types
        );
    }
}
