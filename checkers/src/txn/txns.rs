//! Compact transactions: interned keys and values, micro-ops in one flat
//! vector, list reads stored once per key (see [`Lists`]). Built op by op
//! ([`Builder`]), so a history file can be read straight into it without
//! ever holding the general [`Op`]s: what an explanation needs of an op
//! beyond this (its process name, its micro-ops as recorded) is fetched
//! back by position afterwards.

use super::Workload;
use history::txn_line::{MopName, RawMop, RawMops, RawVal, TxnLine};
use history::{Op, OpType, Paired, Pairing, Value};
use rustc_hash::FxHashMap;

/// A value of a key, interned: small integers are stored inline (shifted
/// left, low bit 0); everything else gets an id (low bit 1).
pub type Elem = u64;

/// The initial (nil) state of a register.
pub const NIL: Elem = u64::MAX;

/// "No such position" for [`Txn::completion`].
pub const NO_OP: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Unknown outcome (or never completed): may or may not have committed.
    Info,
    Fail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MopKind {
    Append,
    Write,
    Read,
}

/// One micro-op (24 bytes). For writes and appends `val` is the value
/// written; for register reads `val` is the value read ([`NIL`] for nil);
/// for list reads `val` says where the list is stored ([`Lists`]) and
/// `len` how long it is: read it with [`Txns::list`].
#[derive(Clone, Copy, Debug)]
pub struct Mop {
    pub kind: MopKind,
    /// Reads: whether the value is known (only in ok txns).
    pub known: bool,
    pub key: u32,
    pub val: Elem,
    pub len: u32,
}

#[derive(Clone, Debug)]
pub struct Txn {
    /// The history index naming the txn ("T12"): its completion's, or its
    /// invocation's if it never completed.
    pub index: u64,
    /// Positions in the history (the n-th op read, from 0).
    pub invoke: u32,
    /// [`NO_OP`] if it never completed.
    pub completion: u32,
    pub status: Status,
    pub process: u64,
    /// Micro-ops: `mops[start..end]`.
    pub start: u32,
    pub end: u32,
}

impl Txn {
    pub fn mops(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn completion(&self) -> Option<u32> {
        (self.completion != NO_OP).then_some(self.completion)
    }

    /// The op whose micro-ops the txn uses: the completion of an ok txn,
    /// else the invocation.
    pub fn source(&self) -> u32 {
        match (self.status, self.completion()) {
            (Status::Ok, Some(c)) => c,
            _ => self.invoke,
        }
    }
}

#[derive(Default)]
pub struct Interner {
    map: FxHashMap<Value, u32>,
    vals: Vec<Value>,
}

impl Interner {
    /// Keywords intern as strings (`:x` and `"x"` are the same key);
    /// lists, sets and maps in their normalized form.
    fn canonical(v: &Value) -> Option<Value> {
        match v {
            Value::Keyword(s) => Some(Value::Str(s.clone())),
            Value::Int(_) | Value::Str(_) | Value::Nil | Value::Bool(_) | Value::Float(_) => None,
            other => Some(other.normalized()),
        }
    }

    /// The id of a value already interned.
    pub fn get(&self, v: &Value) -> Option<u32> {
        match Self::canonical(v) {
            Some(c) => self.map.get(&c).copied(),
            None => self.map.get(v).copied(),
        }
    }

    pub fn id(&mut self, v: &Value) -> u32 {
        // Look up without cloning first: most keys are ints or strings.
        let canonical = Self::canonical(v);
        let v = canonical.as_ref().unwrap_or(v);
        if let Some(&id) = self.map.get(v) {
            return id;
        }
        let id = self.vals.len() as u32;
        self.vals.push(v.clone());
        self.map.insert(v.clone(), id);
        id
    }

    pub fn value(&self, id: u32) -> &Value {
        &self.vals[id as usize]
    }

    pub fn len(&self) -> usize {
        self.vals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vals.is_empty()
    }

    /// Renumbers: the value with id `i` gets id `new_id[i]`.
    fn renumber(&mut self, new_id: &[u32]) {
        let mut vals = vec![Value::Nil; self.vals.len()];
        for (i, v) in std::mem::take(&mut self.vals).into_iter().enumerate() {
            vals[new_id[i] as usize] = v;
        }
        self.vals = vals;
        for id in self.map.values_mut() {
            *id = new_id[*id as usize];
        }
    }

