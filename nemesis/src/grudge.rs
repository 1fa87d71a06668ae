//! Partitions as grudges, and the generators that produce them.
//!
//! A [`Grudge`] says, for each node, the set of nodes it drops traffic
//! from. It is applied as `DROP` rules on the input path of each node (see
//! [`crate::net`]), so a node with a grudge against another neither
//! receives its packets nor completes a TCP handshake with it in either
//! direction. All generators are pure functions of the node names and a
//! seeded [`Rng`], so a schedule is reproducible from its seed.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// For each node, the nodes it drops traffic from. Nodes without a grudge
/// are left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Grudge(pub BTreeMap<String, BTreeSet<String>>);

impl Grudge {
    /// Every node drops traffic from every node outside its own component:
    /// the classic partition into disjoint groups.
    pub fn complete(components: &[Vec<String>]) -> Grudge {
        let mut g = BTreeMap::new();
        for (i, comp) in components.iter().enumerate() {
            let others: BTreeSet<String> = components
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .flat_map(|(_, c)| c.iter().cloned())
                .collect();
            if others.is_empty() {
                continue;
            }
            for n in comp {
                g.insert(n.clone(), others.clone());
            }
        }
        Grudge(g)
    }

    /// One node cut off from all others.
    pub fn isolate(names: &[String], node: &str) -> Grudge {
        let rest: Vec<String> = names.iter().filter(|n| *n != node).cloned().collect();
        Grudge::complete(&[vec![node.to_string()], rest])
    }

    /// A random split into two halves (the first gets `n / 2` nodes).
    pub fn random_halves(names: &[String], rng: &mut Rng) -> Grudge {
        let mut v = names.to_vec();
        rng.shuffle(&mut v);
        let b = v.split_off(v.len() / 2);
        Grudge::complete(&[v, b])
    }

    /// A random minority (`(n - 1) / 2` nodes, at least one) cut off from
    /// the majority. For an odd cluster it is a random halves split; for
    /// an even one the majority keeps quorum (4 nodes: 1 | 3).
    pub fn majority_minority(names: &[String], rng: &mut Rng) -> Grudge {
        let mut v = names.to_vec();
        rng.shuffle(&mut v);
        let k = ((v.len().saturating_sub(1)) / 2).max(1).min(v.len());
        let b = v.split_off(k);
        Grudge::complete(&[v, b])
    }

    /// Jepsen's majorities ring: the nodes in a random ring, each sees the
    /// majority-sized window of the ring that starts just before it, so
    /// every node sees a majority and no two see the same one.
    pub fn majorities_ring(names: &[String], rng: &mut Rng) -> Grudge {
        let mut ring = names.to_vec();
        rng.shuffle(&mut ring);
        let n = ring.len();
        let m = n / 2 + 1;
        let back = (m - 1) / 2;
        let mut g = BTreeMap::new();
        for i in 0..n {
            let visible: BTreeSet<usize> = (0..m).map(|k| (i + n - back + k) % n).collect();
            let drops: BTreeSet<String> = (0..n)
                .filter(|j| !visible.contains(j))
                .map(|j| ring[j].clone())
                .collect();
            if !drops.is_empty() {
                g.insert(ring[i].clone(), drops);
            }
        }
        Grudge(g)
    }

    /// Two halves that cannot see each other, and one bridge node that
    /// sees both (5 nodes: 2 | 1 | 2).
    pub fn bridge(names: &[String], rng: &mut Rng) -> Grudge {
        let mut v = names.to_vec();
        rng.shuffle(&mut v);
        if v.len() < 3 {
            return Grudge::default();
        }
        // The bridge node: no grudge, and nobody drops it.
        v.remove(0);
        let b = v.split_off(v.len() / 2);
        let a = v;
        let mut g = BTreeMap::new();
        for n in &a {
            g.insert(n.clone(), b.iter().cloned().collect());
        }
        for n in &b {
            g.insert(n.clone(), a.iter().cloned().collect());
        }
        Grudge(g)
    }

    /// The given nodes (e.g. the primaries) cut off from the rest.
    pub fn isolate_set(names: &[String], set: &[String]) -> Grudge {
        let rest: Vec<String> = names.iter().filter(|n| !set.contains(n)).cloned().collect();
        Grudge::complete(&[set.to_vec(), rest])
    }

