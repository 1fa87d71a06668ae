//! Sequential specifications: what a single-copy object would have done.
//!
//! Each model turns the history's calls into compact operations once (values
//! interned to integers) so the search only compares and hashes small
//! states. `step` returns the state after an operation, or `None` when the
//! operation could not have produced its recorded output in that state.
//!
//! Operations whose outcome is unknown (`info`, or never completed) carry no
//! output: they are applied as if they took effect, and the search may also
//! leave them out entirely ("never happened").

use history::Value;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::hash::Hash;

/// A call as the models see it.
pub struct CallView<'a> {
    pub f: &'a str,
    /// The invocation's value (for reads usually nil).
    pub input: &'a Value,
    /// The completion's value for `ok` calls; `None` when the outcome is unknown.
    pub output: Option<&'a Value>,
    /// The `key` field, for models over several keys.
    pub key: Option<&'a Value>,
}

/// What encoding a call produced.
pub enum Encoded<O> {
    Op(O),
    /// The call cannot affect any state or constrain the search (a read
    /// whose result is unknown): leave it out.
    Skip,
}

pub trait Model: Send {
    type State: Clone + Eq + Hash + Send;
    /// Equal ops have equal effects: the search treats identical calls of
    /// unknown outcome as interchangeable.
    type Op: Send + Sync + Eq + Hash;

    fn init(&self) -> Self::State;
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;
    /// Turns a call into an operation, or explains what was expected.
    fn encode(&mut self, call: &CallView) -> Result<Encoded<Self::Op>, String>;
    /// The state in history terms, for evidence and reports.
    fn describe(&self, state: &Self::State) -> Value;
    /// True for an operation that never changes the state (a read): the
    /// search linearizes such a call as soon as it is legal.
    fn is_read_only(&self, _op: &Self::Op) -> bool {
        false
    }
    /// False for an operation that is legal in every state (a write, an
    /// add, an enqueue): completed `ok`, it still observes nothing, so a
    /// history of only such operations cannot expose an anomaly and is
    /// never called valid (issue "no VALID without observations").
    fn can_fail(&self, _op: &Self::Op) -> bool {
        true
    }
    /// Bytes a state holds on the heap, for the memory budget.
    fn heap_bytes(&self, _state: &Self::State) -> usize {
        0
    }
}

/// Values as dense integers; id 0 is nil.
#[derive(Clone, Debug)]
pub struct Interner {
    ids: FxHashMap<Value, u32>,
    values: Vec<Value>,
}

impl Default for Interner {
    fn default() -> Self {
        let mut ids = FxHashMap::default();
        ids.insert(Value::Nil, 0);
        Interner {
            ids,
            values: vec![Value::Nil],
        }
    }
}

impl Interner {
    pub fn id(&mut self, v: &Value) -> u32 {
        let key = match v {
            Value::Keyword(_) | Value::List(_) | Value::Set(_) | Value::Map(_) => v.normalized(),
            _ => v.clone(),
        };
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(key.clone());
        self.ids.insert(key, id);
        id
    }

    pub fn value(&self, id: u32) -> &Value {
        &self.values[id as usize]
    }

    pub fn values_of(&self, ids: &[u32]) -> Vec<Value> {
        ids.iter().map(|&id| self.value(id).clone()).collect()
    }
}

fn output<'a>(call: &'a CallView) -> Option<&'a Value> {
    call.output
}

fn unknown_f(call: &CallView, expected: &str) -> String {
    format!("unsupported f {:?}: expected {expected}", call.f)
}

// ---- register / cas-register ----------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOp {
    /// A read that returned this value.
    Read(u32),
    Write(u32),
    /// A successful compare-and-set (or one of unknown outcome).
    Cas(u32, u32),
}

/// What a read that returned nil tells about the register.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NilReads {
    /// Nil is a value like any other: the register held nil (was absent).
    /// Right for shakedown's and Jepsen's etcd histories, where nil means
    /// "no such key".
    #[default]
    Strict,
    /// Nothing: a nil read matches every state. Knossos's register,
    /// cas-register and multi-register models read histories this way, in
    /// which a read's invocation carries nil and only some completions fill
    /// the value in.
    Any,
}