    fn bytes(&self) -> usize {
        // Ints and short strings mostly: a rough but safe estimate.
        self.vals.capacity() * std::mem::size_of::<Value>() * 3
    }
}

/// Interned keys and values.
#[derive(Default)]
pub struct Names {
    pub keys: Interner,
    pub vals: Interner,
}

const INLINE: i64 = 1 << 61;

impl Names {
    #[inline]
    pub fn elem(&mut self, v: &Value) -> Elem {
        match v {
            Value::Int(i) if (-INLINE..INLINE).contains(i) => (*i as u64) << 1,
            Value::Nil => NIL,
            other => ((self.vals.id(other) as u64) << 1) | 1,
        }
    }

    /// [`Names::elem`] of an integer.
    #[inline]
    pub fn elem_int(&mut self, i: i64) -> Elem {
        if (-INLINE..INLINE).contains(&i) {
            (i as u64) << 1
        } else {
            self.elem(&Value::Int(i))
        }
    }

    /// Like [`Names::elem`], for a value already interned.
    pub fn lookup(&self, v: &Value) -> Option<Elem> {
        match v {
            Value::Int(i) if (-INLINE..INLINE).contains(i) => Some((*i as u64) << 1),
            Value::Nil => Some(NIL),
            other => Some(((self.vals.get(other)? as u64) << 1) | 1),
        }
    }

    pub fn elem_value(&self, e: Elem) -> Value {
        if e == NIL {
            Value::Nil
        } else if e & 1 == 0 {
            Value::Int((e as i64) >> 1)
        } else {
            self.vals.value((e >> 1) as u32).clone()
        }
    }

    pub fn key_value(&self, k: u32) -> &Value {
        self.keys.value(k)
    }
}

/// The lists that list-append reads return, stored without repeating what
/// reads share. Every key has a *chain*: the longest list read of it so
/// far that extends the ones before. A read that is a prefix of its key's
/// chain (or extends it, growing the chain) is stored as just its length;
/// in a valid history that is every read, so all the reads of a key cost
/// one list. Reads that diverge from the chain are stored whole in `other`.
#[derive(Default)]
pub struct Lists {
    chains: Vec<Vec<Elem>>,
    other: Vec<Elem>,
    /// Heap bytes of the chains, kept as they grow: summing them over
    /// every key for each memory check took 4.5% of a 10M-txn check.
    chain_bytes: usize,
}

/// In a list read's `val`: the list is in `Lists::other`, from this offset.
const IN_OTHER: u64 = 1 << 63;

impl Lists {
    /// Stores a read of `key`; returns the micro-op's `val`.
    fn store(&mut self, key: u32, read: &[Elem]) -> Elem {
        if self.chains.len() <= key as usize {
            self.chains.resize_with(key as usize + 1, Vec::new);
        }
        let chain = &mut self.chains[key as usize];
        let shared = chain.len().min(read.len());
        if chain[..shared] == read[..shared] {
            if read.len() > chain.len() {
                let before = chain.capacity();
                chain.extend_from_slice(&read[shared..]);
                self.chain_bytes += (chain.capacity() - before) * 8;
            }
            0
        } else {
            let at = self.other.len() as u64;
            self.other.extend_from_slice(read);
            IN_OTHER | at
        }
    }

    fn get(&self, key: u32, val: Elem, len: u32) -> &[Elem] {
        if val & IN_OTHER != 0 {
            let at = (val & !IN_OTHER) as usize;
            &self.other[at..at + len as usize]
        } else {
            &self.chains[key as usize][..len as usize]
        }
    }

    /// True if both reads of `key` are stored in its chain, so the shorter
    /// is a prefix of the longer without comparing elements.
    pub fn same_chain(a: &Mop, b: &Mop) -> bool {
        a.key == b.key && a.val & IN_OTHER == 0 && b.val & IN_OTHER == 0
    }

    fn bytes(&self) -> usize {
        self.chains.capacity() * std::mem::size_of::<Vec<Elem>>()
            + self.chain_bytes
            + self.other.capacity() * 8
    }
}

/// Everything the analyses need: txns, their micro-ops, interned names.
#[derive(Default)]
pub struct Txns {
    pub txns: Vec<Txn>,
    pub mops: Vec<Mop>,
    pub mop_txn: Vec<u32>,
    pub names: Names,
    pub lists: Lists,
    /// Problems with the history itself (not anomalies): malformed micro-ops.
    pub malformed: Vec<String>,
    /// Ops read (all of them, not only txns).
    pub ops: usize,
    /// Client invocations read (every f, not only txns).
    pub calls: usize,
}

impl Txns {
    pub fn key_count(&self) -> usize {
        self.names.keys.len()
    }

