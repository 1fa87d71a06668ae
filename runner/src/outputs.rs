//! A workload's checked result as an entry of results.json (and so of the
//! report and JUnit): shared by `run` and `check`.

use workloads::Checked;

/// The checker's name and its summary lines.
pub fn summary(c: &Checked) -> (&'static str, &[String]) {
    match c {
        Checked::Bank(r) => ("bank", &r.summary),
        Checked::Counter(r) => ("counter", &r.summary),
        Checked::Queue(r) => ("queue", &r.summary),
        Checked::UniqueIds(r) => ("unique-ids", &r.summary),
        Checked::LongFork(r) => ("long-fork", &r.summary),
        Checked::Linearizable(_) | Checked::Txn(_) | Checked::Set(_) => ("", &[]),
    }
}

/// Its entry in results.json (and so in the report and JUnit), for every
/// workload's result; `txn_name` names a transactional checker
/// (`elle list-append`). `shakedown run` uses it too.
pub fn output(c: &Checked, txn_name: &str) -> results::CheckerOutput {
    let (name, _) = summary(c);
    match c {
        Checked::Bank(r) => results::CheckerOutput::new(name, name, &**r),
        Checked::Counter(r) => results::CheckerOutput::new(name, name, r),
        Checked::Queue(r) => results::CheckerOutput::new(name, name, r),
        Checked::UniqueIds(r) => results::CheckerOutput::new(name, name, r),
        Checked::LongFork(r) => results::CheckerOutput::new(name, name, r),
        Checked::Linearizable(r) => results::CheckerOutput::linearizable(r),
        Checked::Txn(r) => results::CheckerOutput::txn(txn_name, r),
        Checked::Set(r) => results::CheckerOutput::new("set", "set", r),
    }
}