impl NilReads {
    pub fn name(self) -> &'static str {
        match self {
            NilReads::Strict => "strict",
            NilReads::Any => "any",
        }
    }

    /// The rule in words, for output that names it.
    pub fn describe(self) -> &'static str {
        match self {
            NilReads::Strict => "a nil read means the register was nil",
            NilReads::Any => "a nil read matches any state, as in Knossos",
        }
    }

    /// True when a read that returned `v` tells nothing.
    fn ignores(self, v: &Value) -> bool {
        self == NilReads::Any && v.is_nil()
    }
}

impl std::str::FromStr for NilReads {
    type Err = String;
    fn from_str(s: &str) -> Result<NilReads, String> {
        match s {
            "strict" => Ok(NilReads::Strict),
            "any" => Ok(NilReads::Any),
            _ => Err(format!(
                "unknown nil-reads rule {s:?}: expected strict or any"
            )),
        }
    }
}

/// A read/write register; with `cas` also compare-and-set.
#[derive(Clone)]
pub struct Register {
    pub cas: bool,
    pub initial: u32,
    pub values: Interner,
    pub nil_reads: NilReads,
}

impl Register {
    pub fn new(cas: bool, initial: &Value, nil_reads: NilReads) -> Register {
        let mut values = Interner::default();
        let initial = values.id(initial);
        Register {
            cas,
            initial,
            values,
            nil_reads,
        }
    }
}

impl Model for Register {
    type State = u32;
    type Op = RegisterOp;

    fn can_fail(&self, op: &RegisterOp) -> bool {
        !matches!(op, RegisterOp::Write(_))
    }

    fn init(&self) -> u32 {
        self.initial
    }

    fn step(&self, &state: &u32, op: &RegisterOp) -> Option<u32> {
        match *op {
            RegisterOp::Read(v) => (v == state).then_some(state),
            RegisterOp::Write(v) => Some(v),
            RegisterOp::Cas(from, to) => (from == state).then_some(to),
        }
    }

    fn encode(&mut self, call: &CallView) -> Result<Encoded<RegisterOp>, String> {
        match call.f {
            "read" | "r" | "get" => Ok(match output(call) {
                Some(v) if !self.nil_reads.ignores(v) => {
                    Encoded::Op(RegisterOp::Read(self.values.id(v)))
                }
                // Unknown outcome, or a nil read that tells nothing: it
                // cannot change the state nor fail in any, so leaving it
                // out is exact.
                _ => Encoded::Skip,
            }),
            "write" | "w" | "put" => Ok(Encoded::Op(RegisterOp::Write(self.values.id(call.input)))),
            "cas" if self.cas => match call.input.as_list() {
                Some([from, to]) => Ok(Encoded::Op(RegisterOp::Cas(
                    self.values.id(from),
                    self.values.id(to),
                ))),
                _ => Err(format!(
                    "cas value must be [expected new], found {}",
                    call.input
                )),
            },
            _ if self.cas => Err(unknown_f(call, "read, write or cas")),
            _ => Err(unknown_f(call, "read or write")),
        }
    }

    fn describe(&self, &state: &u32) -> Value {
        self.values.value(state).clone()
    }

    fn is_read_only(&self, op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Read(_))
    }
}

// ---- multi-register (Knossos's) ----------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Micro {
    /// Register `k` (an index into the state) held value `v`.
    Read(u32, u32),
    Write(u32, u32),
}

/// Knossos's `multi-register`: registers named by keys, read and written
/// together by `txn` calls whose value is a list of micro-ops
/// `[read k v]` / `[write k v]` (also `r` / `w`), applied in order as one
/// atomic step. An `ok` txn is checked with its completion's micro-ops
/// (reads filled in); one of unknown outcome with its invocation's, whose
/// reads tell nothing. Registers start at the initial map's values, keys
/// it does not name at nil.
#[derive(Clone)]
pub struct MultiRegister {
    keys: Interner,
    pub values: Interner,
    /// Value id per key id - 1, for the keys of the initial map.
    initial: Vec<u32>,
    pub nil_reads: NilReads,
}

impl MultiRegister {
    /// `initial` is a map from key to value (`{"x":0,"y":0}` or `{:x 0 :y 0}`), or nil.
    pub fn new(initial: &Value, nil_reads: NilReads) -> Result<MultiRegister, String> {
        let mut m = MultiRegister {
            keys: Interner::default(),
            values: Interner::default(),
            initial: Vec::new(),
            nil_reads,
        };
        match initial {
            Value::Nil => {}
            Value::Map(entries) => {
                for (k, v) in entries {
                    let k = m.key(k)?;
                    let v = m.values.id(v);
                    if m.initial.len() <= k as usize {
                        m.initial.resize(k as usize + 1, 0);
                    }
                    m.initial[k as usize] = v;
                }
            }
            v => {
                return Err(format!(
                    "multi-register initial value must be a map from key to value (e.g. {{\"x\":0,\"y\":0}}), found {v}"
                ))
            }
        }
        Ok(m)
    }