    /// The elements of a list read (empty if unknown).
    pub fn list(&self, m: &Mop) -> &[Elem] {
        if m.kind == MopKind::Read && m.known && m.len > 0 {
            self.lists.get(m.key, m.val, m.len)
        } else {
            &[]
        }
    }

    /// Every micro-op id in history order (txn by txn, in invocation
    /// order): mops are stored as txns complete, so `0..mops.len()` is not.
    pub fn mop_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.txns.iter().flat_map(|x| x.start..x.end)
    }

    /// Bytes the whole check of these txns is expected to take at its
    /// peak, in resident memory of the process: what is held (counted by
    /// length: capacity not yet touched is not resident) plus what the
    /// analyses, the order edges and the graph add on top. Compared with
    /// `--memory-limit` while reading, so that a history too large to check
    /// stops with `unknown` before it is too late rather than being killed.
    ///
    /// The per-item costs come from the structures' sizes: a txn is a
    /// [`Txn`] (40 bytes) plus about four order edges (process and real
    /// time, through time points) at 20 bytes each while the graph is built
    /// (a 12-byte [`super::graph::Edge`] plus its 8-byte slot), three
    /// offsets and the real-time sort (~50 bytes); a micro-op is a [`Mop`]
    /// and its txn (28 bytes), its position and key grouping in the
    /// analysis (8) and about 1.3 data edges (26). Checked against peak RSS
    /// (`/usr/bin/time -v`) of generated list-append files (3 micro-ops per
    /// txn): 1M txns estimated 432 MB, measured 340 MB; 10M estimated
    /// 3.74 GB, measured 3.35 GB. Shapes the figures do not cover are
    /// caught by the RSS guard of `shakedown check`.
    pub fn peak_estimate(&self) -> usize {
        self.txns.len() * PEAK_PER_TXN
            + self.mops.len() * PEAK_PER_MOP
            + self.lists.bytes()
            + self.names.keys.bytes()
            + self.names.vals.bytes()
            + PEAK_FIXED
    }

    /// Heap bytes held, roughly (for the memory limit while reading).
    pub fn bytes(&self) -> usize {
        self.txns.capacity() * std::mem::size_of::<Txn>()
            + self.mops.capacity() * std::mem::size_of::<Mop>()
            + self.mop_txn.capacity() * 4
            + self.names.keys.bytes()
            + self.names.vals.bytes()
            + self.lists.bytes()
    }
}

/// Peak bytes per txn and per micro-op, and for the process itself (its
/// code, the reader's chunks in flight, the evidence read back): see
/// [`Txns::peak_estimate`].
pub const PEAK_PER_TXN: usize = 170;
pub const PEAK_PER_MOP: usize = 62;
pub const PEAK_FIXED: usize = 64 << 20;

/// A txn invoked and not yet completed.
struct Pending {
    txn: u32,
    /// Its `f`, as an index into `Builder::fs`.
    f: u32,
    index: u64,
    /// The invocation's micro-ops, used unless the txn completes ok.
    mops: PendingMops,
}

enum PendingMops {
    Value(Value),
    /// Read by the fast path (a vector from `Builder::spare`).
    Raw(Vec<RawMop>),
}

/// An op's micro-ops as pushed: a general value (borrowed or taken), or
/// read by [`history::txn_line`].
enum Mops<'a> {
    Ref(&'a Value),
    Owned(Value),
    Raw(&'a [RawMop], &'a RawMops),
}

impl Mops<'_> {
    fn value(&self) -> Option<&Value> {
        match self {
            Mops::Ref(v) => Some(v),
            Mops::Owned(v) => Some(v),
            Mops::Raw(..) => None,
        }
    }
}

/// What the protocol needs of an op.
struct Head<'a> {
    index: u64,
    kind: OpType,
    /// `None`: a named process (the nemesis).
    process: Option<u64>,
    f: &'a str,
}

