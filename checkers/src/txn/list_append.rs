//! list-append: every key holds a list; txns append unique values and read
//! whole lists. A read reveals the order of every version before it, so
//! the longest read of a key gives its version order, and every other read
//! must be a prefix of it.
//!
//! From the version order we infer, per key:
//! - ww: the writer of each element precedes the writer of the next;
//! - wr: the writer of a read's last element precedes the reader;
//! - rw: a reader precedes the writer of the element right after what it
//!   read. Committed appends that no read ever shows must come after the
//!   longest read (appends are never lost), so readers of the longest
//!   version precede them (rw) and so does its last writer (ww). A txn
//!   counts as committed if it completed ok, or if it is an info txn some
//!   of whose appends a read shows (txns are atomic: then all of them
//!   happened).
//!
//! and the non-cycle anomalies: aborted reads (G1a), intermediate reads
//! (G1b), garbage reads, duplicate elements, incompatible orders, dirty
//! updates, internal inconsistencies, non-repeatable reads and future reads.

use super::anomalies::{show_elem, show_key, show_list_short, tname, Finding, Findings};
use super::graph::{Edge, NONE, RW, WR, WW};
use super::txns::{Elem, MopKind, Status, Txns};
use rustc_hash::FxHashMap;

/// Position of an element that no read of its key shows.
pub const UNOBSERVED: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
pub struct Writer {
    /// The append micro-op.
    pub mop: u32,
    /// Its position in the key's version order, or [`UNOBSERVED`].
    pub pos: u32,
}

/// What the explanations need to re-derive why an edge exists.
pub struct ListInfo {
    pub writers: FxHashMap<(u32, Elem), Writer>,
    /// Per key: the longest read (a micro-op), or NONE.
    pub longest: Vec<u32>,
    /// Per key: the reads that are not a prefix of the longest one.
    pub incompatible: rustc_hash::FxHashSet<u32>,
    /// Appends of a value already appended to the same key (the workload
    /// should make values unique per key; such appends are ignored).
    pub duplicate_appends: usize,
}

impl ListInfo {
    pub fn order_len(&self, t: &Txns, key: u32) -> u32 {
        match self.longest[key as usize] {
            NONE => 0,
            m => t.mops[m as usize].list.map_or(0, |l| l.len() as u32),
        }
    }
}

/// True if `mop` is the first micro-op of its txn on its key.
pub fn is_external(t: &Txns, mop: u32) -> bool {
    let txn = &t.txns[t.mop_txn[mop as usize] as usize];
    let key = t.mops[mop as usize].key;
    !t.mops[txn.start as usize..mop as usize]
        .iter()
        .any(|m| m.key == key)
}

/// True if the txn of append `mop` appends again to the same key later.
fn is_intermediate(t: &Txns, mop: u32) -> bool {
    let txn = &t.txns[t.mop_txn[mop as usize] as usize];
    let key = t.mops[mop as usize].key;
    t.mops[mop as usize + 1..txn.end as usize]
        .iter()
        .any(|m| m.key == key && m.kind == MopKind::Append)
}

