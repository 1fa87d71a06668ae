//! Searching a strongly connected component for the shortest cycle of each
//! anomaly class.
//!
//! Each class is a small automaton over edge types (how many rw edges so
//! far, whether the last one was rw, ...). A breadth-first search over
//! (vertex, automaton state) pairs from a start vertex finds the shortest
//! cycle through that vertex whose edge types the automaton accepts. Every
//! cycle of a class contains an edge of the type the class needs (a wr for
//! G1c, an rw for G-single and G2), so only the targets of such edges are
//! tried as starts. Each search has a budget of edge visits; when it runs
//! out the caller learns the search was incomplete.

use super::graph::{Graph, LocalMap, NONE, PROCESS, REALTIME, RW, WR, WW};

/// The cycle classes searched for, weakest anomaly last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Only ww edges.
    G0,
    /// ww and wr edges, at least one wr.
    G1c,
    /// Exactly one rw edge.
    GSingle,
    /// At least two rw edges, no two adjacent (cyclically).
    GNonadjacent,
    /// At least two rw edges, anyhow placed.
    G2Item,
    /// Any cycle at all (the fallback when budgets run out).
    Any,
}

const START: u8 = 12;

impl Class {
    pub const SEARCHED: [Class; 5] = [
        Class::G0,
        Class::G1c,
        Class::GSingle,
        Class::GNonadjacent,
        Class::G2Item,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::G0 => "G0",
            Class::G1c => "G1c",
            Class::GSingle => "G-single",
            Class::GNonadjacent => "G-nonadjacent",
            Class::G2Item => "G2-item",
            Class::Any => "cycle",
        }
    }

    /// The data edge types a cycle of this class may use.
    pub fn data_types(self) -> u8 {
        match self {
            Class::G0 => WW,
            Class::G1c => WW | WR,
            _ => WW | WR | RW,
        }
    }

    /// An edge type every cycle of the class contains (0: none required).
    fn needs(self) -> u8 {
        match self {
            Class::G1c => WR,
            Class::GSingle | Class::GNonadjacent | Class::G2Item => RW,
            Class::G0 | Class::Any => 0,
        }
    }

    fn states(self) -> usize {
        match self {
            Class::G0 | Class::Any => 1,
            Class::G1c | Class::GSingle => 2,
            Class::G2Item => 3,
            Class::GNonadjacent => 13,
        }
    }

    fn start(self) -> u8 {
        match self {
            Class::GNonadjacent => START,
            _ => 0,
        }
    }

    /// The automaton's transition on an edge of type `t`, or `None` if the
    /// class forbids it here.
    #[inline]
    fn step(self, s: u8, t: u8) -> Option<u8> {
        let rw = t == RW;
        match self {
            Class::G0 | Class::Any => Some(0),
            Class::G1c => Some(if t == WR { 1 } else { s }),
            Class::GSingle => match (rw, s) {
                (true, 0) => Some(1),
                (true, _) => None,
                (false, s) => Some(s),
            },
            Class::G2Item => Some(if rw { (s + 1).min(2) } else { s }),
            // state = rw count (0..=2) * 4 + first edge was rw * 2 + last edge was rw
            Class::GNonadjacent => {
                if s == START {
                    return Some(if rw { 4 + 2 + 1 } else { 0 });
                }
                let (count, first, last) = (s / 4, s & 2, s & 1);
                if rw {
                    (last == 0).then(|| (count + 1).min(2) * 4 + first + 1)
                } else {
                    Some(count * 4 + first)
                }
            }
        }
    }

    #[inline]
    fn accepts(self, s: u8) -> bool {
        match self {
            Class::G0 | Class::Any => true,
            Class::G1c | Class::GSingle => s == 1,
            Class::G2Item => s == 2,
            Class::GNonadjacent => s != START && s / 4 == 2 && (s & 3) != 3,
        }
    }

    /// No cycle of the class is shorter than this.
    fn min_len(self) -> usize {
        match self {
            Class::GNonadjacent => 4,
            _ => 2,
        }
    }
}

/// A cycle: `(from, to, type)` edges, `to` of each the `from` of the next.
pub type Cycle = Vec<(u32, u32, u8)>;

/// The length of a cycle in txns (time points do not count).
pub fn weight(c: &Cycle, txns: u32) -> usize {
    c.iter().filter(|e| e.1 < txns).count()
}

