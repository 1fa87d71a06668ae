//! rw-register: every key holds one value; txns write unique values and
//! read single values. A read tells who wrote what it saw (wr), but says
//! nothing about the order of versions, so rw and ww edges come only from
//! what can be known soundly:
//!
//! - nil is the initial version: a txn that read nil precedes every
//!   committed writer of the key (rw);
//! - with [`RwAssume::sequential_keys`]: each process observes a key's
//!   versions in order (consecutive versions seen by one process are
//!   ordered), and a txn's write follows what it read of the same key;
//! - with [`RwAssume::linearizable_keys`]: additionally, a version seen by a
//!   txn that completed before another was invoked precedes the versions
//!   that one saw (real time, via a per-key frontier).
//!
//! Each inferred "version a precedes version b" yields ww (writer of a ->
//! writer of b) and rw (readers of a -> writer of b) edges. Non-cycle
//! anomalies: G1a, G1b, garbage reads, internal inconsistency (a read not
//! showing the txn's own write, or a non-repeatable read), future reads,
//! lost update.

use super::anomalies::{show_elem, show_key, tname, Finding, Findings};
use super::graph::{Edge, RW, WR, WW};
use super::txns::{Elem, MopKind, Status, Txns, NIL};
use super::RwAssume;
use rustc_hash::{FxHashMap, FxHashSet};

pub struct RegInfo {
    /// (key, value) -> the write micro-op.
    pub writers: FxHashMap<(u32, Elem), u32>,
    /// Inferred version order facts: (key, a, b) means a precedes b.
    pub versions: FxHashSet<(u32, Elem, Elem)>,
    pub duplicate_writes: usize,
}

fn external(t: &Txns, mop: usize) -> bool {
    super::list_append::is_external(t, mop as u32)
}

/// The txn's last write to `key` after micro-op `mop`, if any.
fn later_write(t: &Txns, mop: u32) -> bool {
    let txn = &t.txns[t.mop_txn[mop as usize] as usize];
    let key = t.mops[mop as usize].key;
    t.mops[mop as usize + 1..txn.end as usize]
        .iter()
        .any(|m| m.key == key && m.kind == MopKind::Write)
}

