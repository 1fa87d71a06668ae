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
//! updates, lost updates, internal inconsistencies (Elle's `internal`: own
//! writes not seen, non-repeatable reads) and future reads (also inside a
//! txn, after its first read of the key).

use super::anomalies::{show_elem, show_elems_short, show_key, tname, Finding, Findings};
use super::graph::{Edge, NONE, RW, WR, WW};
use super::txns::{Elem, Lists, MopKind, Status, Txns};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::hash_map::Entry;

/// Position of an element that no read of its key shows.
pub const UNOBSERVED: u32 = u32::MAX;
/// An append of a value the key already got from an earlier micro-op: the
/// workload promises unique values, so such appends are ignored.
pub const DUPLICATE: u32 = u32::MAX - 1;

#[derive(Clone, Copy, Debug)]
pub struct Writer {
    /// The append micro-op.
    pub mop: u32,
    /// Its position in the key's version order, or [`UNOBSERVED`].
    pub pos: u32,
}

/// What the explanations need to re-derive why an edge exists.
pub struct ListInfo {
    /// Per micro-op (appends only): its position in its key's version
    /// order, [`UNOBSERVED`] or [`DUPLICATE`].
    pub mop_pos: Vec<u32>,
    /// Append micro-ops by key: `appends[append_start[k]..append_start[k + 1]]`.
    append_start: Vec<u32>,
    appends: Vec<u32>,
    /// Per key: the longest read (a micro-op), or NONE.
    pub longest: Vec<u32>,
    /// The reads that are not a prefix of their key's longest read.
    pub incompatible: FxHashSet<u32>,
    pub duplicate_appends: usize,
}

impl ListInfo {
    pub fn order_len(&self, t: &Txns, key: u32) -> u32 {
        match self.longest[key as usize] {
            NONE => 0,
            m => t.mops[m as usize].len,
        }
    }

    fn appends_of(&self, key: u32) -> &[u32] {
        &self.appends
            [self.append_start[key as usize] as usize..self.append_start[key as usize + 1] as usize]
    }

