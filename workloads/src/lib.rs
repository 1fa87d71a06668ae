//! Workloads: what clients do and how it is checked.
//!
//! Each workload is plain data and functions: options (parsed from the
//! test file, unknown keys rejected), a [`Generator`] for the run loop
//! (main-phase ops and final reads), and the checker its histories need:
//!
//! | workload      | ops                                   | checked by                                     |
//! |---------------|---------------------------------------|------------------------------------------------|
//! | `register`    | read / write / cas on many keys       | linearizability, cas-register per key          |
//! | `set`         | unique adds, final read on every node | lost / unexpected / stale elements ([`set`])   |
//! | `list-append` | txns of appends and reads             | Elle-style, strict-serializable by default     |
//! | `rw-register` | txns of blind writes and reads        | Elle-style rw-register, strict-serializable    |
//! | `bank`        | transfers, reads of every balance     | total kept, no negative balance ([`bank`])     |
//! | `counter`     | adds and reads                        | reads within their bounds ([`counter`])        |
//! | `queue`, `total-queue` | enqueue, dequeue, final drain | lost / duplicated / unexpected ([`queue`])     |
//! | `unique-ids`  | generate                              | no id twice ([`unique_ids`])                   |
//! | `long-fork`   | single-key writes, group reads        | no long fork ([`long_fork`])                   |
//!
//! ```yaml
//! workload:
//!   name: register
//!   keys: 10
//!   read: serializable
//! ```

pub mod answer;
pub mod bank;
pub mod counter;
pub mod keys;
pub mod list_append;
pub mod long_fork;
pub mod online;
pub mod queue;
pub mod register;
pub mod rw_register;
pub mod set;
#[cfg(test)]
mod testing;
pub mod unique_ids;

/// One operation of a workload, as a client sees it: the request's `f`,
/// whether it carries a `key`, the shape of the request's value and of the
/// value an `ok` completion carries. This is what a target's client (or an
/// exec client in any language) must implement; the README's workload
/// table is written from these, and every `ok` a client gives is held to
/// them ([`answer::check_ok`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct OpSpec {
    pub f: &'static str,
    /// The request has a `key` (independent keys, checked one at a time).
    pub keyed: bool,
    /// The request's value, e.g. `[old, new]`.
    pub request: &'static str,
    /// The value of an `ok` completion; "the request's value" when the
    /// client need not send one back.
    pub ok: &'static str,
}

use checkers::verdict::Validity;
use checkers::CheckerResult;
use harness::run::{GenCtx, Generator, OpRequest, Rng};
use history::History;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How clients read: through the quorum (`linearizable`, the default) or
/// from the local member (`serializable`: possibly stale).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReadMode {
    /// Through the quorum.
    #[default]
    Linearizable,
    /// From the local member: possibly stale.
    Serializable,
}

/// The schema of `consistency:` (list-append, rw-register): the models'
/// names, their aliases and Adya's names, as the reader takes them (it
/// also takes other letter cases, and `_` for `-`).
pub fn consistency_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    use checkers::txn::models::ConsistencyModel;
    let mut names: Vec<&str> = ConsistencyModel::ALL.iter().map(|m| m.name()).collect();
    names.extend(ConsistencyModel::ALL.iter().filter_map(|m| m.canonical()));
    names.extend(ConsistencyModel::ALIASES);
    schemars::json_schema!({
        "type": "array",
        "items": {"type": "string", "enum": names},
        "minItems": 1,
    })
}

/// A workload as named in a test file, with its options.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Workload {
    /// Reads, writes and compare-and-sets on many keys, checked for
    /// linearizability (a cas-register per key).
    Register(register::Options),
    /// Unique adds and a final read of the set on every node: lost,
    /// unexpected and stale elements.
    Set(set::Options),
    /// Transactions of appends to lists and reads, checked Elle-style
    /// (strict-serializable by default).
    ListAppend(list_append::Options),
    /// Transactions of blind writes and reads, checked Elle-style
    /// (strict-serializable by default).
    RwRegister(rw_register::Options),
    /// Transfers between accounts and reads of every balance: the total is
    /// kept, no balance goes negative.
    Bank(bank::Options),
    /// Adds and reads: every read within the bounds the adds allow.
    Counter(counter::Options),
    /// Enqueues, dequeues and a final drain: lost, duplicated and
    /// unexpected elements.
    Queue(queue::Options),
    /// `queue`, checked as a total queue.
    TotalQueue(queue::Options),
    /// Generate ids: no id twice.
    UniqueIds(unique_ids::Options),
    /// Single-key writes and reads of key groups: no long fork.
    LongFork(long_fork::Options),
}