pub struct Search<'g> {
    g: &'g Graph,
    map: LocalMap,
    stamp: Vec<u32>,
    parent: Vec<u32>,
    ptype: Vec<u8>,
    dist: Vec<u32>,
    epoch: u32,
    queue: std::collections::VecDeque<u32>,
    /// Vertices from here on are time points, not txns.
    txns: u32,
}

pub struct Found {
    pub cycle: Option<Cycle>,
    /// Some start could not be fully searched within its share of the
    /// budget, or the budget ran out before every start was tried.
    pub exhausted: bool,
}

impl<'g> Search<'g> {
    /// `txns`: the number of txn vertices (the rest are time points).
    pub fn new(g: &'g Graph, txns: usize) -> Search<'g> {
        Search {
            g,
            map: LocalMap::new(g.vertex_count()),
            stamp: Vec::new(),
            parent: Vec::new(),
            ptype: Vec::new(),
            dist: Vec::new(),
            epoch: 0,
            queue: Default::default(),
            txns: txns as u32,
        }
    }

    pub fn map(&mut self) -> &mut LocalMap {
        &mut self.map
    }

    /// The shortest cycle of `class` within `members` (which must be the
    /// current contents of the local map), using data edges of the class
    /// plus the `extra` order edges. Tries starts until the budget runs out.
    pub fn shortest(
        &mut self,
        members: &[u32],
        class: Class,
        extra: u8,
        budget: &mut u64,
    ) -> Found {
        let allowed = class.data_types() | extra;
        let needs = class.needs();
        let states = class.states();
        let size = members.len() * states;
        if self.stamp.len() < size {
            self.stamp.resize(size, 0);
            self.parent.resize(size, NONE);
            self.ptype.resize(size, 0);
            self.dist.resize(size, 0);
        }
        // Starts: targets of an edge of the needed type inside the members.
        let mut is_start = vec![needs == 0; members.len()];
        if needs != 0 {
            for &v in members {
                for (w, mask) in self.g.out(v) {
                    let lw = self.map.get(w);
                    if lw != NONE && mask & needs != 0 {
                        is_start[lw as usize] = true;
                    }
                }
            }
        }
        // Each start gets at most a share of the budget, so one search
        // that wanders through a huge component cannot starve the others.
        let share = (*budget / 16).max(10_000);
        let mut truncated = false;
        let mut best: Option<Cycle> = None;
        for (s, _) in is_start.iter().enumerate().filter(|(_, &b)| b) {
            if *budget == 0 {
                return Found {
                    exhausted: true,
                    cycle: best,
                };
            }
            let mut mine = share.min(*budget);
            let before = mine;
            let found = self.bfs(members, s as u32, class, allowed, &mut mine);
            *budget -= before - mine;
            truncated |= mine == 0 && found.is_none();
            if let Some(c) = found {
                if best
                    .as_ref()
                    .is_none_or(|b| weight(&c, self.txns) < weight(b, self.txns))
                {
                    let done = weight(&c, self.txns) <= class.min_len();
                    best = Some(c);
                    if done {
                        break;
                    }
                }
            }
        }
        Found {
            exhausted: truncated,
            cycle: best,
        }
    }

    /// Shortest walk from local vertex `s` back to itself, counting only
    /// hops into txns (hops into time points are free, so a real-time
    /// edge costs one however many time points it crosses): a 0-1 BFS.
    fn bfs(
        &mut self,
        members: &[u32],
        s: u32,
        class: Class,
        allowed: u8,
        budget: &mut u64,
    ) -> Option<Cycle> {
        let states = class.states() as u32;
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamp.iter_mut().for_each(|x| *x = 0);
            self.epoch = 1;
        }
        let epoch = self.epoch;
        let start = s * states + class.start() as u32;
        self.queue.clear();
        self.queue.push_back(start);
        self.stamp[start as usize] = epoch;
        self.dist[start as usize] = 0;
        self.parent[start as usize] = NONE;
        // The best closing edge found so far: (cost, from node, edge).
        let mut best: Option<(u32, u32, (u32, u32, u8))> = None;
        while let Some(node) = self.queue.pop_front() {
            let d = self.dist[node as usize];
            if best.is_some_and(|b| b.0 <= d) {
                break;
            }
            let (v, st) = (node / states, (node % states) as u8);
            for (w, mask) in self.g.out(members[v as usize]) {
                let mask = mask & allowed;
                if mask == 0 {
                    continue;
                }
                let lw = self.map.get(w);
                if lw == NONE {
                    continue;
                }
                *budget = budget.saturating_sub(1);
                let cost = u32::from(w < self.txns);
                let nd = d + cost;
                for t in [WW, WR, RW, PROCESS, REALTIME] {
                    if mask & t == 0 {
                        continue;
                    }
                    let Some(st2) = class.step(st, t) else {
                        continue;
                    };
                    if lw == s {
                        // Close the cycle here, or never pass through the
                        // start again (a cycle through `s`, not around it twice).
                        if class.accepts(st2) && best.is_none_or(|b| nd < b.0) {
                            best = Some((nd, node, (members[v as usize], w, t)));
                        }
                        continue;
                    }
                    let next = (lw * states + st2 as u32) as usize;
                    if self.stamp[next] != epoch || nd < self.dist[next] {
                        self.stamp[next] = epoch;
                        self.dist[next] = nd;
                        self.parent[next] = node;
                        self.ptype[next] = t;
                        if cost == 0 {
                            self.queue.push_front(next as u32);
                        } else {
                            self.queue.push_back(next as u32);
                        }
                    }
                }
            }
            if *budget == 0 {
                break;
            }
        }
        let (_, node, last) = best?;
        Some(self.path(members, node, states, last))
    }