pub fn analyze(
    t: &Txns,
    assume: &RwAssume,
    found: &mut Findings,
    edges: &mut Vec<Edge>,
) -> RegInfo {
    let mut info = RegInfo {
        writers: FxHashMap::default(),
        versions: FxHashSet::default(),
        duplicate_writes: 0,
    };
    for i in t.mop_ids() {
        let m = &t.mops[i as usize];
        if m.kind == MopKind::Write && info.writers.insert((m.key, m.val), i).is_some() {
            info.duplicate_writes += 1;
        }
    }
    let status = |txn: u32| t.txns[txn as usize].status;
    // Info txns count as committed once someone read their writes.
    let mut observed: Vec<bool> = t.txns.iter().map(|x| x.status == Status::Ok).collect();
    // External reads by (key, value).
    let mut readers: FxHashMap<(u32, Elem), Vec<u32>> = FxHashMap::default();
    for i in t.mop_ids() {
        let i = i as usize;
        let m = &t.mops[i];
        if m.kind != MopKind::Read || !m.known {
            continue;
        }
        let reader = t.mop_txn[i];
        if !external(t, i) {
            check_internal(t, found, i);
            continue;
        }
        readers.entry((m.key, m.val)).or_default().push(reader);
        if m.val == NIL {
            continue;
        }
        let Some(&w) = info.writers.get(&(m.key, m.val)) else {
            if found.want(t, "garbage-read", None, &[reader], Some(m.key)) {
                found.push(Finding {
                    kind: "garbage-read",
                    form: None,
                    txns: vec![reader],
                    key: Some(m.key),
                    value: Some(m.val),
                    explanation: format!(
                        "{} read {} = {}, but no txn ever wrote {} to {} (garbage-read).",
                        tname(t, reader),
                        show_key(&t.names, m.key),
                        show_elem(&t.names, m.val),
                        show_elem(&t.names, m.val),
                        show_key(&t.names, m.key)
                    ),
                });
            }
            continue;
        };
        let wt = t.mop_txn[w as usize];
        if wt == reader {
            if found.want(t, "future-read", None, &[reader], Some(m.key)) {
                found.push(Finding {
                    kind: "future-read",
                    form: None,
                    txns: vec![reader],
                    key: Some(m.key),
                    value: Some(m.val),
                    explanation: format!(
                        "{} read {} = {}, a value the txn itself writes only later: it read its own future write (future-read).",
                        tname(t, reader),
                        show_key(&t.names, m.key),
                        show_elem(&t.names, m.val)
                    ),
                });
            }
            continue;
        }
        if status(wt) == Status::Fail {
            if found.want(t, "G1a", None, &[reader, wt], Some(m.key)) {
                found.push(Finding {
                    kind: "G1a",
                    form: None,
                    txns: vec![reader, wt],
                    key: Some(m.key),
                    value: Some(m.val),
                    explanation: format!(
                        "{} read {} = {}, written by {}; but {} failed, so that write never happened: an aborted read (G1a).",
                        tname(t, reader), show_key(&t.names, m.key), show_elem(&t.names, m.val),
                        tname(t, wt), tname(t, wt)
                    ),
                });
            }
            continue;
        }
        observed[wt as usize] = true;
        edges.push(Edge {
            from: wt,
            to: reader,
            ty: WR,
        });
        if later_write(t, w) && found.want(t, "G1b", None, &[reader, wt], Some(m.key)) {
            found.push(Finding {
                kind: "G1b",
                form: None,
                txns: vec![reader, wt],
                key: Some(m.key),
                value: Some(m.val),
                explanation: format!(
                    "{} read {} = {}; but {} wrote {} and then overwrote it in the same txn, so {} never committed: an intermediate read (G1b).",
                    tname(t, reader), show_key(&t.names, m.key), show_elem(&t.names, m.val),
                    tname(t, wt), show_elem(&t.names, m.val), show_elem(&t.names, m.val)
                ),
            });
        }
    }
    let committed = |txn: u32| observed[txn as usize];

    // Lost update: two committed txns read the same version and both wrote the key.
    let mut rmw: Vec<(u32, Elem, u32)> = Vec::new();
    for i in t.mop_ids() {
        let i = i as usize;
        let m = &t.mops[i];
        let txn = t.mop_txn[i];
        if m.kind == MopKind::Read
            && m.known
            && status(txn) == Status::Ok
            && external(t, i)
            && later_write(t, i as u32)
        {
            rmw.push((m.key, m.val, txn));
        }
    }
    rmw.sort_unstable();
    rmw.dedup();
    for group in rmw.chunk_by(|a, b| a.0 == b.0 && a.1 == b.1) {
        let txns: Vec<u32> = group.iter().map(|g| g.2).collect();
        if group.len() > 1 && found.want(t, "lost-update", None, &txns, Some(group[0].0)) {
            let (k, v, _) = group[0];
            let names: Vec<String> = txns.iter().map(|&x| tname(t, x)).collect();
            found.push(Finding {
                kind: "lost-update",
                form: None,
                txns,
                key: Some(k),
                value: Some(v),
                explanation: format!(
                    "{} all read {} = {} and then wrote {}: whichever committed last overwrote the others' updates without seeing them (lost-update).",
                    names.join(" and "), show_key(&t.names, k), show_elem(&t.names, v), show_key(&t.names, k)
                ),
            });
        }
    }

    // rw from the initial version: nil readers precede every committed writer.
    let mut writers_by_key: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    for (&(k, _), &w) in &info.writers {
        let wt = t.mop_txn[w as usize];
        if committed(wt) {
            writers_by_key.entry(k).or_default().push(wt);
        }
    }
    for ((k, v), rs) in &readers {
        if *v != NIL {
            continue;
        }
        if let Some(ws) = writers_by_key.get(k) {
            for &r in rs {
                for &w in ws {
                    if w != r {
                        edges.push(Edge {
                            from: r,
                            to: w,
                            ty: RW,
                        });
                    }
                }
            }
        }
    }

    // Opt-in version orders.
    if assume.sequential_keys || assume.linearizable_keys {
        infer_versions(t, assume, &mut info.versions);
        cyclic_versions(t, &info, found);
    }
    for &(k, a, b) in &info.versions {
        let Some(&wb) = info.writers.get(&(k, b)) else {
            continue;
        };
        let wb = t.mop_txn[wb as usize];
        if !committed(wb) {
            continue;
        }
        if a == NIL {
            continue; // covered by the nil readers above
        }
        if let Some(&wa) = info.writers.get(&(k, a)) {
            let wa = t.mop_txn[wa as usize];
            if committed(wa) {
                edges.push(Edge {
                    from: wa,
                    to: wb,
                    ty: WW,
                });
            }
        }
        for &r in readers.get(&(k, a)).map_or(&[][..], |v| v) {
            edges.push(Edge {
                from: r,
                to: wb,
                ty: RW,
            });
        }
    }
    info
}