impl Workload {
    /// Parses a workload from its name and options (the lead's CLI uses
    /// this for `--workload NAME`).
    pub fn by_name(name: &str) -> Result<Workload, String> {
        match name {
            "register" => Ok(Workload::Register(Default::default())),
            "set" => Ok(Workload::Set(Default::default())),
            "list-append" => Ok(Workload::ListAppend(Default::default())),
            "rw-register" => Ok(Workload::RwRegister(Default::default())),
            "bank" => Ok(Workload::Bank(Default::default())),
            "counter" => Ok(Workload::Counter(Default::default())),
            "queue" => Ok(Workload::Queue(Default::default())),
            "total-queue" => Ok(Workload::TotalQueue(Default::default())),
            "unique-ids" => Ok(Workload::UniqueIds(Default::default())),
            "long-fork" => Ok(Workload::LongFork(Default::default())),
            other => Err(format!(
                "unknown workload {other:?}: expected one of {}",
                Workload::NAMES.join(", ")
            )),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Workload::Register(_) => "register",
            Workload::Set(_) => "set",
            Workload::ListAppend(_) => "list-append",
            Workload::RwRegister(_) => "rw-register",
            Workload::Bank(_) => "bank",
            Workload::Counter(_) => "counter",
            Workload::Queue(_) => "queue",
            Workload::TotalQueue(_) => "total-queue",
            Workload::UniqueIds(_) => "unique-ids",
            Workload::LongFork(_) => "long-fork",
        }
    }