pub fn analyze(t: &mut Txns, found: &mut Findings, edges: &mut Vec<Edge>) -> ListInfo {
    let nkeys = t.key_count();
    let mut info = ListInfo {
        writers: FxHashMap::default(),
        longest: vec![NONE; nkeys],
        incompatible: Default::default(),
        duplicate_appends: 0,
    };
    info.writers.reserve(t.mops.len() / 2);
    // Who appended what; the longest read of each key; reads by key.
    let mut read_count = vec![0u32; nkeys + 1];
    for (i, m) in t.mops.iter().enumerate() {
        match (m.kind, m.list) {
            (MopKind::Append, _) => {
                let w = Writer {
                    mop: i as u32,
                    pos: UNOBSERVED,
                };
                if info.writers.insert((m.key, m.val), w).is_some() {
                    info.duplicate_appends += 1;
                }
            }
            (MopKind::Read, Some(list)) => {
                read_count[m.key as usize + 1] += 1;
                let best = &mut info.longest[m.key as usize];
                if *best == NONE || t.mops[*best as usize].list.unwrap().len() < list.len() {
                    *best = i as u32;
                }
            }
            _ => {}
        }
    }
    if info.duplicate_appends > 0 {
        // Keep the first appender of a duplicated value, deterministically.
        for (i, m) in t.mops.iter().enumerate().rev() {
            if m.kind == MopKind::Append {
                info.writers.get_mut(&(m.key, m.val)).unwrap().mop = i as u32;
            }
        }
    }
    for k in 0..nkeys {
        read_count[k + 1] += read_count[k];
    }
    let mut fill = read_count.clone();
    let mut reads_by_key = vec![0u32; read_count[nkeys] as usize];
    for (i, m) in t.mops.iter().enumerate() {
        if m.kind == MopKind::Read && m.list.is_some() {
            reads_by_key[fill[m.key as usize] as usize] = i as u32;
            fill[m.key as usize] += 1;
        }
    }
    drop(fill);

    // Unobserved committed appends, by key (filled in below).
    let mut order: Vec<Elem> = Vec::new();
    let mut garbage: rustc_hash::FxHashSet<Elem> = Default::default();
    let mut unobserved: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    for k in 0..nkeys as u32 {
        let reads =
            &reads_by_key[read_count[k as usize] as usize..read_count[k as usize + 1] as usize];
        let longest = info.longest[k as usize];
        if longest == NONE {
            continue;
        }
        // The version order: positions of every element of the longest read.
        let list = t.mops[longest as usize].list.unwrap();
        order.clear();
        garbage.clear();
        let mut first_garbage = UNOBSERVED;
        let mut first_aborted = UNOBSERVED;
        for (pos, v) in list.iter().enumerate() {
            let e = t.names.elem(v);
            order.push(e);
            let dup = match info.writers.get_mut(&(k, e)) {
                None => {
                    first_garbage = first_garbage.min(pos as u32);
                    !garbage.insert(e)
                }
                Some(w) if w.pos != UNOBSERVED => true,
                Some(w) => {
                    w.pos = pos as u32;
                    let wt = t.mop_txn[w.mop as usize];
                    if t.txns[wt as usize].status == Status::Fail {
                        first_aborted = first_aborted.min(pos as u32);
                    }
                    false
                }
            };
            if dup {
                {
                    if found.want("duplicate-elements") {
                        let reader = t.mop_txn[longest as usize];
                        found.push(Finding {
                            kind: "duplicate-elements",
                            txns: vec![reader],
                            key: Some(k),
                            value: Some(e),
                            explanation: format!(
                                "{} read {} = {}, which contains {} twice; each value is appended once, so a read can hold it at most once (duplicate-elements).",
                                tname(t, reader), show_key(&t.names, k), show_list_short(list), v
                            ),
                        });
                    }
                }
            }
        }
        // A dirty update: a committed append lands after an aborted one.
        if first_aborted != UNOBSERVED {
            let aborted = t.mop_txn[info.writers[&(k, order[first_aborted as usize])].mop as usize];
            let later = order[first_aborted as usize + 1..].iter().find_map(|e| {
                let w = info.writers.get(&(k, *e))?;
                let wt = t.mop_txn[w.mop as usize];
                (wt != aborted && t.txns[wt as usize].status != Status::Fail).then_some((wt, *e))
            });
            if let Some((wt, e)) = later {
                if found.want("dirty-update") {
                    found.push(Finding {
                        kind: "dirty-update",
                        txns: vec![aborted, wt],
                        key: Some(k),
                        value: Some(e),
                        explanation: format!(
                            "{} appended {} to {} and failed (it never happened), yet {} appended {} after it: {} was built on an aborted write (dirty-update).",
                            tname(t, aborted),
                            show_elem(&t.names, order[first_aborted as usize]),
                            show_key(&t.names, k),
                            tname(t, wt),
                            show_elem(&t.names, e),
                            show_key(&t.names, k)
                        ),
                    });
                }
            }
        }
        // Every read: prefix of the order? aborted or garbage elements?
        for &r in reads {
            let rl = t.mops[r as usize].list.unwrap();
            let reader = t.mop_txn[r as usize];
            let compatible = rl.len() <= order.len()
                && (r == longest || rl.iter().zip(&order).all(|(v, &e)| t.names.elem(v) == e));
            if !compatible {
                info.incompatible.insert(r);
                if found.want("incompatible-order") {
                    let lt = t.mop_txn[longest as usize];
                    found.push(Finding {
                        kind: "incompatible-order",
                        txns: vec![reader, lt],
                        key: Some(k),
                        value: None,
                        explanation: format!(
                            "{} read {} = {} and {} read {} = {}: neither is a prefix of the other, so they cannot both be versions of one list (incompatible-order).",
                            tname(t, reader), show_key(&t.names, k), show_list_short(rl),
                            tname(t, lt), show_key(&t.names, k), show_list_short(list)
                        ),
                    });
                }
            }
            let (garbage, aborted) = if compatible {
                let g = (first_garbage as usize) < rl.len();
                let a = (first_aborted as usize) < rl.len();
                (
                    g.then(|| order[first_garbage as usize]),
                    a.then(|| order[first_aborted as usize]),
                )
            } else {
                let mut g = None;
                let mut a = None;
                for v in rl {
                    let e = t.names.elem(v);
                    match info.writers.get(&(k, e)) {
                        None => g = g.or(Some(e)),
                        Some(w)
                            if t.txns[t.mop_txn[w.mop as usize] as usize].status
                                == Status::Fail =>
                        {
                            a = a.or(Some(e))
                        }
                        _ => {}
                    }
                }
                (g, a)
            };
            if let Some(e) = garbage {
                if found.want("garbage-read") {
                    found.push(Finding {
                        kind: "garbage-read",
                        txns: vec![reader],
                        key: Some(k),
                        value: Some(e),
                        explanation: format!(
                            "{} read {} = {}, but no txn ever appended {} to {} (garbage-read).",
                            tname(t, reader),
                            show_key(&t.names, k),
                            show_list_short(rl),
                            show_elem(&t.names, e),
                            show_key(&t.names, k)
                        ),
                    });
                }
            }
            if let Some(e) = aborted {
                let w = t.mop_txn[info.writers[&(k, e)].mop as usize];
                if found.want("G1a") {
                    found.push(Finding {
                        kind: "G1a",
                        txns: vec![reader, w],
                        key: Some(k),
                        value: Some(e),
                        explanation: format!(
                            "{} read {} = {}, which includes {}, appended by {}; but {} failed, so its append never happened: an aborted read (G1a).",
                            tname(t, reader), show_key(&t.names, k), show_list_short(rl),
                            show_elem(&t.names, e), tname(t, w), tname(t, w)
                        ),
                    });
                }
            }
        }
        // ww edges between consecutive writers.
        let mut prev = NONE;
        for e in &order {
            let Some(w) = info.writers.get(&(k, *e)) else {
                continue;
            };
            let wt = t.mop_txn[w.mop as usize];
            if t.txns[wt as usize].status == Status::Fail {
                continue;
            }
            if prev != NONE && prev != wt {
                edges.push(Edge {
                    from: prev,
                    to: wt,
                    ty: WW,
                });
            }
            prev = wt;
        }
        // Remember the last writer: committed appends no read shows come
        // after it (see below).
        if prev != NONE {
            unobserved.insert(k, vec![prev]);
        }
    }
    // Which txns certainly committed: ok ones, and info ones some of whose
    // appends a read shows.
    let mut committed: Vec<bool> = t.txns.iter().map(|x| x.status == Status::Ok).collect();
    for w in info.writers.values() {
        if w.pos != UNOBSERVED {
            let txn = t.mop_txn[w.mop as usize] as usize;
            committed[txn] |= t.txns[txn].status == Status::Info;
        }
    }
    // Unobserved committed appends: after the last observed writer.
    for (i, m) in t.mops.iter().enumerate() {
        if m.kind != MopKind::Append {
            continue;
        }
        let txn = t.mop_txn[i];
        if !committed[txn as usize] {
            continue;
        }
        let w = info.writers[&(m.key, m.val)];
        if w.pos != UNOBSERVED || w.mop != i as u32 {
            continue;
        }
        let list = unobserved.entry(m.key).or_insert_with(|| vec![NONE]);
        if list.last() != Some(&txn) {
            if list[0] != NONE {
                edges.push(Edge {
                    from: list[0],
                    to: txn,
                    ty: WW,
                });
            }
            list.push(txn);
        }
    }

    // wr and rw edges from external reads; internal consistency of the rest.
    for k in 0..nkeys as u32 {
        let reads =
            &reads_by_key[read_count[k as usize] as usize..read_count[k as usize + 1] as usize];
        let longest = info.longest[k as usize];
        if longest == NONE {
            continue;
        }
        let order_list = t.mops[longest as usize].list.unwrap();
        for &r in reads {
            let reader = t.mop_txn[r as usize];
            if !is_external(t, r) {
                check_internal(t, found, r);
                continue;
            }
            let rl = t.mops[r as usize].list.unwrap();
            check_future_read(t, found, r);
            if let Some(last) = rl.last() {
                let e = t.names.elem(last);
                if let Some(w) = info.writers.get(&(k, e)).copied() {
                    let wt = t.mop_txn[w.mop as usize];
                    if t.txns[wt as usize].status != Status::Fail && wt != reader {
                        edges.push(Edge {
                            from: wt,
                            to: reader,
                            ty: WR,
                        });
                        if is_intermediate(t, w.mop) && found.want("G1b") {
                            found.push(Finding {
                                kind: "G1b",
                                txns: vec![reader, wt],
                                key: Some(k),
                                value: Some(e),
                                explanation: format!(
                                    "{} read {} = {}, ending in {}; but {} appended {} and then more to {} in the same txn, so {} saw a version {} never committed: an intermediate read (G1b).",
                                    tname(t, reader), show_key(&t.names, k), show_list_short(rl), last,
                                    tname(t, wt), last, show_key(&t.names, k), tname(t, reader), tname(t, wt)
                                ),
                            });
                        }
                    }
                }
            }
            if info.incompatible.contains(&r) {
                continue;
            }
            if rl.len() < order_list.len() {
                let next = t.names.elem(&order_list[rl.len()]);
                if let Some(w) = info.writers.get(&(k, next)) {
                    let wt = t.mop_txn[w.mop as usize];
                    if t.txns[wt as usize].status != Status::Fail {
                        edges.push(Edge {
                            from: reader,
                            to: wt,
                            ty: RW,
                        });
                    }
                }
            } else if let Some(list) = unobserved.get(&k) {
                for &wt in &list[1..] {
                    edges.push(Edge {
                        from: reader,
                        to: wt,
                        ty: RW,
                    });
                }
            }
        }
    }
    info
}