    /// Check every name is a node of the cluster and nobody holds a grudge
    /// against itself; drop empty entries.
    pub fn validate(mut self, names: &[String]) -> Result<Grudge> {
        for (n, drops) in &self.0 {
            if !names.contains(n) {
                return Err(Error(format!("grudge names unknown node {n:?}")));
            }
            for d in drops {
                if !names.contains(d) {
                    return Err(Error(format!("grudge of {n} names unknown node {d:?}")));
                }
                if d == n {
                    return Err(Error(format!("{n} cannot hold a grudge against itself")));
                }
            }
        }
        self.0.retain(|_, d| !d.is_empty());
        Ok(self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(|d| d.is_empty())
    }

    /// Whether traffic between `a` and `b` is cut (either side drops the
    /// other, which breaks TCP in both directions).
    pub fn cut(&self, a: &str, b: &str) -> bool {
        self.drops(a, b) || self.drops(b, a)
    }

    /// Whether `a` drops what comes from `b`.
    pub fn drops(&self, a: &str, b: &str) -> bool {
        self.0.get(a).is_some_and(|d| d.contains(b))
    }

    /// `n1 x {n4 n5}, n2 x {n3}`: short form for progress lines and logs.
    pub fn summary(&self) -> String {
        self.0
            .iter()
            .map(|(n, d)| {
                format!(
                    "{n} x {{{}}}",
                    d.iter().cloned().collect::<Vec<_>>().join(" ")
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The run loop's seeded PRNG: one generator for ops and faults, stable
/// across platforms and releases, so a seed reproduces a schedule.
pub use harness::run::Rng;

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    /// The nodes `a` can talk to both ways, itself included.
    fn sees(g: &Grudge, all: &[String], a: &str) -> BTreeSet<String> {
        all.iter().filter(|b| !g.cut(a, b)).cloned().collect()
    }

    #[test]
    fn isolate_cuts_one_node_from_all() {
        let all = names(5);
        let g = Grudge::isolate(&all, "n3");
        for b in &all {
            assert_eq!(g.cut("n3", b), b != "n3");
        }
        assert!(!g.cut("n1", "n2"));
        assert_eq!(g.0["n3"].len(), 4);
        assert_eq!(g.0["n1"], BTreeSet::from(["n3".to_string()]));
    }

    #[test]
    fn halves_and_minority_split_into_two_groups() {
        let all = names(5);
        let mut rng = Rng::seed(7);
        for _ in 0..20 {
            let g = Grudge::random_halves(&all, &mut rng);
            let mut sizes: Vec<usize> = all.iter().map(|a| sees(&g, &all, a).len()).collect();
            sizes.sort();
            assert_eq!(sizes, vec![2, 2, 3, 3, 3]);
        }
        let all4 = names(4);
        let g = Grudge::majority_minority(&all4, &mut rng);
        let mut sizes: Vec<usize> = all4.iter().map(|a| sees(&g, &all4, a).len()).collect();
        sizes.sort();
        assert_eq!(sizes, vec![1, 3, 3, 3]);
    }

    #[test]
    fn majorities_ring_every_node_sees_a_distinct_majority() {
        for n in [3, 4, 5, 6, 7, 9] {
            let all = names(n);
            let mut rng = Rng::seed(n as u64);
            let g = Grudge::majorities_ring(&all, &mut rng);
            let mut views = BTreeSet::new();
            for a in &all {
                // What `a` receives from: everyone it does not drop.
                let view: BTreeSet<String> =
                    all.iter().filter(|b| !g.drops(a, b)).cloned().collect();
                assert!(view.contains(a));
                assert!(view.len() > n / 2, "n={n}: {a} sees {view:?}");
                assert!(views.insert(view), "n={n}: two nodes see the same majority");
            }
        }
    }

    #[test]
    fn bridge_connects_two_halves_through_one_node() {
        let all = names(5);
        let g = Grudge::bridge(&all, &mut Rng::seed(3));
        let bridge: Vec<&String> = all.iter().filter(|a| !g.0.contains_key(*a)).collect();
        assert_eq!(bridge.len(), 1);
        let b = bridge[0];
        for a in &all {
            assert!(!g.cut(a, b));
            assert_eq!(sees(&g, &all, a).len(), if a == b { 5 } else { 3 });
        }
    }

    #[test]
    fn generators_are_reproducible_from_the_seed() {
        let all = names(5);
        let a = Grudge::random_halves(&all, &mut Rng::seed(42));
        let b = Grudge::random_halves(&all, &mut Rng::seed(42));
        assert_eq!(a, b);
        let differs = (0..10).any(|s| Grudge::random_halves(&all, &mut Rng::seed(s)) != a);
        assert!(differs);
    }

    #[test]
    fn validate_rejects_unknown_and_self() {
        let all = names(3);
        let g: Grudge = serde_json::from_str(r#"{"n1":["n2"],"n3":[]}"#).unwrap();
        let g = g.validate(&all).unwrap();
        assert_eq!(g.0.len(), 1);
        let bad: Grudge = serde_json::from_str(r#"{"n1":["n9"]}"#).unwrap();
        assert!(bad.validate(&all).unwrap_err().0.contains("n9"));
        let bad: Grudge = serde_json::from_str(r#"{"n1":["n1"]}"#).unwrap();
        assert!(bad.validate(&all).is_err());
    }
}