    /// Who appended `e` to `key` (a linear scan of the key's appends: for
    /// explanations and rare cases, not hot paths).
    pub fn writer(&self, t: &Txns, key: u32, e: Elem) -> Option<Writer> {
        self.appends_of(key)
            .iter()
            .find(|&&m| t.mops[m as usize].val == e && self.mop_pos[m as usize] != DUPLICATE)
            .map(|&m| Writer {
                mop: m,
                pos: self.mop_pos[m as usize],
            })
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

/// True if the txn of `mop` appends to its key after it (for an append:
/// the appended version is intermediate).
fn is_intermediate(t: &Txns, mop: u32) -> bool {
    let txn = &t.txns[t.mop_txn[mop as usize] as usize];
    let key = t.mops[mop as usize].key;
    t.mops[mop as usize + 1..txn.end as usize]
        .iter()
        .any(|m| m.key == key && m.kind == MopKind::Append)
}

/// Micro-ops grouped by key (counting sort): `(start, items)` with the
/// micro-ops of key k at `items[start[k]..start[k + 1]]`, in history order.
fn group_by_key(t: &Txns, want: impl Fn(&super::txns::Mop) -> bool) -> (Vec<u32>, Vec<u32>) {
    let nkeys = t.key_count();
    let mut start = vec![0u32; nkeys + 1];
    for m in t.mops.iter().filter(|m| want(m)) {
        start[m.key as usize + 1] += 1;
    }
    for k in 0..nkeys {
        start[k + 1] += start[k];
    }
    let mut fill = start.clone();
    let mut items = vec![0u32; start[nkeys] as usize];
    for i in t.mop_ids() {
        let m = &t.mops[i as usize];
        if want(m) {
            items[fill[m.key as usize] as usize] = i;
            fill[m.key as usize] += 1;
        }
    }
    (start, items)
}

fn range(start: &[u32], k: u32) -> std::ops::Range<usize> {
    start[k as usize] as usize..start[k as usize + 1] as usize
}

/// Infers the version orders, the dependency edges and the non-cycle
/// anomalies. Works key by key, so each key's appends, reads and version
/// order stay in cache.
pub fn analyze(t: &Txns, found: &mut Findings, edges: &mut Vec<Edge>) -> ListInfo {
    let nkeys = t.key_count();
    let (append_start, appends) = group_by_key(t, |m| m.kind == MopKind::Append);
    let (read_start, reads) = group_by_key(t, |m| m.kind == MopKind::Read && m.known);
    let mut info = ListInfo {
        mop_pos: vec![UNOBSERVED; t.mops.len()],
        append_start,
        appends,
        longest: vec![NONE; nkeys],
        incompatible: FxHashSet::default(),
        duplicate_appends: 0,
    };
    // Per key, the append micro-op at each position of the version order
    // (NONE for elements nobody appended).
    let mut order_start = vec![0u32; nkeys + 1];
    let mut order_mop: Vec<u32> = Vec::new();
    let mut local: FxHashMap<Elem, u32> = FxHashMap::default();
    let mut garbage: FxHashSet<Elem> = FxHashSet::default();
    let mut order: Vec<Elem> = Vec::new();

    // Pass 1, per key: who appended what; the version order; checks of
    // every read against it.
    for k in 0..nkeys as u32 {
        local.clear();
        for &a in &info.appends[range(&info.append_start, k)] {
            let e = t.mops[a as usize].val;
            match local.entry(e) {
                Entry::Occupied(_) => {
                    info.mop_pos[a as usize] = DUPLICATE;
                    info.duplicate_appends += 1;
                }
                Entry::Vacant(slot) => {
                    slot.insert(a);
                }
            }
        }
        let key_reads = &reads[range(&read_start, k)];
        // The first of the longest reads, in history order.
        let longest = key_reads
            .iter()
            .enumerate()
            .max_by_key(|&(i, &r)| (t.mops[r as usize].len, std::cmp::Reverse(i)))
            .map(|(_, &r)| r);
        order_start[k as usize + 1] = order_start[k as usize];
        let Some(longest) = longest else {
            continue;
        };
        info.longest[k as usize] = longest;
        let list = t.list(&t.mops[longest as usize]);
        order.clear();
        garbage.clear();
        let first = order_mop.len();
        let mut first_garbage = UNOBSERVED;
        let mut first_aborted = UNOBSERVED;
        for (pos, &e) in list.iter().enumerate() {
            order.push(e);
            let dup = match local.get(&e) {
                None => {
                    first_garbage = first_garbage.min(pos as u32);
                    order_mop.push(NONE);
                    !garbage.insert(e)
                }
                Some(&w) if info.mop_pos[w as usize] != UNOBSERVED => {
                    order_mop.push(NONE);
                    true
                }
                Some(&w) => {
                    info.mop_pos[w as usize] = pos as u32;
                    order_mop.push(w);
                    if t.txns[t.mop_txn[w as usize] as usize].status == Status::Fail {
                        first_aborted = first_aborted.min(pos as u32);
                    }
                    false
                }
            };
            if dup
                && found.want(
                    t,
                    "duplicate-elements",
                    None,
                    &[t.mop_txn[longest as usize]],
                    Some(k),
                )
            {
                let reader = t.mop_txn[longest as usize];
                found.push(Finding {
                    kind: "duplicate-elements",
                    form: None,
                    txns: vec![reader],
                    key: Some(k),
                    value: Some(e),
                    explanation: format!(
                        "{} read {} = {}, which contains {} twice; each value is appended once, so a read can hold it at most once (duplicate-elements).",
                        tname(t, reader), show_key(&t.names, k), show_elems_short(&t.names, list), show_elem(&t.names, e)
                    ),
                });
            }
        }
        order_start[k as usize + 1] = order_mop.len() as u32;
        let omops = &order_mop[first..];
        if first_aborted != UNOBSERVED {
            dirty_update(t, found, k, omops, first_aborted as usize);
        }
        for &r in key_reads {
            check_read(
                t,
                found,
                &mut info,
                &local,
                k,
                r,
                longest,
                &order,
                first_garbage,
                first_aborted,
            );
        }
        // ww edges between the writers of consecutive elements.
        let mut prev = NONE;
        for &w in omops {
            if w == NONE {
                continue;
            }
            let wt = t.mop_txn[w as usize];
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
    }

    // Which txns certainly committed: ok ones, and info ones some of whose
    // appends a read shows (txns are atomic).
    let mut committed: Vec<bool> = t.txns.iter().map(|x| x.status == Status::Ok).collect();
    for &a in &info.appends {
        if info.mop_pos[a as usize] < DUPLICATE {
            let txn = t.mop_txn[a as usize] as usize;
            committed[txn] |= t.txns[txn].status == Status::Info;
        }
    }

    // Pass 2, per key: committed appends no read shows come after the whole
    // order (ww from its last writer, rw from readers of the longest
    // version); wr and rw edges from every external read.
    let mut unseen: Vec<u32> = Vec::new();
    let mut rmw: Vec<(u32, u32, u32)> = Vec::new();
    for k in 0..nkeys as u32 {
        let omops = &order_mop[range(&order_start, k)];
        let last_writer = omops
            .iter()
            .rev()
            .map(|&w| {
                if w == NONE {
                    NONE
                } else {
                    t.mop_txn[w as usize]
                }
            })
            .find(|&wt| wt != NONE && t.txns[wt as usize].status != Status::Fail)
            .unwrap_or(NONE);
        unseen.clear();
        for &a in &info.appends[range(&info.append_start, k)] {
            let txn = t.mop_txn[a as usize];
            if info.mop_pos[a as usize] == UNOBSERVED
                && committed[txn as usize]
                && unseen.last() != Some(&txn)
            {
                if last_writer != NONE {
                    edges.push(Edge {
                        from: last_writer,
                        to: txn,
                        ty: WW,
                    });
                }
                unseen.push(txn);
            }
        }
        rmw.clear();
        for &r in &reads[range(&read_start, k)] {
            let reader = t.mop_txn[r as usize];
            if !is_external(t, r) {
                // A later read can show the txn's own later append too.
                check_future_read(t, found, r);
                check_internal(t, found, r);
                continue;
            }
            check_future_read(t, found, r);
            let rl = t.list(&t.mops[r as usize]);
            let compatible = !info.incompatible.contains(&r);
            if compatible && t.txns[reader as usize].status == Status::Ok && is_intermediate(t, r) {
                rmw.push((rl.len() as u32, reader, r));
            }
            // wr: the writer of the last element read precedes the reader.
            if let Some(&last) = rl.last() {
                let w = if compatible {
                    Some(omops[rl.len() - 1]).filter(|&w| w != NONE)
                } else {
                    info.writer(t, k, last).map(|w| w.mop)
                };
                if let Some(w) = w {
                    let wt = t.mop_txn[w as usize];
                    if t.txns[wt as usize].status != Status::Fail && wt != reader {
                        edges.push(Edge {
                            from: wt,
                            to: reader,
                            ty: WR,
                        });
                        if is_intermediate(t, w) {
                            intermediate_read(t, found, k, reader, wt, rl, last);
                        }
                    }
                }
            }
            if !compatible {
                continue;
            }
            // rw: the reader precedes whoever appended the next element.
            if rl.len() < omops.len() {
                let w = omops[rl.len()];
                if w != NONE {
                    let wt = t.mop_txn[w as usize];
                    if t.txns[wt as usize].status != Status::Fail {
                        edges.push(Edge {
                            from: reader,
                            to: wt,
                            ty: RW,
                        });
                    }
                }
            } else {
                for &wt in &unseen {
                    edges.push(Edge {
                        from: reader,
                        to: wt,
                        ty: RW,
                    });
                }
            }
        }
        lost_updates(t, found, k, &mut rmw);
    }
    info
}

/// Two committed txns that read the same version of key `k` (reads of one
/// length, all prefixes of one order) and both append to it afterwards:
/// each updated the key without seeing the other's update
/// (`lost-update`). `rmw` holds (length read, txn, read) per such read.
fn lost_updates(t: &Txns, found: &mut Findings, k: u32, rmw: &mut [(u32, u32, u32)]) {
    rmw.sort_unstable();
    for group in rmw.chunk_by(|a, b| a.0 == b.0) {
        let mut txns: Vec<u32> = group.iter().map(|g| g.1).collect();
        txns.dedup();
        if txns.len() < 2 || !found.want(t, "lost-update", None, &txns, Some(k)) {
            continue;
        }
        let names: Vec<String> = txns.iter().map(|&x| tname(t, x)).collect();
        let read = show_elems_short(&t.names, t.list(&t.mops[group[0].2 as usize]));
        found.push(Finding {
            kind: "lost-update",
            form: None,
            txns,
            key: Some(k),
            value: None,
            explanation: format!(
                "{} all read {} = {} and then appended to {}: each updated the version the others updated, without seeing their updates (lost-update).",
                names.join(" and "),
                show_key(&t.names, k),
                read,
                show_key(&t.names, k)
            ),
        });
    }
}

/// A committed append lands after an aborted one.
fn dirty_update(t: &Txns, found: &mut Findings, k: u32, omops: &[u32], first_aborted: usize) {
    let aborted_mop = omops[first_aborted];
    let aborted = t.mop_txn[aborted_mop as usize];
    let later = omops[first_aborted + 1..].iter().find_map(|&w| {
        let wt = t.mop_txn.get(w as usize).copied()?;
        (wt != aborted && t.txns[wt as usize].status != Status::Fail).then_some((wt, w))
    });
    if let Some((wt, w)) = later {
        if found.want(t, "dirty-update", None, &[aborted, wt], Some(k)) {
            let e = t.mops[w as usize].val;
            found.push(Finding {
                kind: "dirty-update",
                form: None,
                txns: vec![aborted, wt],
                key: Some(k),
                value: Some(e),
                explanation: format!(
                    "{} appended {} to {} and failed (it never happened), yet {} appended {} after it: {} was built on an aborted write (dirty-update).",
                    tname(t, aborted),
                    show_elem(&t.names, t.mops[aborted_mop as usize].val),
                    show_key(&t.names, k),
                    tname(t, wt),
                    show_elem(&t.names, e),
                    show_key(&t.names, k)
                ),
            });
        }
    }
}

/// Checks one read of key `k` against the version order (the elements of
/// the longest read): prefix or incompatible, garbage, aborted elements.
#[allow(clippy::too_many_arguments)]
fn check_read(
    t: &Txns,
    found: &mut Findings,
    info: &mut ListInfo,
    local: &FxHashMap<Elem, u32>,
    k: u32,
    r: u32,
    longest: u32,
    order: &[Elem],
    first_garbage: u32,
    first_aborted: u32,
) {
    let m = &t.mops[r as usize];
    let rl = t.list(m);
    let reader = t.mop_txn[r as usize];
    // Reads stored in their key's chain are prefixes of one another.
    let compatible = rl.len() <= order.len()
        && (r == longest
            || Lists::same_chain(m, &t.mops[longest as usize])
            || rl.iter().zip(order).all(|(a, b)| a == b));
    if !compatible {
        info.incompatible.insert(r);
        if found.want(
            t,
            "incompatible-order",
            None,
            &[reader, t.mop_txn[longest as usize]],
            Some(k),
        ) {
            let lt = t.mop_txn[longest as usize];
            let list = t.list(&t.mops[longest as usize]);
            found.push(Finding {
                kind: "incompatible-order",
                form: None,
                txns: vec![reader, lt],
                key: Some(k),
                value: None,
                explanation: format!(
                    "{} read {} = {} and {} read {} = {}: neither is a prefix of the other, so they cannot both be versions of one list (incompatible-order).",
                    tname(t, reader), show_key(&t.names, k), show_elems_short(&t.names, rl),
                    tname(t, lt), show_key(&t.names, k), show_elems_short(&t.names, list)
                ),
            });
        }
    }
    let (garbage, aborted) = if compatible {
        (
            ((first_garbage as usize) < rl.len()).then(|| order[first_garbage as usize]),
            ((first_aborted as usize) < rl.len()).then(|| order[first_aborted as usize]),
        )
    } else {
        let (mut g, mut a) = (None, None);
        for &e in rl {
            match local.get(&e) {
                None => g = g.or(Some(e)),
                Some(&w) if t.txns[t.mop_txn[w as usize] as usize].status == Status::Fail => {
                    a = a.or(Some(e))
                }
                _ => {}
            }
        }
        (g, a)
    };
    if let Some(e) = garbage {
        if found.want(t, "garbage-read", None, &[reader], Some(k)) {
            found.push(Finding {
                kind: "garbage-read",
                form: None,
                txns: vec![reader],
                key: Some(k),
                value: Some(e),
                explanation: format!(
                    "{} read {} = {}, but no txn ever appended {} to {} (garbage-read).",
                    tname(t, reader),
                    show_key(&t.names, k),
                    show_elems_short(&t.names, rl),
                    show_elem(&t.names, e),
                    show_key(&t.names, k)
                ),
            });
        }
    }
    if let Some(e) = aborted {
        let w = t.mop_txn[local[&e] as usize];
        if found.want(t, "G1a", None, &[reader, w], Some(k)) {
            found.push(Finding {
                kind: "G1a",
                form: None,
                txns: vec![reader, w],
                key: Some(k),
                value: Some(e),
                explanation: format!(
                    "{} read {} = {}, which includes {}, appended by {}; but {} failed, so its append never happened: an aborted read (G1a).",
                    tname(t, reader), show_key(&t.names, k), show_elems_short(&t.names, rl),
                    show_elem(&t.names, e), tname(t, w), tname(t, w)
                ),
            });
        }
    }
}

fn intermediate_read(
    t: &Txns,
    found: &mut Findings,
    k: u32,
    reader: u32,
    wt: u32,
    rl: &[Elem],
    last: Elem,
) {
    if found.want(t, "G1b", None, &[reader, wt], Some(k)) {
        let shown = show_elem(&t.names, last);
        found.push(Finding {
            kind: "G1b",
            form: None,
            txns: vec![reader, wt],
            key: Some(k),
            value: Some(last),
            explanation: format!(
                "{} read {} = {}, ending in {}; but {} appended {} and then more to {} in the same txn, so {} saw a version {} never committed: an intermediate read (G1b).",
                tname(t, reader), show_key(&t.names, k), show_elems_short(&t.names, rl), shown,
                tname(t, wt), shown, show_key(&t.names, k), tname(t, reader), tname(t, wt)
            ),
        });
    }
}

/// A txn's first read of a key cannot show what the txn appends to it
/// only later (`future-read`).
fn check_future_read(t: &Txns, found: &mut Findings, r: u32) {
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
    let rl = t.list(&m);
    let seen = rl.iter().find(|e| later.contains(e));
    if let Some(&e) = seen {
        if found.want(t, "future-read", None, &[reader], Some(m.key)) {
            found.push(Finding {
                kind: "future-read",
                form: None,
                txns: vec![reader],
                key: Some(m.key),
                value: Some(e),
                explanation: format!(
                    "{} read {} = {}, which includes {}, an element the txn itself appends only later: it read its own future write (future-read).",
                    tname(t, reader),
                    show_key(&t.names, m.key),
                    show_elems_short(&t.names, rl),
                    show_elem(&t.names, e)
                ),
            });
        }
    }
}

/// A read that follows the txn's own earlier micro-ops on the key must end
/// with the txn's appends since its last read of the key (else `internal`,
/// form `own-write-not-seen`); and if there was such a read, it must be
/// exactly that read plus those appends (else `internal`, form
/// `non-repeatable-read`: the key changed under the txn). Elle names both
/// `internal`, and so do we, with the same ruled-out models.
fn check_internal(t: &Txns, found: &mut Findings, r: u32) {
    let reader = t.mop_txn[r as usize];
    let txn = &t.txns[reader as usize];
    let m = t.mops[r as usize];
    let rl = t.list(&m);
    let before = &t.mops[txn.start as usize..r as usize];
    let last_read = before
        .iter()
        .rposition(|x| x.key == m.key && x.kind == MopKind::Read && x.known);
    let from = last_read.map_or(0, |i| i + 1);
    let appended: Vec<Elem> = before[from..]
        .iter()
        .filter(|x| x.key == m.key && x.kind == MopKind::Append)
        .map(|x| x.val)
        .collect();
    let got: Vec<Elem> = rl.to_vec();
    let show = |t: &Txns, es: &[Elem]| {
        let shown: Vec<String> = es.iter().map(|&e| show_elem(&t.names, e)).collect();
        format!("[{}]", shown.join(" "))
    };
    if !got.ends_with(&appended) {
        if found.want(
            t,
            "internal",
            Some("own-write-not-seen"),
            &[reader],
            Some(m.key),
        ) {
            found.push(Finding {
                kind: "internal",
                form: Some("own-write-not-seen"),
                txns: vec![reader],
                key: Some(m.key),
                value: None,
                explanation: format!(
                    "{} appended {} to {} and then read {} = {}, which does not end with its own appends: the txn does not see its own writes (internal: own write not seen).",
                    tname(t, reader),
                    show(t, &appended),
                    show_key(&t.names, m.key),
                    show_key(&t.names, m.key),
                    show_elems_short(&t.names, rl)
                ),
            });
        }
        return;
    }
    let Some(i) = last_read else {
        return;
    };
    let prev = t.list(&before[i]);
    let mut expected: Vec<Elem> = prev.to_vec();
    expected.extend_from_slice(&appended);
    if got != expected
        && found.want(
            t,
            "internal",
            Some("non-repeatable-read"),
            &[reader],
            Some(m.key),
        )
    {
        found.push(Finding {
            kind: "internal",
            form: Some("non-repeatable-read"),
            txns: vec![reader],
            key: Some(m.key),
            value: None,
            explanation: if appended.is_empty() {
                format!(
                    "{} read {} = {}, then read {} = {}: the key changed under the txn (internal: non-repeatable read).",
                    tname(t, reader),
                    show_key(&t.names, m.key),
                    show_elems_short(&t.names, prev),
                    show_key(&t.names, m.key),
                    show_elems_short(&t.names, rl),
                )
            } else {
                format!(
                    "{} read {} = {}, then (after appending {}) read {} = {}, not {}: the key changed under the txn (internal: non-repeatable read).",
                    tname(t, reader),
                    show_key(&t.names, m.key),
                    show_elems_short(&t.names, prev),
                    show(t, &appended),
                    show_key(&t.names, m.key),
                    show_elems_short(&t.names, rl),
                    show(t, &expected)
                )
            },
        });
    }
}