    /// Every workload's name, for error messages and `--workload`.
    pub const NAMES: &'static [&'static str] = &[
        "register",
        "set",
        "list-append",
        "rw-register",
        "bank",
        "counter",
        "queue",
        "total-queue",
        "unique-ids",
        "long-fork",
    ];

    /// The operations this workload's clients receive (and only these).
    pub fn ops(&self) -> &'static [OpSpec] {
        match self {
            Workload::Register(_) => register::OPS,
            Workload::Set(_) => set::OPS,
            Workload::ListAppend(_) => list_append::OPS,
            Workload::RwRegister(_) => rw_register::OPS,
            Workload::Bank(_) => bank::OPS,
            Workload::Counter(_) => counter::OPS,
            Workload::Queue(_) | Workload::TotalQueue(_) => queue::OPS,
            Workload::UniqueIds(_) => unique_ids::OPS,
            Workload::LongFork(_) => long_fork::OPS,
        }
    }

    /// The checker that decides this workload's verdict.
    pub fn checker(&self) -> &'static str {
        match self {
            Workload::Register(_) => "linearizable (cas-register per key)",
            Workload::Set(_) => "set",
            Workload::ListAppend(_) => "elle list-append",
            Workload::RwRegister(_) => "elle rw-register",
            Workload::Bank(_) => "bank",
            Workload::Counter(_) => "counter",
            Workload::Queue(_) | Workload::TotalQueue(_) => "queue (total-queue)",
            Workload::UniqueIds(_) => "unique-ids",
            Workload::LongFork(_) => "long-fork",
        }
    }

    /// Whether `f` is one of this workload's operations: a client opened
    /// for the workload may refuse anything else.
    pub fn has_op(&self, f: &str) -> bool {
        self.ops().iter().any(|o| o.f == f)
    }

    /// How the client must read (the target passes it to its client).
    pub fn read_mode(&self) -> ReadMode {
        match self {
            Workload::Register(o) => o.read,
            Workload::Set(o) => o.read,
            Workload::ListAppend(o) => o.read,
            Workload::RwRegister(o) => o.read,
            Workload::Bank(o) => o.read,
            Workload::Counter(o) => o.read,
            Workload::Queue(_)
            | Workload::TotalQueue(_)
            | Workload::UniqueIds(_)
            | Workload::LongFork(_) => ReadMode::Linearizable,
        }
    }

    /// Checks the options beyond their types (ranges, consistency names).
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Workload::Register(o) => o.validate(),
            Workload::Set(o) => o.validate(),
            Workload::ListAppend(o) => o.validate(),
            Workload::RwRegister(o) => o.validate(),
            Workload::Bank(o) => o.validate(),
            Workload::Counter(o) => o.validate(),
            Workload::Queue(o) | Workload::TotalQueue(o) => o.validate(),
            Workload::UniqueIds(o) => o.validate(),
            Workload::LongFork(o) => o.validate(),
        }
    }

    pub fn generator(&self) -> WorkloadGen {
        match self {
            Workload::Register(o) => WorkloadGen::Register(register::Gen::new(o.clone())),
            Workload::Set(o) => WorkloadGen::Set(set::Gen::new(o.clone())),
            Workload::ListAppend(o) => WorkloadGen::ListAppend(list_append::Gen::new(o.clone())),
            Workload::RwRegister(o) => WorkloadGen::RwRegister(rw_register::Gen::new(o.clone())),
            Workload::Bank(o) => WorkloadGen::Bank(bank::Gen::new(o.clone())),
            Workload::Counter(o) => WorkloadGen::Counter(counter::Gen::new(o.clone())),
            Workload::Queue(o) | Workload::TotalQueue(o) => {
                WorkloadGen::Queue(queue::Gen::new(o.clone()))
            }
            Workload::UniqueIds(o) => WorkloadGen::UniqueIds(unique_ids::Gen::new(o.clone())),
            Workload::LongFork(o) => WorkloadGen::LongFork(long_fork::Gen::new(o.clone())),
        }
    }

    /// Checks a history this workload produced.
    pub fn check(&self, history: &History) -> Result<Checked, String> {
        match self {
            Workload::Register(o) => register::check(history, o).map(Checked::Linearizable),
            Workload::Set(o) => Ok(Checked::Set(set::check(history, &o.checker()))),
            Workload::ListAppend(o) => Ok(Checked::Txn(list_append::check(history, o)?)),
            Workload::RwRegister(o) => Ok(Checked::Txn(rw_register::check(history, o)?)),
            Workload::Bank(o) => Ok(Checked::Bank(Box::new(bank::check(history, o)))),
            Workload::Counter(o) => Ok(Checked::Counter(counter::check(history, o))),
            Workload::Queue(o) | Workload::TotalQueue(o) => {
                Ok(Checked::Queue(queue::check(history, o)))
            }
            Workload::UniqueIds(o) => Ok(Checked::UniqueIds(unique_ids::check(history, o))),
            Workload::LongFork(o) => Ok(Checked::LongFork(long_fork::check(history, o))),
        }
    }
}

/// Any workload's generator, for the run loop.
pub enum WorkloadGen {
    Register(register::Gen),
    Set(set::Gen),
    ListAppend(list_append::Gen),
    RwRegister(rw_register::Gen),
    Bank(bank::Gen),
    Counter(counter::Gen),
    Queue(queue::Gen),
    UniqueIds(unique_ids::Gen),
    LongFork(long_fork::Gen),
}

impl Generator for WorkloadGen {
    fn next(&mut self, ctx: &GenCtx, rng: &mut Rng) -> Option<OpRequest> {
        match self {
            WorkloadGen::Register(g) => g.next(ctx, rng),
            WorkloadGen::Set(g) => g.next(ctx, rng),
            WorkloadGen::ListAppend(g) => g.next(ctx, rng),
            WorkloadGen::RwRegister(g) => g.next(ctx, rng),
            WorkloadGen::Bank(g) => g.next(ctx, rng),
            WorkloadGen::Counter(g) => g.next(ctx, rng),
            WorkloadGen::Queue(g) => g.next(ctx, rng),
            WorkloadGen::UniqueIds(g) => g.next(ctx, rng),
            WorkloadGen::LongFork(g) => g.next(ctx, rng),
        }
    }

    fn final_ops(&mut self, ctx: &GenCtx) -> Vec<OpRequest> {
        match self {
            WorkloadGen::Register(g) => g.final_ops(ctx),
            WorkloadGen::Set(g) => g.final_ops(ctx),
            WorkloadGen::ListAppend(g) => g.final_ops(ctx),
            WorkloadGen::RwRegister(g) => g.final_ops(ctx),
            WorkloadGen::Bank(g) => g.final_ops(ctx),
            WorkloadGen::Counter(g) => g.final_ops(ctx),
            WorkloadGen::Queue(g) => g.final_ops(ctx),
            WorkloadGen::UniqueIds(g) => g.final_ops(ctx),
            WorkloadGen::LongFork(g) => g.final_ops(ctx),
        }
    }
}