/// Builds [`Txns`] from ops pushed one at a time in history order,
/// checking the invocation/completion protocol with [`history::Pairing`]
/// as [`history::HistoryBuilder`] does. Holds only the compact txns and the
/// invocations still open (one per client at most).
pub struct Builder {
    t: Txns,
    lists: bool,
    /// Open invocations by client process (every f, not only txns: the
    /// protocol is checked for all).
    pending: Pairing<Pending>,
    /// The f names seen ("txn" first), so a pending call holds an index.
    fs: Vec<String>,
    /// Integer keys already interned (most keys), by value.
    int_keys: FxHashMap<i64, u32>,
    /// Emptied vectors of fast-path invocations, for reuse.
    spare: Vec<Vec<RawMop>>,
    /// Txns whose micro-ops could not be read: dropped at the end.
    dropped: Vec<u32>,
    malformed: Vec<(u32, String)>,
    read: Vec<Elem>,
    /// Txn invocations read.
    txn_calls: usize,
    /// The first few f names of client calls that are not txns.
    other_fs: Vec<String>,
    /// The first micro-op of the other workload, by (invocation position,
    /// completion?), as [`super::wrong_workload`] finds it.
    foreign: Option<((u32, bool), String)>,
}

/// Marks a pending non-txn call in `Pending::txn`.
const NOT_TXN: u32 = u32::MAX;

impl Builder {
    /// `lists`: reads return lists (list-append) rather than single values.
    pub fn new(lists: bool) -> Builder {
        Builder {
            t: Txns::default(),
            lists,
            pending: Pairing::default(),
            fs: vec!["txn".to_string()],
            int_keys: FxHashMap::default(),
            spare: Vec::new(),
            dropped: Vec::new(),
            malformed: Vec::new(),
            read: Vec::new(),
            txn_calls: 0,
            other_fs: Vec::new(),
            foreign: None,
        }
    }

    fn workload(&self) -> Workload {
        if self.lists {
            Workload::ListAppend
        } else {
            Workload::RwRegister
        }
    }

    /// Why the ops so far cannot be checked as this builder's workload, if
    /// they cannot: the same reason [`super::wrong_workload`] gives for
    /// the same history held in memory.
    pub fn wrong_workload(&self) -> Option<String> {
        if let Some((_, why)) = &self.foreign {
            return Some(why.clone());
        }
        (self.t.calls > 0 && self.txn_calls == 0)
            .then(|| super::no_txn_reason(self.t.calls, &self.other_fs))
    }

    /// Remembers `value`'s first micro-op of the other workload, if it has
    /// one and comes before the one found so far. (The fast path reads
    /// only this workload's micro-ops: its lines have none.)
    fn note_foreign(&mut self, at: (u32, bool), mops: &Mops, index: u64) {
        let Some(value) = mops.value() else {
            return;
        };
        if self.foreign.as_ref().is_some_and(|(first, _)| *first < at) {
            return;
        }
        let workload = self.workload();
        if let Some(m) = super::foreign_mop(value, workload) {
            self.foreign = Some((at, super::foreign_reason(index, m, workload)));
        }
    }

    /// Whether reads return lists (list-append) rather than single values.
    pub fn lists(&self) -> bool {
        self.lists
    }

    /// Ops pushed so far.
    pub fn ops(&self) -> usize {
        self.t.ops
    }

    /// Heap bytes held so far, roughly.
    pub fn bytes(&self) -> usize {
        self.t.bytes()
    }

    /// [`Txns::peak_estimate`] of what was read so far (txns still open,
    /// one per client at most, are left out: their micro-ops are counted
    /// when they complete or at the end).
    pub fn peak_estimate(&self) -> usize {
        self.t.peak_estimate()
    }

    /// Txns read so far (open ones included).
    pub fn txns(&self) -> usize {
        self.t.txns.len()
    }

    /// Micro-ops stored so far.
    pub fn mops(&self) -> usize {
        self.t.mops.len()
    }

    /// Adds the next op. Errors are protocol violations, found (and
    /// worded) by [`history::Pairing`] as every reader finds them. Ops of named
    /// processes (the nemesis) are counted and otherwise ignored.
    pub fn push(&mut self, op: &Op) -> Result<(), String> {
        self.push_with(Self::head(op), Mops::Ref(&op.value))
    }

