//! Strongly connected components of the transactional checker's dependency
//! graph: ours (`checkers::txn::graph::sccs`, an iterative Tarjan over the
//! compressed sparse rows the checker builds) against petgraph 0.8's
//! `kosaraju_scc` and `tarjan_scc` over the very same graph, through the
//! petgraph visitor traits (no copy into a petgraph type, which would only
//! add to petgraph's side).
//!
//! The graph is the one `checkers::txn::check` builds for a valid
//! list-append history of `n` txns (data edges, process order, real-time
//! order), generated and built outside the timed section. Before timing,
//! the three are checked to find the same components.
//!
//! ```text
//! cargo bench -p checkers --bench scc
//! ```
//!
//! petgraph's Tarjan recurses once per vertex on the DFS path, and the
//! process-order chains make that path as long as the history: it runs here
//! on a thread with a `SCC_STACK_MB` (default 4096) MiB stack. With
//! `SCC_STACK_MB=8` (a main thread's default) it overflows the stack on the
//! 1M case. Kosaraju needs incoming edges: building the reverse rows is
//! timed with it, as it would be in the checker.

use checkers::txn::generate::TxnGen;
use checkers::txn::graph::{self, Graph, LocalMap};
use checkers::txn::{dependency_graph, Options, Workload};
use fixedbitset::FixedBitSet;
use petgraph::visit::{
    GraphBase, GraphRef, IntoNeighbors, IntoNeighborsDirected, IntoNodeIdentifiers, NodeIndexable,
    Visitable,
};
use petgraph::Direction;

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

/// Incoming edges in compressed sparse rows, for Kosaraju's reverse pass.
struct Reverse {
    offsets: Vec<u32>,
    sources: Vec<u32>,
}

impl Reverse {
    fn of(g: &Graph) -> Reverse {
        let n = g.vertex_count();
        let mut offsets = vec![0u32; n + 1];
        for v in 0..n as u32 {
            for &w in g.targets(v) {
                offsets[w as usize + 1] += 1;
            }
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut sources = vec![0u32; g.edge_count()];
        for v in 0..n as u32 {
            for &w in g.targets(v) {
                sources[fill[w as usize] as usize] = v;
                fill[w as usize] += 1;
            }
        }
        Reverse { offsets, sources }
    }
}

/// Our graph seen through petgraph's traits; `reverse` only for Kosaraju.
#[derive(Clone, Copy)]
struct View<'a> {
    g: &'a Graph,
    reverse: Option<&'a Reverse>,
}

impl GraphBase for View<'_> {
    type NodeId = u32;
    type EdgeId = ();
}

impl GraphRef for View<'_> {}

impl<'a> IntoNeighbors for View<'a> {
    type Neighbors = std::iter::Copied<std::slice::Iter<'a, u32>>;
    fn neighbors(self, v: u32) -> Self::Neighbors {
        self.g.targets(v).iter().copied()
    }
}

impl<'a> IntoNeighborsDirected for View<'a> {
    type NeighborsDirected = std::iter::Copied<std::slice::Iter<'a, u32>>;
    fn neighbors_directed(self, v: u32, d: Direction) -> Self::NeighborsDirected {
        match d {
            Direction::Outgoing => self.g.targets(v).iter().copied(),
            Direction::Incoming => {
                let r = self.reverse.expect("Kosaraju's view has the reverse rows");
                r.sources[r.offsets[v as usize] as usize..r.offsets[v as usize + 1] as usize]
                    .iter()
                    .copied()
            }
        }
    }
}

impl IntoNodeIdentifiers for View<'_> {
    type NodeIdentifiers = std::ops::Range<u32>;
    fn node_identifiers(self) -> Self::NodeIdentifiers {
        0..self.g.vertex_count() as u32
    }
}

impl NodeIndexable for View<'_> {
    fn node_bound(&self) -> usize {
        self.g.vertex_count()
    }
    fn to_index(&self, v: u32) -> usize {
        v as usize
    }
    fn from_index(&self, i: usize) -> u32 {
        i as u32
    }
}

impl Visitable for View<'_> {
    type Map = FixedBitSet;
    fn visit_map(&self) -> FixedBitSet {
        FixedBitSet::with_capacity(self.g.vertex_count())
    }
    fn reset_map(&self, map: &mut FixedBitSet) {
        map.clear();
        map.grow(self.g.vertex_count());
    }
}

/// `case`: "valid N" (strict serializable: no cycle) or "stale N" (reads
/// lag up to two appends behind: cycles everywhere, as in the txn bench).
fn graph_of(case: &str) -> Graph {
    let (kind, n) = case.split_once(' ').expect("kind and size");
    let n: usize = n.parse().expect("a size");
    let h = TxnGen {
        txns: n,
        stale: if kind == "stale" { 3 } else { 0 },
        seed: 7,
        registers: false,
    }
    .history();
    let opts = Options {
        workload: Workload::ListAppend,
        ..Options::default()
    };
    dependency_graph(&h, &opts)
}

/// Ours, as the checker calls it on the whole graph.
fn ours(g: &Graph) -> Vec<Vec<u32>> {
    let all: Vec<u32> = (0..g.vertex_count() as u32).collect();
    let mut map = LocalMap::new(g.vertex_count());
    map.set(&all);
    graph::sccs(g, &all, &map, graph::ALL)
}

fn kosaraju(g: &Graph) -> Vec<Vec<u32>> {
    let reverse = Reverse::of(g);
    let view = View {
        g,
        reverse: Some(&reverse),
    };
    petgraph::algo::kosaraju_scc(view)
}

/// petgraph's Tarjan, on a thread with a stack big enough for its recursion.
fn tarjan(g: &Graph) -> Vec<Vec<u32>> {
    let mb: usize = std::env::var("SCC_STACK_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4096);
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(mb << 20)
            .spawn_scoped(s, || petgraph::algo::tarjan_scc(View { g, reverse: None }))
            .expect("spawn the Tarjan thread")
            .join()
            .expect("petgraph's Tarjan finished")
    })
}

/// The components of two vertices or more, each sorted, in order.
fn normal(mut comps: Vec<Vec<u32>>) -> Vec<Vec<u32>> {
    comps.retain(|c| c.len() > 1);
    for c in &mut comps {
        c.sort_unstable();
    }
    comps.sort_unstable();
    comps
}

const CASES: [&str; 4] = [
    "valid 100000",
    "stale 100000",
    "valid 1000000",
    "stale 1000000",
];

#[divan::bench(args = CASES, sample_count = 3, sample_size = 1)]
fn shakedown_tarjan(bencher: divan::Bencher, case: &str) {
    let g = graph_of(case);
    let expected = normal(ours(&g));
    assert_eq!(normal(kosaraju(&g)), expected, "Kosaraju agrees");
    assert_eq!(normal(tarjan(&g)), expected, "petgraph's Tarjan agrees");
    eprintln!(
        "{case} txns: {} vertices, {} edges, {} components of 2+",
        g.vertex_count(),
        g.edge_count(),
        expected.len()
    );
    bencher.bench_local(|| ours(&g));
}

#[divan::bench(args = CASES, sample_count = 3, sample_size = 1)]
fn petgraph_kosaraju(bencher: divan::Bencher, case: &str) {
    let g = graph_of(case);
    bencher.bench_local(|| kosaraju(&g));
}

#[divan::bench(args = CASES, sample_count = 3, sample_size = 1)]
fn petgraph_tarjan(bencher: divan::Bencher, case: &str) {
    let g = graph_of(case);
    bencher.bench_local(|| tarjan(&g));
}