/// A read after the txn's own earlier micro-ops on the key must return the
/// last value it wrote or read there (else `internal`, form
/// `own-write-not-seen` or `non-repeatable-read`).
fn check_internal(t: &Txns, found: &mut Findings, r: usize) {
    let txn = t.mop_txn[r];
    let m = t.mops[r];
    let start = t.txns[txn as usize].start as usize;
    let Some(prev) = t.mops[start..r]
        .iter()
        .rev()
        .find(|x| x.key == m.key && (x.kind == MopKind::Write || x.known))
    else {
        return;
    };
    // The same two forms as list-append's: a read that does not show the
    // txn's own write, or a second read that differs from the first with no
    // write of the txn's own between (a non-repeatable read).
    let (did, form, what) = if prev.kind == MopKind::Write {
        ("wrote", "own-write-not-seen", "own write not seen")
    } else {
        ("read", "non-repeatable-read", "non-repeatable read")
    };
    if prev.val != m.val && found.want(t, "internal", Some(form), &[txn], Some(m.key)) {
        found.push(Finding {
            kind: "internal",
            form: Some(form),
            txns: vec![txn],
            key: Some(m.key),
            value: Some(m.val),
            explanation: format!(
                "{} {} {} = {} and then read {} = {}: the txn contradicts itself (internal: {what}).",
                tname(t, txn),
                did,
                show_key(&t.names, m.key),
                show_elem(&t.names, prev.val),
                show_key(&t.names, m.key),
                show_elem(&t.names, m.val)
            ),
        });
    }
}

/// The first and last version of each key a txn saw or made.
fn touched(t: &Txns, txn: u32) -> Vec<(u32, Elem, Elem)> {
    let mut out: Vec<(u32, Elem, Elem)> = Vec::new();
    for m in &t.mops[t.txns[txn as usize].mops()] {
        let v = match m.kind {
            MopKind::Write => m.val,
            MopKind::Read if m.known => m.val,
            _ => continue,
        };
        match out.iter_mut().find(|x| x.0 == m.key) {
            Some(x) => x.2 = v,
            None => out.push((m.key, v, v)),
        }
    }
    out
}

fn infer_versions(t: &Txns, assume: &RwAssume, versions: &mut FxHashSet<(u32, Elem, Elem)>) {
    let mut add = |k: u32, a: Elem, b: Elem| {
        if a != b && b != NIL {
            versions.insert((k, a, b));
        }
    };
    // Within a txn: its write follows what it read.
    for (i, txn) in t.txns.iter().enumerate() {
        if txn.status != Status::Ok {
            continue;
        }
        for (k, first, last) in touched(t, i as u32) {
            add(k, first, last);
        }
    }
    // Per process: consecutive versions of a key are ordered.
    let mut last: FxHashMap<(u64, u32), Elem> = FxHashMap::default();
    for (i, txn) in t.txns.iter().enumerate() {
        if txn.status != Status::Ok {
            continue;
        }
        for (k, first, fin) in touched(t, i as u32) {
            if let Some(prev) = last.insert((txn.process, k), fin) {
                add(k, prev, first);
            }
        }
    }
    if !assume.linearizable_keys {
        return;
    }
    // Real time, per key: versions seen by txns completed before an
    // invocation precede the versions that txn saw (frontier per key).
    let mut at: Vec<(u32, u32, bool)> = Vec::new();
    for (i, txn) in t.txns.iter().enumerate() {
        if let (Status::Ok, Some(c)) = (txn.status, txn.completion()) {
            at.push((txn.invoke, i as u32, false));
            at.push((c, i as u32, true));
        }
    }
    at.sort_unstable_by_key(|e| e.0);
    let mut frontier: FxHashMap<u32, Vec<(u32, Elem)>> = FxHashMap::default();
    let mut preds: FxHashMap<u32, Vec<(u32, u32)>> = FxHashMap::default();
    for (_, txn, done) in at {
        let mine = touched(t, txn);
        if !done {
            let mut seen = Vec::new();
            for &(k, first, _) in &mine {
                for &(p, v) in frontier.get(&k).map_or(&[][..], |f| f) {
                    add(k, v, first);
                    seen.push((k, p));
                }
            }
            preds.insert(txn, seen);
        } else {
            let seen = preds.remove(&txn).unwrap_or_default();
            for &(k, _, fin) in &mine {
                let f = frontier.entry(k).or_default();
                f.retain(|(p, _)| !seen.contains(&(k, *p)));
                f.push((txn, fin));
            }
        }
    }
}