    /// Like [`Builder::push`], taking the op (its value is kept, not
    /// copied, while the txn is open).
    pub fn push_owned(&mut self, mut op: Op) -> Result<(), String> {
        let value = std::mem::take(&mut op.value);
        self.push_with(Self::head(&op), Mops::Owned(value))
    }

    /// Like [`Builder::push`], for a line read by the fast path, its
    /// micro-ops in `raw`.
    pub fn push_line(&mut self, line: &TxnLine, raw: &RawMops) -> Result<(), String> {
        let head = Head {
            index: line.index,
            kind: line.kind,
            process: line.process,
            f: line.f.as_str(),
        };
        let mops = &raw.mops[line.mops.start as usize..line.mops.end as usize];
        self.push_with(head, Mops::Raw(mops, raw))
    }

    fn head(op: &Op) -> Head<'_> {
        Head {
            index: op.index,
            kind: op.kind,
            process: op.process.client(),
            f: &op.f,
        }
    }

    fn f_id(&mut self, f: &str) -> u32 {
        match self.fs.iter().position(|g| g == f) {
            Some(i) => i as u32,
            None => {
                self.fs.push(f.to_string());
                (self.fs.len() - 1) as u32
            }
        }
    }

    fn push_with(&mut self, op: Head, mops: Mops) -> Result<(), String> {
        let pos = self.t.ops;
        if pos >= NO_OP as usize - 1 {
            return Err(format!("history too long: more than {} ops", NO_OP - 1));
        }
        self.t.ops += 1;
        let Some(p) = op.process else {
            return Ok(());
        };
        let is_txn = op.f == "txn";
        if op.kind == OpType::Invoke {
            self.t.calls += 1;
            if is_txn {
                self.txn_calls += 1;
                self.note_foreign((pos as u32, false), &mops, op.index);
            } else if self.other_fs.len() < 4 && !self.other_fs.iter().any(|g| g == op.f) {
                self.other_fs.push(op.f.to_string());
            }
        }
        // The f is numbered first, so an open call names it by number.
        let f = self.f_id(op.f);
        let (txns, spare, fs) = (&mut self.t.txns, &mut self.spare, &self.fs);
        // An invocation's micro-ops go into its open call (`carry`, only
        // called for an invocation); a completion's stay for below.
        let mut mops = Some(mops);
        let carry = || {
            let mops = mops.take().expect("carry runs once, for an invocation");
            let txn = if is_txn {
                txns.push(Txn {
                    index: op.index,
                    invoke: pos as u32,
                    completion: NO_OP,
                    status: Status::Info,
                    process: p,
                    start: 0,
                    end: 0,
                });
                (txns.len() - 1) as u32
            } else {
                NOT_TXN
            };
            let kept = match mops {
                _ if txn == NOT_TXN => PendingMops::Value(Value::Nil),
                Mops::Ref(v) => PendingMops::Value(v.clone()),
                Mops::Owned(v) => PendingMops::Value(v),
                Mops::Raw(m, _) => {
                    let mut v = spare.pop().unwrap_or_default();
                    v.extend_from_slice(m);
                    PendingMops::Raw(v)
                }
            };
            Pending {
                txn,
                f,
                index: op.index,
                mops: kept,
            }
        };
        let invoked = |open: &Pending| (fs[open.f as usize].as_str(), open.index);
        match self
            .pending
            .push((op.process, op.kind, op.f), carry, invoked)?
        {
            Paired::Invoke | Paired::Event => Ok(()),
            Paired::Completes(open) => {
                if open.txn == NOT_TXN {
                    return Ok(());
                }
                let mops = mops.expect("a completion keeps its micro-ops");
                let invoked = self.t.txns[open.txn as usize].invoke;
                self.note_foreign((invoked, true), &mops, op.index);
                let status = match op.kind {
                    OpType::Ok => Status::Ok,
                    OpType::Fail => Status::Fail,
                    _ => Status::Info,
                };
                let txn = &mut self.t.txns[open.txn as usize];
                txn.completion = pos as u32;
                txn.index = op.index;
                txn.status = status;
                if status == Status::Ok {
                    self.add_mops(open.txn, &mops, op.index, true);
                    self.recycle(open.mops);
                } else {
                    self.add_pending_mops(open.txn, open.mops, open.index);
                }
                Ok(())
            }
        }
    }

    /// Reads an invocation's micro-ops (the outcome unknown or failed).
    fn add_pending_mops(&mut self, txn: u32, mops: PendingMops, index: u64) {
        match mops {
            PendingMops::Value(v) => self.add_mops(txn, &Mops::Ref(&v), index, false),
            PendingMops::Raw(m) => {
                // Unknown reads carry no list: no ints needed.
                self.add_mops(txn, &Mops::Raw(&m, &RawMops::default()), index, false);
                self.recycle(PendingMops::Raw(m));
            }
        }
    }

    fn recycle(&mut self, mops: PendingMops) {
        if let PendingMops::Raw(mut v) = mops {
            v.clear();
            self.spare.push(v);
        }
    }

    /// Reads the txn's micro-ops into the flat vector (or drops the txn
    /// with a warning naming the op if they are malformed).
    fn add_mops(&mut self, txn: u32, source: &Mops, index: u64, known: bool) {
        let start = self.t.mops.len();
        let (raw, ints) = match source {
            Mops::Ref(v) => return self.add_value_mops(txn, v, index, known),
            Mops::Owned(v) => return self.add_value_mops(txn, v, index, known),
            Mops::Raw(m, ints) => (*m, *ints),
        };
        for m in raw {
            let mop = self.raw_mop(m, ints, known);
            self.t.mops.push(mop);
            self.t.mop_txn.push(txn);
        }
        let x = &mut self.t.txns[txn as usize];
        x.start = start as u32;
        x.end = self.t.mops.len() as u32;
    }

    fn add_value_mops(&mut self, txn: u32, source: &Value, index: u64, known: bool) {
        let start = self.t.mops.len();
        let Some(list) = source.as_list() else {
            self.drop_txn(
                txn,
                format!("op {index}: a txn's value must be a list of micro-ops, got {source}"),
            );
            return;
        };
        for m in list {
            match self.parse_mop(m, known) {
                Some(mop) => {
                    self.t.mops.push(mop);
                    self.t.mop_txn.push(txn);
                }
                None => {
                    self.t.mops.truncate(start);
                    self.t.mop_txn.truncate(start);
                    self.drop_txn(
                        txn,
                        format!(
                            "op {index}: cannot read micro-op {m}: expected [append k v], [r k v] or [w k v]"
                        ),
                    );
                    return;
                }
            }
        }
        let x = &mut self.t.txns[txn as usize];
        x.start = start as u32;
        x.end = self.t.mops.len() as u32;
    }

    fn int_key(&mut self, k: i64) -> u32 {
        if let Some(&id) = self.int_keys.get(&k) {
            return id;
        }
        let id = self.t.names.keys.id(&Value::Int(k));
        self.int_keys.insert(k, id);
        id
    }

    /// A micro-op read by the fast path, as [`Builder::parse_mop`] reads
    /// the same micro-op from a value.
    fn raw_mop(&mut self, m: &RawMop, ints: &RawMops, known: bool) -> Mop {
        let key = self.int_key(m.key);
        let names = &mut self.t.names;
        let mut elem = |v: RawVal| match v {
            RawVal::Int(i) => names.elem_int(i),
            // Lists only in list reads, handled below.
            RawVal::Nil | RawVal::List { .. } => NIL,
        };
        let mop = |kind, val| Mop {
            kind,
            known: false,
            key,
            val,
            len: 0,
        };
        match m.name {
            MopName::Append => mop(MopKind::Append, elem(m.val)),
            MopName::W => mop(MopKind::Write, elem(m.val)),
            MopName::R if self.lists => {
                let mut read = mop(MopKind::Read, 0);
                if known {
                    self.read.clear();
                    for &i in ints.list(m.val) {
                        let e = self.t.names.elem_int(i);
                        self.read.push(e);
                    }
                    read.known = true;
                    read.len = self.read.len() as u32;
                    read.val = self.t.lists.store(key, &self.read);
                }
                read
            }
            MopName::R => Mop {
                known,
                ..mop(MopKind::Read, if known { elem(m.val) } else { NIL })
            },
        }
    }

    fn drop_txn(&mut self, txn: u32, why: String) {
        self.dropped.push(txn);
        self.malformed.push((txn, why));
    }

    fn parse_mop(&mut self, m: &Value, known: bool) -> Option<Mop> {
        let parts = m.as_list()?;
        if parts.len() != 3 {
            return None;
        }
        let names = &mut self.t.names;
        let key = names.keys.id(&parts[1]);
        let v = &parts[2];
        let write = |kind| Mop {
            kind,
            known: false,
            key,
            val: 0,
            len: 0,
        };
        let mop = match parts[0].as_str()? {
            "append" => Mop {
                val: names.elem(v),
                ..write(MopKind::Append)
            },
            "w" | "write" => Mop {
                val: names.elem(v),
                ..write(MopKind::Write)
            },
            "r" | "read" if self.lists => {
                // A list read: nil in a completed txn is the empty list.
                let mut mop = Mop {
                    known,
                    ..write(MopKind::Read)
                };
                if known {
                    let items = match v {
                        Value::Nil => &[][..],
                        other => other.as_list()?,
                    };
                    self.read.clear();
                    for item in items {
                        let e = names.elem(item);
                        self.read.push(e);
                    }
                    mop.len = self.read.len() as u32;
                    mop.val = self.t.lists.store(key, &self.read);
                }
                mop
            }
            "r" | "read" => Mop {
                known,
                val: if known { names.elem(v) } else { NIL },
                ..write(MopKind::Read)
            },
            _ => return None,
        };
        Some(mop)
    }

    /// Ends the history: txns never completed take their invocation's
    /// micro-ops (outcome unknown); malformed txns are dropped; keys are
    /// numbered in order of first appearance in history order, so the
    /// result does not depend on the order txns completed in.
    pub fn finish(mut self) -> Txns {
        let mut open: Vec<Pending> = std::mem::take(&mut self.pending).into_open().collect();
        open.retain(|p| p.txn != NOT_TXN);
        open.sort_unstable_by_key(|p| p.txn);
        for p in open {
            self.add_pending_mops(p.txn, p.mops, p.index);
        }
        self.malformed.sort_by_key(|(txn, _)| *txn);
        self.t.malformed = self.malformed.into_iter().map(|(_, m)| m).collect();
        let mut t = self.t;
        if !self.dropped.is_empty() {
            drop_txns(&mut t, &mut self.dropped);
        }
        renumber_keys(&mut t);
        t
    }
}