/// A txn's first read of a key cannot show what the txn appends to it
/// only later (`future-read`).
fn check_future_read(t: &mut Txns, found: &mut Findings, r: u32) {
    let reader = t.mop_txn[r as usize];
    let m = t.mops[r as usize];
    let end = t.txns[reader as usize].end as usize;
    let later: Vec<Elem> = t.mops[r as usize + 1..end]
        .iter()
        .filter(|x| x.key == m.key && x.kind == MopKind::Append)
        .map(|x| x.val)
        .collect();
    if later.is_empty() {
        return;
    }
    let rl = m.list.unwrap();
    let seen = rl.iter().find(|v| later.contains(&t.names.elem(v)));
    if let Some(v) = seen {
        if found.want("future-read") {
            found.push(Finding {
                kind: "future-read",
                txns: vec![reader],
                key: Some(m.key),
                value: Some(t.names.elem(v)),
                explanation: format!(
                    "{} read {} = {}, which includes {}, an element the txn itself appends only later: it read its own future write (future-read).",
                    tname(t, reader),
                    show_key(&t.names, m.key),
                    show_list_short(rl),
                    v
                ),
            });
        }
    }
}

/// A read that follows the txn's own earlier micro-ops on the key must end
/// with the txn's appends since its last read of the key (else `internal`:
/// it does not see its own writes); and if there was such a read, it must
/// be exactly that read plus those appends (else `non-repeatable-read`).
fn check_internal(t: &mut Txns, found: &mut Findings, r: u32) {
    let reader = t.mop_txn[r as usize];
    let txn = &t.txns[reader as usize];
    let m = t.mops[r as usize];
    let rl = m.list.unwrap();
    let before = &t.mops[txn.start as usize..r as usize];
    let last_read = before
        .iter()
        .rposition(|x| x.key == m.key && x.kind == MopKind::Read && x.list.is_some());
    let from = last_read.map_or(0, |i| i + 1);
    let appended: Vec<Elem> = before[from..]
        .iter()
        .filter(|x| x.key == m.key && x.kind == MopKind::Append)
        .map(|x| x.val)
        .collect();
    let got: Vec<Elem> = rl.iter().map(|v| t.names.elem(v)).collect();
    let show = |t: &Txns, es: &[Elem]| {
        let shown: Vec<String> = es.iter().map(|&e| show_elem(&t.names, e)).collect();
        format!("[{}]", shown.join(" "))
    };
    if !got.ends_with(&appended) {
        if found.want("internal") {
            found.push(Finding {
                kind: "internal",
                txns: vec![reader],
                key: Some(m.key),
                value: None,
                explanation: format!(
                    "{} appended {} to {} and then read {} = {}, which does not end with its own appends: the txn does not see its own writes (internal).",
                    tname(t, reader),
                    show(t, &appended),
                    show_key(&t.names, m.key),
                    show_key(&t.names, m.key),
                    show_list_short(rl)
                ),
            });
        }
        return;
    }
    let Some(i) = last_read else {
        return;
    };
    let prev = before[i].list.unwrap();
    let mut expected: Vec<Elem> = prev.iter().map(|v| t.names.elem(v)).collect();
    expected.extend_from_slice(&appended);
    if got != expected && found.want("non-repeatable-read") {
        found.push(Finding {
            kind: "non-repeatable-read",
            txns: vec![reader],
            key: Some(m.key),
            value: None,
            explanation: format!(
                "{} read {} = {}, then (after appending {}) read {} = {}, not {}: the key changed under the txn (non-repeatable-read).",
                tname(t, reader),
                show_key(&t.names, m.key),
                show_list_short(prev),
                show(t, &appended),
                show_key(&t.names, m.key),
                show_list_short(rl),
                show(t, &expected)
            ),
        });
    }
}
