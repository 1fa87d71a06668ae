//! Turning a history into compact transactions: interned keys and values,
//! micro-ops in one flat vector, reads borrowed from the history (never
//! copied).

use history::{History, OpType, Process, Value};
use rustc_hash::FxHashMap;

/// A value of a key, interned: small integers are stored inline (shifted
/// left, low bit 0); everything else gets an id (low bit 1).
pub type Elem = u64;

/// The initial (nil) state of a register.
pub const NIL: Elem = u64::MAX;

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

/// One micro-op. For writes and appends `val` is the value written; for
/// register reads `val` is the value read ([`NIL`] for nil); for list reads
/// the list is `list` (borrowed from the history).
#[derive(Clone, Copy, Debug)]
pub struct Mop<'h> {
    pub kind: MopKind,
    pub key: u32,
    pub val: Elem,
    /// List reads only: the elements read (`None` when unknown).
    pub list: Option<&'h [Value]>,
    /// Register reads: whether the value is known (only in ok txns).
    pub known: bool,
}

#[derive(Clone, Debug)]
pub struct Txn {
    /// The history index naming the txn ("T12"): its completion's, or its
    /// invocation's if it never completed.
    pub index: u64,
    /// Positions in the history.
    pub invoke: u32,
    pub completion: Option<u32>,
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

/// Everything the analyses need: txns, their micro-ops, interned names.
pub struct Txns<'h> {
    pub txns: Vec<Txn>,
    pub mops: Vec<Mop<'h>>,
    pub mop_txn: Vec<u32>,
    pub names: Names,
    /// Problems with the history itself (not anomalies): malformed micro-ops.
    pub malformed: Vec<String>,
}

impl<'h> Txns<'h> {
    pub fn key_count(&self) -> usize {
        self.names.keys.len()
    }
}

fn mop_name(v: &Value) -> Option<&str> {
    v.as_str()
}

/// Collects every client call with `f = txn` (compared by text, so `:txn`
/// works too). Ok txns use the completion's value, info and unfinished txns
/// the invocation's (their reads are unknown), failed txns the invocation's.
pub fn collect(history: &History, lists: bool) -> Txns<'_> {
    let ops = history.ops();
    let mut t = Txns {
        txns: Vec::new(),
        mops: Vec::new(),
        mop_txn: Vec::new(),
        names: Names::default(),
        malformed: Vec::new(),
    };
    let mut named: FxHashMap<String, u64> = FxHashMap::default();
    for call in history.calls() {
        let inv = &ops[call.invoke];
        if inv.f != "txn" {
            continue;
        }
        let comp = call.completion.map(|c| &ops[c]);
        let status = match comp.map(|c| c.kind) {
            Some(OpType::Ok) => Status::Ok,
            Some(OpType::Fail) => Status::Fail,
            _ => Status::Info,
        };
        let source = match (status, comp) {
            (Status::Ok, Some(c)) => c,
            _ => inv,
        };
        let index = comp.map_or(inv.index, |c| c.index);
        let process = match &inv.process {
            Process::Client(p) => *p,
            Process::Named(n) => {
                let next = u64::MAX - named.len() as u64;
                *named.entry(n.clone()).or_insert(next)
            }
        };
        let Some(list) = source.value.as_list() else {
            t.malformed.push(format!(
                "op {}: a txn's value must be a list of micro-ops, got {}",
                source.index, source.value
            ));
            continue;
        };
        let start = t.mops.len() as u32;
        let txn_id = t.txns.len() as u32;
        let mut ok = true;
        for m in list {
            match parse_mop(&mut t.names, m, status == Status::Ok, lists) {
                Some(mop) => {
                    t.mops.push(mop);
                    t.mop_txn.push(txn_id);
                }
                None => {
                    t.malformed.push(format!(
                        "op {}: cannot read micro-op {m}: expected [append k v], [r k v] or [w k v]",
                        source.index
                    ));
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            t.mops.truncate(start as usize);
            t.mop_txn.truncate(start as usize);
            continue;
        }
        t.txns.push(Txn {
            index,
            invoke: call.invoke as u32,
            completion: call.completion.map(|c| c as u32),
            status,
            process,
            start,
            end: t.mops.len() as u32,
        });
    }
    t
}

/// `lists`: reads return lists (list-append) rather than single values.
fn parse_mop<'h>(names: &mut Names, m: &'h Value, known: bool, lists: bool) -> Option<Mop<'h>> {
    let parts = m.as_list()?;
    if parts.len() != 3 {
        return None;
    }
    let key = names.keys.id(&parts[1]);
    let v = &parts[2];
    let mop = match mop_name(&parts[0])? {
        "append" => Mop {
            kind: MopKind::Append,
            key,
            val: names.elem(v),
            list: None,
            known: false,
        },
        "w" | "write" => Mop {
            kind: MopKind::Write,
            key,
            val: names.elem(v),
            list: None,
            known: false,
        },
        "r" | "read" if lists => {
            // A list read: nil in a completed txn is the empty list.
            let list = match v {
                _ if !known => None,
                Value::Nil => Some(&[][..]),
                other => Some(other.as_list()?),
            };
            Mop {
                kind: MopKind::Read,
                key,
                val: NIL,
                list,
                known,
            }
        }
        "r" | "read" => Mop {
            kind: MopKind::Read,
            key,
            val: if known { names.elem(v) } else { NIL },
            list: None,
            known,
        },
        _ => return None,
    };
    Some(mop)
}