/// A workload's verdict with the checker's own evidence.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "checker", rename_all = "kebab-case")]
pub enum Checked {
    Linearizable(checkers::linearizable::LinResult),
    Set(set::SetResult),
    Txn(checkers::txn::TxnResult),
    /// Boxed: three example reads make it the largest result.
    Bank(Box<checkers::bank::BankResult>),
    Counter(checkers::counter::CounterResult),
    Queue(checkers::queue::QueueResult),
    UniqueIds(checkers::unique_ids::UniqueIdsResult),
    LongFork(checkers::long_fork::LongForkResult),
}

impl Checked {
    pub fn valid(&self) -> Validity {
        self.result().valid()
    }

    /// The checker's own result, as people see it.
    pub fn result(&self) -> &dyn CheckerResult {
        match self {
            Checked::Linearizable(r) => r,
            Checked::Set(r) => r,
            Checked::Txn(r) => r,
            Checked::Bank(r) => &**r,
            Checked::Counter(r) => r,
            Checked::Queue(r) => r,
            Checked::UniqueIds(r) => r,
            Checked::LongFork(r) => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_and_unknown_keys_are_errors() {
        let w: Workload =
            serde_json::from_str(r#"{"name":"register","keys":3,"read":"serializable"}"#).unwrap();
        match &w {
            Workload::Register(o) => {
                assert_eq!(o.keys, 3);
                assert_eq!(o.read, ReadMode::Serializable);
                assert_eq!(o.values, register::Options::default().values);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(w.read_mode(), ReadMode::Serializable);
        let w: Workload =
            serde_json::from_str(r#"{"name":"list-append","max-txn-len":2}"#).unwrap();
        assert_eq!(w.name(), "list-append");
        w.validate().unwrap();
        let err = serde_json::from_str::<Workload>(r#"{"name":"register","kyes":3}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `kyes`"), "{err}");
        let err = serde_json::from_str::<Workload>(r#"{"name":"register","read":"stale"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `stale`"), "{err}");
        let err = serde_json::from_str::<Workload>(r#"{"name":"banks"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `banks`"), "{err}");
        assert!(Workload::by_name("set").is_ok());
        assert!(Workload::by_name("sets").is_err());
    }

    #[test]
    fn options_parse_from_yaml() {
        let w: Workload = serde_saphyr::from_str(
            "name: list-append\nkeys: 4\nmin-txn-len: 2\nmax-txn-len: 3\nconsistency: [serializable]\n",
        )
        .unwrap();
        let Workload::ListAppend(o) = &w else {
            panic!()
        };
        assert_eq!((o.keys, o.min_txn_len, o.max_txn_len), (4, 2, 3));
        w.validate().unwrap();
        let err = serde_saphyr::from_str::<Workload>("name: set\nread: serializable\nbogus: 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn key_distributions_parse_and_bad_ones_name_the_field() {
        let w: Workload = serde_saphyr::from_str(
            "name: register\nkeys: 1000\nkey-distribution: zipf\nzipf-exponent: 1.5\n",
        )
        .unwrap();
        let Workload::Register(o) = &w else { panic!() };
        assert_eq!(o.key_distribution, keys::KeyDistribution::Zipf);
        assert_eq!(o.zipf_exponent, 1.5);
        w.validate().unwrap();
        for name in ["list-append", "rw-register", "bank"] {
            let w: Workload =
                serde_saphyr::from_str(&format!("name: {name}\nkey-distribution: exponential\n"))
                    .unwrap();
            w.validate().unwrap();
            let w: Workload =
                serde_saphyr::from_str(&format!("name: {name}\nzipf-exponent: 0\n")).unwrap();
            let e = w.validate().unwrap_err();
            assert_eq!(
                e,
                format!("{name}: zipf-exponent must be a number above 0, found 0")
            );
        }
        let e = serde_saphyr::from_str::<Workload>("name: register\nkey-distribution: hot\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("key-distribution: unknown distribution \"hot\"; accepted: uniform, zipf, exponential"),
            "{e}"
        );
    }
}