    fn path(&self, members: &[u32], mut node: u32, states: u32, last: (u32, u32, u8)) -> Cycle {
        let mut rev = vec![last];
        loop {
            let p = self.parent[node as usize];
            if p == NONE {
                break;
            }
            let t = self.ptype[node as usize];
            rev.push((
                members[(p / states) as usize],
                members[(node / states) as usize],
                t,
            ));
            node = p;
        }
        rev.reverse();
        rev
    }
}

/// Names the anomaly a cycle proves, choosing for each edge the least
/// damning type available in `allowed` (ww, then wr, process, realtime, rw):
/// fewer rw edges is always a stronger claim. Returns the class name with
/// `-process` / `-realtime` suffix, and the cycle with the chosen types.
pub fn classify(g: &Graph, cycle: &Cycle, allowed: u8) -> (String, Cycle) {
    let chosen: Cycle = cycle
        .iter()
        .map(|&(a, b, t)| {
            let mask = (g.mask(a, b) & allowed) | t;
            let t = [WW, WR, PROCESS, REALTIME, RW]
                .into_iter()
                .find(|&x| mask & x != 0)
                .unwrap_or(t);
            (a, b, t)
        })
        .collect();
    let n = chosen.len();
    let rws: Vec<bool> = chosen.iter().map(|e| e.2 == RW).collect();
    let count = rws.iter().filter(|&&r| r).count();
    let adjacent = (0..n).any(|i| rws[i] && rws[(i + 1) % n]);
    let base = match count {
        0 if chosen.iter().any(|e| e.2 == WR) => "G1c",
        0 => "G0",
        1 => "G-single",
        _ if !adjacent => "G-nonadjacent",
        _ => "G2-item",
    };
    let suffix = if chosen.iter().any(|e| e.2 == REALTIME) {
        "-realtime"
    } else if chosen.iter().any(|e| e.2 == PROCESS) {
        "-process"
    } else {
        ""
    };
    (format!("{base}{suffix}"), chosen)
}

/// Splits a closed walk into simple cycles. The searches track automaton
/// states, not the vertices on the path, so a walk may revisit a vertex
/// (in another state); each simple cycle it contains is a real cycle of
/// the graph, classified on its own.
pub fn simple_cycles(walk: &Cycle) -> Vec<Cycle> {
    let mut out = Vec::new();
    let mut path: Cycle = Vec::new();
    let mut at: rustc_hash::FxHashMap<u32, usize> = Default::default();
    if let Some(e) = walk.first() {
        at.insert(e.0, 0);
    }
    for &e in walk {
        path.push(e);
        match at.get(&e.1) {
            Some(&i) => {
                let cycle: Cycle = path.drain(i..).collect();
                for x in &cycle[1..] {
                    at.remove(&x.0);
                }
                out.push(cycle);
            }
            None => {
                at.insert(e.1, path.len());
            }
        }
    }
    out
}