    /// Key ids start at 1 (0 is nil in the interner); a state is indexed by id - 1.
    fn key(&mut self, k: &Value) -> Result<u32, String> {
        if k.is_nil() {
            return Err("a multi-register key must not be nil".into());
        }
        Ok(self.keys.id(k) - 1)
    }
}

impl Model for MultiRegister {
    /// One value id per key, in key id order.
    type State = Box<[u32]>;
    type Op = Box<[Micro]>;

    fn can_fail(&self, op: &Box<[Micro]>) -> bool {
        op.iter().any(|m| matches!(m, Micro::Read(..)))
    }

    fn init(&self) -> Box<[u32]> {
        let mut state = vec![0; self.keys.values.len() - 1];
        state[..self.initial.len()].copy_from_slice(&self.initial);
        state.into_boxed_slice()
    }

    fn step(&self, state: &Box<[u32]>, op: &Box<[Micro]>) -> Option<Box<[u32]>> {
        let mut next: Option<Box<[u32]>> = None;
        for m in op.iter() {
            match *m {
                Micro::Read(k, v) => {
                    let now = next.as_ref().unwrap_or(state)[k as usize];
                    if now != v {
                        return None;
                    }
                }
                Micro::Write(k, v) => next.get_or_insert_with(|| state.clone())[k as usize] = v,
            }
        }
        Some(next.unwrap_or_else(|| state.clone()))
    }

    fn encode(&mut self, call: &CallView) -> Result<Encoded<Box<[Micro]>>, String> {
        if call.f != "txn" {
            return Err(unknown_f(call, "txn"));
        }
        // An ok txn's completion holds what its reads returned.
        let (mops, observed) = match call.output {
            Some(out) => (out, true),
            None => (call.input, false),
        };
        let list = mops.as_list().ok_or_else(|| {
            format!("a txn value must be a list of micro-ops [f key value], found {mops}")
        })?;
        let mut ops = Vec::with_capacity(list.len());
        for mop in list {
            let (f, k, v) = match mop.as_list() {
                Some([f, k, v]) => (f, k, v),
                _ => {
                    return Err(format!(
                        "micro-op {mop}: expected [read key value] or [write key value]"
                    ))
                }
            };
            let k = self.key(k)?;
            match f.as_str() {
                Some("read" | "r") => {
                    // A read of unknown outcome, or a nil read under the
                    // Knossos rule, tells nothing.
                    if observed && !self.nil_reads.ignores(v) {
                        ops.push(Micro::Read(k, self.values.id(v)));
                    }
                }
                Some("write" | "w") => ops.push(Micro::Write(k, self.values.id(v))),
                _ => {
                    return Err(format!(
                        "micro-op {mop}: unsupported function {f}, expected read or write"
                    ))
                }
            }
        }
        if ops.is_empty() {
            return Ok(Encoded::Skip);
        }
        Ok(Encoded::Op(ops.into_boxed_slice()))
    }

    fn describe(&self, state: &Box<[u32]>) -> Value {
        Value::Map(
            state
                .iter()
                .enumerate()
                .map(|(k, &v)| {
                    (
                        self.keys.value(k as u32 + 1).clone(),
                        self.values.value(v).clone(),
                    )
                })
                .collect(),
        )
    }

    fn is_read_only(&self, op: &Box<[Micro]>) -> bool {
        op.iter().all(|m| matches!(m, Micro::Read(..)))
    }

    fn heap_bytes(&self, state: &Box<[u32]>) -> usize {
        state.len() * 4
    }
}

// ---- key-value (string values per key: get / put / append) ----------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KvOp {
    Get(u32, u32),
    Put(u32, u32),
    Append(u32, u32),
}

/// String values per key, every key starting at the initial value (the
/// empty string by default, as in Porcupine's kv tests).
///
/// Everything is hash-consed so the search handles small integers only:
/// strings (appends create new ones, equal text gets an equal id), states
/// (a vector of string ids, one per key, named by a state id) and
/// transitions ((state, op) -> state, computed once). Without this the
/// unpartitioned 10-client corpus file spends its time cloning and hashing
/// vectors of strings.
pub struct KeyValue {
    keys: Interner,
    initial: u32,
    tables: RefCell<KvTables>,
}