/// Removes txns (their micro-ops were never stored) and renumbers the rest.
fn drop_txns(t: &mut Txns, dropped: &mut [u32]) {
    dropped.sort_unstable();
    let mut new_id = vec![NO_OP; t.txns.len()];
    let mut next = 0u32;
    let mut d = 0;
    for (i, id) in new_id.iter_mut().enumerate() {
        if d < dropped.len() && dropped[d] == i as u32 {
            d += 1;
        } else {
            *id = next;
            next += 1;
        }
    }
    let mut i = 0;
    t.txns.retain(|_| {
        i += 1;
        new_id[i - 1] != NO_OP
    });
    for x in &mut t.mop_txn {
        *x = new_id[*x as usize];
    }
}

/// Numbers keys in order of first appearance in history order (as if the
/// txns had been read in invocation order).
fn renumber_keys(t: &mut Txns) {
    let n = t.key_count();
    let mut new_id = vec![NO_OP; n];
    let mut next = 0u32;
    for x in &t.txns {
        for m in &t.mops[x.mops()] {
            if new_id[m.key as usize] == NO_OP {
                new_id[m.key as usize] = next;
                next += 1;
            }
        }
    }
    for id in new_id.iter_mut().filter(|id| **id == NO_OP) {
        *id = next;
        next += 1;
    }
    if new_id.iter().enumerate().all(|(i, &id)| id == i as u32) {
        return;
    }
    for m in &mut t.mops {
        m.key = new_id[m.key as usize];
    }
    t.names.keys.renumber(&new_id);
    let mut chains = vec![Vec::new(); n];
    for (k, c) in std::mem::take(&mut t.lists.chains).into_iter().enumerate() {
        chains[new_id[k] as usize] = c;
    }
    t.lists.chains = chains;
}

/// Collects every client call with `f = txn` (compared by text, so `:txn`
/// works too). Ok txns use the completion's value, info and unfinished txns
/// the invocation's (their reads are unknown), failed txns the invocation's.
pub fn collect(history: &history::History, lists: bool) -> Txns {
    let mut b = Builder::new(lists);
    for op in history.ops() {
        // A History already satisfies the protocol.
        let _ = b.push(op);
    }
    b.finish()
}