/// The versions inferred for a key must be totally ordered: a cycle among
/// them (`cyclic-versions`, Elle's name) means the assumed key consistency
/// does not hold, and no model allows it. One cycle per key is reported.
fn cyclic_versions(t: &Txns, info: &RegInfo, found: &mut Findings) {
    let mut by_key: FxHashMap<u32, FxHashMap<Elem, Vec<Elem>>> = FxHashMap::default();
    for &(k, a, b) in &info.versions {
        by_key.entry(k).or_default().entry(a).or_default().push(b);
    }
    let mut keys: Vec<u32> = by_key.keys().copied().collect();
    keys.sort_unstable();
    for k in keys {
        let adj = &by_key[&k];
        let Some(cycle) = find_cycle(adj) else {
            continue;
        };
        let mut txns: Vec<u32> = Vec::new();
        for v in &cycle {
            if let Some(&w) = info.writers.get(&(k, *v)) {
                let wt = t.mop_txn[w as usize];
                if !txns.contains(&wt) {
                    txns.push(wt);
                }
            }
        }
        if !found.want(t, "cyclic-versions", None, &txns, Some(k)) {
            continue;
        }
        let shown: Vec<String> = cycle
            .iter()
            .chain(cycle.first())
            .map(|&v| show_elem(&t.names, v))
            .collect();
        found.push(Finding {
            kind: "cyclic-versions",
            form: None,
            txns,
            key: Some(k),
            value: cycle.first().copied(),
            explanation: format!(
                "The versions inferred for {} (from the assumed key consistency) form a cycle: {}; a key's versions must be totally ordered (cyclic-versions).",
                show_key(&t.names, k),
                shown.join(" < ")
            ),
        });
    }
}

/// A cycle in a version graph, if it has one (iterative depth-first
/// search, vertices visited in value order).
fn find_cycle(adj: &FxHashMap<Elem, Vec<Elem>>) -> Option<Vec<Elem>> {
    const ON_STACK: u8 = 1;
    const DONE: u8 = 2;
    let mut state: FxHashMap<Elem, u8> = FxHashMap::default();
    let mut starts: Vec<Elem> = adj.keys().copied().collect();
    starts.sort_unstable();
    for start in starts {
        if state.contains_key(&start) {
            continue;
        }
        let mut stack: Vec<(Elem, usize)> = vec![(start, 0)];
        state.insert(start, ON_STACK);
        while let Some(&(v, i)) = stack.last() {
            match adj.get(&v).and_then(|n| n.get(i)).copied() {
                Some(w) => {
                    if let Some(top) = stack.last_mut() {
                        top.1 += 1;
                    }
                    match state.get(&w) {
                        Some(&ON_STACK) => {
                            let from = stack.iter().position(|&(x, _)| x == w)?;
                            return Some(stack[from..].iter().map(|&(x, _)| x).collect());
                        }
                        Some(_) => {}
                        None => {
                            state.insert(w, ON_STACK);
                            stack.push((w, 0));
                        }
                    }
                }
                None => {
                    state.insert(v, DONE);
                    stack.pop();
                }
            }
        }
    }
    None
}