#[derive(Default)]
struct KvTables {
    string_ids: FxHashMap<Box<str>, u32>,
    strings: Vec<Box<str>>,
    appended: FxHashMap<(u32, u32), u32>,
    /// Every state's values, `width` words each, back to back: state `i`
    /// is `values[i * width..][..width]`. One growing buffer instead of
    /// two boxes per state (allocated, hashed as keys, and freed at the
    /// end: a tenth of a check of the 10-client corpus file).
    values: Vec<u32>,
    width: usize,
    count: u32,
    /// State ids, hashed by their values.
    state_ids: hashbrown::HashTable<u32>,
    /// Writes only: a read needs no table (one comparison).
    transitions: FxHashMap<(u32, KvOp), u32>,
    /// The next state's values, built here and looked up before any
    /// allocation (most are states seen before).
    scratch: Vec<u32>,
}

impl KvTables {
    fn string(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.string_ids.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(s.into());
        self.string_ids.insert(s.into(), id);
        id
    }

    fn append(&mut self, prev: u32, suffix: u32) -> u32 {
        if let Some(&id) = self.appended.get(&(prev, suffix)) {
            return id;
        }
        let joined = format!(
            "{}{}",
            self.strings[prev as usize], self.strings[suffix as usize]
        );
        let id = self.string(&joined);
        self.appended.insert((prev, suffix), id);
        id
    }

    fn values_of(values: &[u32], width: usize, id: u32) -> &[u32] {
        &values[id as usize * width..][..width]
    }

    fn state_values(&self, id: u32) -> &[u32] {
        Self::values_of(&self.values, self.width, id)
    }

    /// The id of the state with these values (every state has as many as
    /// there are keys).
    fn state(&mut self, new: &[u32]) -> u32 {
        use std::hash::BuildHasher;
        let hasher = rustc_hash::FxBuildHasher;
        if self.count == 0 {
            self.width = new.len();
        }
        debug_assert_eq!(new.len(), self.width);
        let (values, width) = (&self.values, self.width);
        let hash = hasher.hash_one(new);
        if let Some(&id) = self
            .state_ids
            .find(hash, |&id| Self::values_of(values, width, id) == new)
        {
            return id;
        }
        let id = self.count;
        self.count += 1;
        self.values.extend_from_slice(new);
        let (values, width) = (&self.values, self.width);
        self.state_ids.insert_unique(hash, id, |&id| {
            hasher.hash_one(Self::values_of(values, width, id))
        });
        id
    }

    /// A get is legal when its key holds the value read: answered from the
    /// state's values, with no table to look in or grow.
    fn get(&self, state: u32, k: u32, v: u32) -> Option<u32> {
        (self.state_values(state)[k as usize] == v).then_some(state)
    }

    /// A put or an append: always legal, its next state computed once.
    fn write(&mut self, state: u32, op: KvOp) -> u32 {
        if let Some(&next) = self.transitions.get(&(state, op)) {
            return next;
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.extend_from_slice(self.state_values(state));
        match op {
            KvOp::Get(..) => {}
            KvOp::Put(k, v) => scratch[k as usize] = v,
            KvOp::Append(k, v) => scratch[k as usize] = self.append(scratch[k as usize], v),
        }
        let next = self.state(&scratch);
        self.scratch = scratch;
        self.transitions.insert((state, op), next);
        next
    }
}

impl KeyValue {
    pub fn new(initial: &Value) -> Result<KeyValue, String> {
        let initial_text = match initial {
            Value::Nil => String::new(),
            v => v
                .as_str()
                .ok_or_else(|| format!("key-value initial value must be a string, found {v}"))?
                .to_string(),
        };
        let mut tables = KvTables::default();
        let initial = tables.string(&initial_text);
        Ok(KeyValue {
            keys: Interner::default(),
            initial,
            tables: RefCell::new(tables),
        })
    }

    fn text_id(&mut self, v: &Value) -> Result<u32, String> {
        let s = match v {
            Value::Nil => "",
            v => v
                .as_str()
                .ok_or_else(|| format!("key-value values must be strings, found {v}"))?,
        };
        Ok(self.tables.get_mut().string(s))
    }
}

impl Model for KeyValue {
    /// An id into the model's table of states.
    type State = u32;
    type Op = KvOp;

    fn can_fail(&self, op: &KvOp) -> bool {
        matches!(op, KvOp::Get(..))
    }

    fn init(&self) -> u32 {
        // Every key seen while encoding starts at the initial value.
        let keys = self.keys.values.len() - 1;
        self.tables.borrow_mut().state(&vec![self.initial; keys])
    }

    fn step(&self, &state: &u32, op: &KvOp) -> Option<u32> {
        match *op {
            KvOp::Get(k, v) => self.tables.borrow().get(state, k, v),
            op => Some(self.tables.borrow_mut().write(state, op)),
        }
    }

    fn encode(&mut self, call: &CallView) -> Result<Encoded<KvOp>, String> {
        let key = call
            .key
            .ok_or("key-value operations need a \"key\" field")?;
        if key.is_nil() {
            return Err("the \"key\" field must not be nil".into());
        }
        // Key ids start at 1 (0 is nil in the interner); a state is indexed by id - 1.
        let k = self.keys.id(key) - 1;
        match call.f {
            "get" | "read" => Ok(match call.output {
                Some(v) => Encoded::Op(KvOp::Get(k, self.text_id(v)?)),
                None => Encoded::Skip,
            }),
            "put" | "write" => Ok(Encoded::Op(KvOp::Put(k, self.text_id(call.input)?))),
            "append" => Ok(Encoded::Op(KvOp::Append(k, self.text_id(call.input)?))),
            _ => Err(unknown_f(call, "get, put or append")),
        }
    }

    fn is_read_only(&self, op: &KvOp) -> bool {
        matches!(op, KvOp::Get(..))
    }

    fn describe(&self, &state: &u32) -> Value {
        let tables = self.tables.borrow();
        let values = tables.state_values(state);
        let text = |id: u32| Value::Str(tables.strings[id as usize].to_string());
        if values.len() == 1 {
            return text(values[0]);
        }
        Value::Map(
            values
                .iter()
                .enumerate()
                .map(|(k, &v)| (self.keys.value(k as u32 + 1).clone(), text(v)))
                .collect(),
        )
    }
}

// ---- mutex ------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MutexOp {
    Acquire,
    Release,
}

#[derive(Clone)]
pub struct Mutex {
    pub initially_held: bool,
}

impl Model for Mutex {
    type State = bool;
    type Op = MutexOp;

    fn init(&self) -> bool {
        self.initially_held
    }

    fn step(&self, &held: &bool, op: &MutexOp) -> Option<bool> {
        match op {
            MutexOp::Acquire => (!held).then_some(true),
            MutexOp::Release => held.then_some(false),
        }
    }

    fn encode(&mut self, call: &CallView) -> Result<Encoded<MutexOp>, String> {
        match call.f {
            "acquire" | "lock" => Ok(Encoded::Op(MutexOp::Acquire)),
            "release" | "unlock" => Ok(Encoded::Op(MutexOp::Release)),
            _ => Err(unknown_f(call, "acquire or release")),
        }
    }

    fn describe(&self, &held: &bool) -> Value {
        Value::Keyword(if held { "held" } else { "free" }.into())
    }
}

// ---- set ----------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SetOp {
    Add(u32),
    /// A read that returned exactly these elements (sorted ids).
    Read(Box<[u32]>),
}

/// A grow-only set with `add` and `read` (the whole set).
#[derive(Clone)]
pub struct Set {
    pub values: Interner,
    pub initial: Box<[u32]>,
}

impl Set {
    pub fn new(initial: &Value) -> Result<Set, String> {
        let mut values = Interner::default();
        let initial = match initial {
            Value::Nil => Box::default(),
            v => sorted_ids(&mut values, v)?,
        };
        Ok(Set { values, initial })
    }
}

fn sorted_ids(values: &mut Interner, v: &Value) -> Result<Box<[u32]>, String> {
    let items = v
        .as_list()
        .ok_or_else(|| format!("expected a collection of elements, found {v}"))?;
    let mut ids: Vec<u32> = items.iter().map(|x| values.id(x)).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids.into_boxed_slice())
}

impl Model for Set {
    type State = Box<[u32]>;
    type Op = SetOp;

    fn can_fail(&self, op: &SetOp) -> bool {
        matches!(op, SetOp::Read(_))
    }

    fn init(&self) -> Box<[u32]> {
        self.initial.clone()
    }

    fn step(&self, state: &Box<[u32]>, op: &SetOp) -> Option<Box<[u32]>> {
        match op {
            SetOp::Add(x) => Some(match state.binary_search(x) {
                Ok(_) => state.clone(),
                Err(at) => {
                    let mut next = Vec::with_capacity(state.len() + 1);
                    next.extend_from_slice(&state[..at]);
                    next.push(*x);
                    next.extend_from_slice(&state[at..]);
                    next.into_boxed_slice()
                }
            }),
            SetOp::Read(seen) => (seen == state).then(|| state.clone()),
        }
    }

    fn encode(&mut self, call: &CallView) -> Result<Encoded<SetOp>, String> {
        match call.f {
            "add" => Ok(Encoded::Op(SetOp::Add(self.values.id(call.input)))),
            "read" => Ok(match call.output {
                Some(v) => Encoded::Op(SetOp::Read(sorted_ids(&mut self.values, v)?)),
                None => Encoded::Skip,
            }),
            _ => Err(unknown_f(call, "add or read")),
        }
    }

    fn is_read_only(&self, op: &SetOp) -> bool {
        matches!(op, SetOp::Read(_))
    }

    fn describe(&self, state: &Box<[u32]>) -> Value {
        Value::Set(self.values.values_of(state))
    }

    fn heap_bytes(&self, state: &Box<[u32]>) -> usize {
        state.len() * 4
    }
}

// ---- queues -------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum QueueOp {
    Enqueue(u32),
    /// A dequeue that returned this element.
    Dequeue(u32),
    /// A dequeue of unknown outcome: in a FIFO queue it removed the head (if any).
    DequeueUnknown,
}

/// A FIFO queue (`fifo: true`) or an unordered queue (a multiset).
///
/// An `ok` dequeue must name the element it got (Jepsen clients record an
/// empty queue as `fail`). A dequeue of unknown outcome removes the head of
/// a FIFO queue; in an unordered queue it is left out, which is exact:
/// extra elements never make a later dequeue illegal.
#[derive(Clone)]
pub struct Queue {
    pub fifo: bool,
    pub values: Interner,
}

impl Model for Queue {
    /// FIFO: elements in order. Unordered: sorted ids (a multiset).
    type State = Box<[u32]>;
    type Op = QueueOp;

    fn can_fail(&self, op: &QueueOp) -> bool {
        !matches!(op, QueueOp::Enqueue(_))
    }

    fn init(&self) -> Box<[u32]> {
        Box::default()
    }

    fn step(&self, state: &Box<[u32]>, op: &QueueOp) -> Option<Box<[u32]>> {
        match *op {
            QueueOp::Enqueue(x) => {
                let mut next = state.to_vec();
                if self.fifo {
                    next.push(x);
                } else {
                    let at = next.partition_point(|&y| y <= x);
                    next.insert(at, x);
                }
                Some(next.into_boxed_slice())
            }
            QueueOp::Dequeue(x) => {
                let at = if self.fifo {
                    (state.first() == Some(&x)).then_some(0)?
                } else {
                    state.binary_search(&x).ok()?
                };
                let mut next = state.to_vec();
                next.remove(at);
                Some(next.into_boxed_slice())
            }
            QueueOp::DequeueUnknown => Some(state.get(1..).unwrap_or_default().into()),
        }
    }

    fn encode(&mut self, call: &CallView) -> Result<Encoded<QueueOp>, String> {
        match call.f {
            "enqueue" | "add" => Ok(Encoded::Op(QueueOp::Enqueue(self.values.id(call.input)))),
            "dequeue" | "remove" => match call.output {
                Some(Value::Nil) => Err(
                    "an ok dequeue must return the element it took (record an empty queue as fail)"
                        .into(),
                ),
                Some(v) => Ok(Encoded::Op(QueueOp::Dequeue(self.values.id(v)))),
                None if self.fifo => Ok(Encoded::Op(QueueOp::DequeueUnknown)),
                None => Ok(Encoded::Skip),
            },
            _ => Err(unknown_f(call, "enqueue or dequeue")),
        }
    }

    fn describe(&self, state: &Box<[u32]>) -> Value {
        Value::List(self.values.values_of(state))
    }

    fn heap_bytes(&self, state: &Box<[u32]>) -> usize {
        state.len() * 4
    }
}
