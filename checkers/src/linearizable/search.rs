//! The search for a linearization of one partition: Wing & Gong's
//! backtracking with Lowe's cache, in the shape of Porcupine's checker.
//!
//! Calls and returns form a doubly linked list in history order. Walking it
//! from the head, a call whose operation the model accepts in the current
//! state is *lifted* out of the list (with its return) and pushed on a
//! stack; a return reached before its call was lifted means the current
//! prefix cannot be extended, so the last lifted call is put back and the
//! walk resumes after it. The cache of (set of lifted calls, state) pairs
//! prunes every configuration seen before: two prefixes with the same calls
//! and the same state have the same futures.
//!
//! Calls of unknown outcome return "at infinity": once the walk reaches such
//! a return, every call that did complete is linearized and the remaining
//! unknown ones are taken never to have happened.

use super::models::Model;
use hashbrown::HashTable;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

/// One call of a partition, encoded for its model.
pub struct SearchCall<O> {
    pub op: O,
    /// Position of the invocation in the history.
    pub invoke: usize,
    /// Position of the completion; `None` when the outcome is unknown.
    pub complete: Option<usize>,
}

/// Limits shared by every partition of one check.
pub struct Budget {
    pub deadline: Option<Instant>,
    pub memory_limit: usize,
    pub memory_used: AtomicUsize,
    /// Set when another partition proved the history illegal.
    pub cancel: AtomicBool,
}

impl Budget {
    pub fn new(deadline: Option<Instant>, memory_limit: usize) -> Budget {
        Budget {
            deadline,
            memory_limit,
            memory_used: AtomicUsize::new(0),
            cancel: AtomicBool::new(false),
        }
    }
}

pub enum Outcome<S> {
    Linearizable,
    NotLinearizable(Stuck<S>),
    /// The budget ran out: the reason, in words.
    Unknown(String),
    Cancelled,
}

/// Where the search got stuck: the longest linearizable prefixes, each with
/// the call that could not be linearized after it.
pub struct Stuck<S> {
    pub prefixes: Vec<Prefix<S>>,
}

pub struct Prefix<S> {
    /// Calls in linearization order, with the model state after each.
    pub steps: Vec<(usize, S)>,
    /// The call whose completion was reached before it could be linearized.
    pub blocked: usize,
}

/// Search statistics, for the result and for tuning.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub steps: u64,
    pub cache_entries: usize,
    pub max_depth: usize,
    /// The deepest point at which a completion was reached before its call
    /// could be linearized.
    pub stuck_depth: usize,
}

const HEAD: u32 = 0;
const END: u32 = u32::MAX;
/// How many equally long prefixes are kept as evidence.
const PREFIXES_KEPT: usize = 3;

#[derive(Clone, Copy)]
struct Node {
    call: u32,
    is_call: bool,
    /// For a call: its return node.
    partner: u32,
    prev: u32,
    next: u32,
}

struct Entries {
    nodes: Vec<Node>,
}

impl Entries {
    fn new<O>(calls: &[SearchCall<O>]) -> Entries {
        // (position, is_return, call): returns of unknown outcome sort last.
        let mut events: Vec<(usize, bool, u32)> = Vec::with_capacity(calls.len() * 2);
        for (i, c) in calls.iter().enumerate() {
            events.push((c.invoke, false, i as u32));
            events.push((c.complete.unwrap_or(usize::MAX), true, i as u32));
        }
        events.sort_unstable();
        let mut nodes = Vec::with_capacity(events.len() + 1);
        nodes.push(Node {
            call: u32::MAX,
            is_call: false,
            partner: END,
            prev: END,
            next: if events.is_empty() { END } else { 1 },
        });
        let mut call_node = vec![0u32; calls.len()];
        for (n, &(_, is_return, call)) in events.iter().enumerate() {
            let id = n as u32 + 1;
            if !is_return {
                call_node[call as usize] = id;
            }
            nodes.push(Node {
                call,
                is_call: !is_return,
                partner: END,
                prev: id - 1,
                next: if n + 1 < events.len() { id + 1 } else { END },
            });
        }
        for id in 1..nodes.len() {
            if !nodes[id].is_call {
                let c = call_node[nodes[id].call as usize];
                nodes[c as usize].partner = id as u32;
            }
        }
        Entries { nodes }
    }

    fn unlink(&mut self, e: u32) {
        let Node { prev, next, .. } = self.nodes[e as usize];
        self.nodes[prev as usize].next = next;
        if next != END {
            self.nodes[next as usize].prev = prev;
        }
    }

    fn relink(&mut self, e: u32) {
        let Node { prev, next, .. } = self.nodes[e as usize];
        self.nodes[prev as usize].next = e;
        if next != END {
            self.nodes[next as usize].prev = e;
        }
    }

    fn lift(&mut self, call: u32) {
        self.unlink(call);
        self.unlink(self.nodes[call as usize].partner);
    }

    fn unlift(&mut self, call: u32) {
        self.relink(self.nodes[call as usize].partner);
        self.relink(call);
    }
}

/// A set of linearized calls, hashed incrementally (Zobrist: flipping a
/// call's bit XORs its random key into the hash), and kept so that its
/// cache key stays short however long the history is.
///
/// Bits are numbered with completed calls first (in invocation order), then
/// calls of unknown outcome from the next word on. Deep into a search the
/// completed region is a run of all-ones words (everything well before the
/// frontier is linearized), a short window near the frontier, and zeros:
/// the key is (length of the run, the window, the unknown-outcome words).
/// Storing whole bitsets instead costs every cache entry n/8 bytes: 62 KB
/// per entry for a single key with 500,000 calls.
#[derive(Clone)]
struct Linearized {
    words: Vec<u64>,
    hash: u64,
    /// Words `[0, completed_words)` hold completed calls.
    completed_words: usize,
    /// Words `[0, low)` are all ones.
    low: usize,
    /// Words `[end, completed_words)` are all zeros.
    end: usize,
}

fn zobrist(i: u32) -> u64 {
    // splitmix64: a fixed pseudo-random key per call.
    let mut z = (i as u64)
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Linearized {
    /// For `completed` calls of known outcome and `unknown` others; bit ids
    /// come from [`bit_ids`].
    fn new(completed: usize, unknown: usize) -> Linearized {
        let completed_words = completed.div_ceil(64);
        Linearized {
            words: vec![0; (completed_words + unknown.div_ceil(64)).max(1)],
            hash: 0,
            completed_words,
            low: 0,
            end: 0,
        }
    }

    fn contains(&self, i: u32) -> bool {
        self.words[i as usize / 64] & (1 << (i % 64)) != 0
    }

    fn flip(&mut self, i: u32) {
        let w = i as usize / 64;
        self.words[w] ^= 1 << (i % 64);
        if w >= self.completed_words {
            // The hash covers completed calls only: configurations that
            // differ in calls of unknown outcome alone must meet in the
            // cache, where one may dominate the other.
            return;
        }
        self.hash ^= zobrist(i);
        if self.words[w] & (1 << (i % 64)) != 0 {
            self.end = self.end.max(w + 1);
            while self.low < self.completed_words && self.words[self.low] == u64::MAX {
                self.low += 1;
            }
        } else {
            self.low = self.low.min(w);
            while self.end > 0 && self.words[self.end - 1] == 0 {
                self.end -= 1;
            }
        }
    }

    /// The words between the all-ones run and the all-zeros tail.
    fn window(&self) -> &[u64] {
        &self.words[self.low..self.end.max(self.low)]
    }

    fn unknown(&self) -> &[u64] {
        &self.words[self.completed_words..]
    }
}

/// Bit ids: completed calls first in invocation order, then calls of
/// unknown outcome starting at a word boundary. Returns the ids and the
/// number of each kind.
fn bit_ids<O>(calls: &[SearchCall<O>]) -> (Vec<u32>, usize, usize) {
    let mut order: Vec<usize> = (0..calls.len()).collect();
    order.sort_by_key(|&c| (calls[c].complete.is_none(), calls[c].invoke));
    let completed = calls.iter().filter(|c| c.complete.is_some()).count();
    let unknown_base = completed.div_ceil(64) * 64;
    let mut ids = vec![0u32; calls.len()];
    for (rank, &c) in order.iter().enumerate() {
        ids[c] = if rank < completed {
            rank
        } else {
            unknown_base + (rank - completed)
        } as u32;
    }
    (ids, completed, calls.len() - completed)
}

/// Cached configurations with one set of completed calls and one state.
/// The key's window words live in the search's arena at `at ..` (one
/// allocation for all entries instead of one each). The sets of calls of
/// unknown outcome reached with it, only the minimal ones (a superset is
/// dominated), are `unknown_words` words each in `Dominance::sets[sets]`;
/// a history without such calls has none to keep.
struct CacheEntry<S> {
    hash: u64,
    at: u32,
    low: u32,
    window: u32,
    sets: u32,
    state: S,
}

/// The minimal sets of calls of unknown outcome of each cache entry.
struct Dominance {
    words: usize,
    sets: Vec<Vec<u64>>,
}

impl Dominance {
    /// True when a set at `sets` is a subset of `now` (the configuration is
    /// dominated); else `now` joins them (its supersets leave) and the
    /// function returns false.
    fn seen_or_add(&mut self, sets: u32, now: &[u64]) -> (bool, usize) {
        let w = self.words;
        let list = &mut self.sets[sets as usize];
        let subset = |set: &[u64]| set.iter().zip(now).all(|(s, n)| s & !n == 0);
        if list.chunks_exact(w).any(subset) {
            return (true, 0);
        }
        let before = list.len();
        let mut keep = 0;
        for i in 0..before / w {
            let superset = now
                .iter()
                .zip(&list[i * w..(i + 1) * w])
                .all(|(n, s)| n & !s == 0);
            if !superset {
                list.copy_within(i * w..(i + 1) * w, keep * w);
                keep += 1;
            }
        }
        list.truncate(keep * w);
        list.extend_from_slice(now);
        (false, (list.len().saturating_sub(before)) * 8)
    }

    fn insert(&mut self, now: &[u64]) -> u32 {
        if self.words == 0 {
            return u32::MAX;
        }
        self.sets.push(now.to_vec());
        (self.sets.len() - 1) as u32
    }
}

/// Word slices equal, compared in a loop: cache keys are a few words, and
/// a call to `memcmp` (what `==` on slices becomes) cost a quarter of the
/// whole check of the etcd corpus.
#[inline]
fn same_words(a: &[u64], b: &[u64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

fn state_hash<S: Hash>(linearized: u64, state: &S) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(state) ^ linearized.rotate_left(17)
}

/// How often (in steps) the budget and the cancel flag are looked at.
const CHECK_EVERY: u64 = 1 << 12;
/// Prefixes up to this long are snapshotted while searching; a failing
/// search stuck deeper is run again to collect them (copying long prefixes
/// at every new depth would be quadratic).
const SNAPSHOT_DEPTH: usize = 4096;

/// Which stuck prefixes to keep as evidence.
#[derive(Clone, Copy, Debug)]
pub enum Evidence {
    /// The deepest ones, while they are at most `SNAPSHOT_DEPTH` long.
    Deepest,
    /// Those stuck at exactly this depth (a second search after `Deepest`
    /// found the failure too deep to snapshot).
    AtDepth(usize),
}

struct Frame<S> {
    entry: u32,
    /// The pass the call was lifted in (see `search`).
    pass: Pass,
    /// Whether that walk had gone past a crashed call before it.
    skipped_unknown: bool,
    previous: S,
    /// A read lifted because it was legal: there is no alternative to try
    /// for it, so backtracking over it goes on to the frame below.
    forced: bool,
}

/// Which calls a walk of the list tries: first those that completed, then,
/// walking again from the head, those of unknown outcome. Every call is
/// still tried in every configuration (the order of siblings in a
/// depth-first search does not change what it finds); trying crashed calls
/// last finds the linearizations that need few of them (most crashed
/// writes are overwritten before anyone reads them) before the ones that
/// consume many, and reaches a configuration its dominating one was
/// reached first.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    Completed,
    Unknown,
}

/// Searches for a linearization of `calls`.
///
/// The cache prunes by *dominance*, not only by equality: a configuration
/// (lifted calls S plus calls of unknown outcome P, state s) is pruned when
/// (S plus a subset of P, state s) was reached before. Soundness: a call of
/// unknown outcome may take effect at any later time or never, and its
/// return lies at infinity, so the configuration that consumed fewer of
/// them has the same completed calls still to place (the same returns to
/// reach) and strictly more choices; every linearization of the rest from
/// the dominated one is one from the dominating one too. If the dominating
/// configuration was fully explored, neither has an extension; if it is an
/// ancestor still being explored (the path since consumed only calls of
/// unknown outcome and came back to the same state), its remaining children
/// include the first call of any such extension, which it will try. By
/// induction on the length of a remaining linearization, the search finds
/// one whenever one exists. (Twin order is kept: an extension using a later
/// twin can use the earliest unconsumed one instead.) This is what makes
/// histories with many timed-out writes cheap: consuming a crashed write
/// that no later operation observes (overwritten, or rewritten to the same
/// value) leads back to a dominated configuration at once, instead of
/// multiplying every later configuration by the subsets of such writes.
pub fn search<M: Model>(
    model: &M,
    calls: &[SearchCall<M::Op>],
    budget: &Budget,
    evidence: Evidence,
) -> (Outcome<M::State>, Stats) {
    let mut entries = Entries::new(calls);
    let twin = earlier_twins(calls);
    // A completed read legal in the current state can be linearized right
    // now without loss: every call that returned before it was invoked is
    // already linearized (the walk met no return before it), and a read
    // changes no state, so moving it to the front of any extension keeps
    // that extension legal. Deferring it never needs exploring.
    let forced: Vec<bool> = calls
        .iter()
        .map(|c| c.complete.is_some() && model.is_read_only(&c.op))
        .collect();
    let mut cache: HashTable<CacheEntry<M::State>> = HashTable::new();
    let (bit, completed, unknown) = bit_ids(calls);
    let mut linearized = Linearized::new(completed, unknown);
    let unknown_words = linearized.unknown().len();
    let mut arena: Vec<u64> = Vec::new();
    let mut state = model.init();
    let mut stack: Vec<Frame<M::State>> = Vec::new();
    let mut stats = Stats::default();
    let mut memory_pending = 0usize;
    let mut memory_total = 0usize;
    let entry_bytes = std::mem::size_of::<CacheEntry<M::State>>()
        + 8
        + if unknown_words > 0 {
            std::mem::size_of::<Vec<u64>>() + unknown_words * 8
        } else {
            0
        };
    let mut dominance = Dominance {
        words: unknown_words,
        sets: Vec::new(),
    };
    let mut stuck = Stuck {
        prefixes: Vec::new(),
    };
    let mut stuck_any = false;

    let release = |total: usize| {
        budget.memory_used.fetch_sub(total, Ordering::Relaxed);
    };

    let unknown_outcome: Vec<bool> = calls.iter().map(|c| c.complete.is_none()).collect();
    let mut entry = entries.nodes[HEAD as usize].next;
    let mut pass = Pass::Completed;
    // This walk (in the completed pass) went past a crashed call.
    let mut skipped_unknown = false;
    loop {
        if entry == END {
            release(memory_total);
            return (Outcome::Linearizable, stats);
        }
        stats.steps += 1;
        if stats.steps % CHECK_EVERY == 0 {
            memory_total += memory_pending;
            let used = budget
                .memory_used
                .fetch_add(memory_pending, Ordering::Relaxed)
                + memory_pending;
            memory_pending = 0;
            let verdict = if budget.cancel.load(Ordering::Relaxed) {
                Some(Outcome::Cancelled)
            } else if budget.deadline.is_some_and(|d| Instant::now() >= d) {
                Some(Outcome::Unknown(format!(
                    "time limit reached after {} search steps ({} cached configurations, {} of {} calls linearized at most)",
                    stats.steps, stats.cache_entries, stats.max_depth, calls.len()
                )))
            } else if used > budget.memory_limit {
                Some(Outcome::Unknown(format!(
                    "memory limit of {} MiB reached after {} search steps ({} cached configurations)",
                    budget.memory_limit >> 20,
                    stats.steps,
                    stats.cache_entries
                )))
            } else {
                None
            };
            if let Some(v) = verdict {
                release(memory_total);
                return (v, stats);
            }
        }

        let node = entries.nodes[entry as usize];
        let c = node.call as usize;
        if node.is_call {
            if unknown_outcome[c] != (pass == Pass::Unknown) {
                skipped_unknown |= unknown_outcome[c];
                entry = node.next;
                continue;
            }
            // Of identical calls of unknown outcome, the earliest goes first.
            if twin[c].is_some_and(|t| !linearized.contains(bit[t as usize])) {
                entry = node.next;
                continue;
            }
            let Some(next) = model.step(&state, &calls[c].op) else {
                entry = node.next;
                continue;
            };
            linearized.flip(bit[c]);
            let hash = state_hash(linearized.hash, &next);
            let (low, window, unknown) =
                (linearized.low, linearized.window(), linearized.unknown());
            // Seen, or dominated: a configuration with the same completed
            // calls and state, and a subset of these calls of unknown
            // outcome, was reached before (see `search`).
            let found = cache.find(hash, |e| {
                let (at, len) = (e.at as usize, e.window as usize);
                e.hash == hash
                    && e.low as usize == low
                    && len == window.len()
                    && e.state == next
                    && same_words(&arena[at..at + len], window)
            });
            let seen = match found {
                Some(_) if unknown_words == 0 => true,
                Some(e) => {
                    let (seen, bytes) = dominance.seen_or_add(e.sets, unknown);
                    memory_pending += bytes;
                    seen
                }
                None => {
                    memory_pending += entry_bytes + window.len() * 8 + model.heap_bytes(&next);
                    stats.cache_entries += 1;
                    let at = arena.len() as u32;
                    let window_len = window.len() as u32;
                    arena.extend_from_slice(window);
                    let sets = dominance.insert(unknown);
                    cache.insert_unique(
                        hash,
                        CacheEntry {
                            hash,
                            at,
                            low: low as u32,
                            window: window_len,
                            sets,
                            state: next.clone(),
                        },
                        |e| e.hash,
                    );
                    false
                }
            };
            if !seen {
                stack.push(Frame {
                    entry,
                    pass,
                    skipped_unknown,
                    previous: std::mem::replace(&mut state, next),
                    forced: forced[c],
                });
                stats.max_depth = stats.max_depth.max(stack.len());
                entries.lift(entry);
                entry = entries.nodes[HEAD as usize].next;
                pass = Pass::Completed;
                skipped_unknown = false;
                continue;
            }
            linearized.flip(bit[c]);
            if !forced[c] {
                entry = node.next;
                continue;
            }
            // A legal read whose configuration already failed: deferring
            // it cannot help either, so this configuration fails too.
        } else {
            if calls[c].complete.is_none() {
                // Only calls of unknown outcome are left: they never happened.
                release(memory_total);
                return (Outcome::Linearizable, stats);
            }
            if pass == Pass::Completed && skipped_unknown {
                // The completed calls that could go next were tried: now
                // the crashed ones invoked before this return (if the walk
                // passed none, there is nothing to walk again for).
                pass = Pass::Unknown;
                skipped_unknown = false;
                entry = entries.nodes[HEAD as usize].next;
                continue;
            }
            let depth = stack.len();
            let keep = match evidence {
                Evidence::Deepest => {
                    if !stuck_any || depth > stats.stuck_depth {
                        stats.stuck_depth = depth;
                        stuck.prefixes.clear();
                    }
                    depth == stats.stuck_depth && depth <= SNAPSHOT_DEPTH
                }
                Evidence::AtDepth(d) => depth == d,
            };
            stuck_any = true;
            if keep && stuck.prefixes.len() < PREFIXES_KEPT {
                stuck.prefixes.push(Prefix {
                    steps: snapshot(&stack, &state, &entries),
                    blocked: c,
                });
            }
        }

        // Backtrack: undo the last choice (and the forced reads above it).
        loop {
            let Some(frame) = stack.pop() else {
                release(memory_total);
                return (Outcome::NotLinearizable(stuck), stats);
            };
            state = frame.previous;
            linearized.flip(bit[entries.nodes[frame.entry as usize].call as usize]);
            entries.unlift(frame.entry);
            entry = entries.nodes[frame.entry as usize].next;
            pass = frame.pass;
            skipped_unknown = frame.skipped_unknown;
            if !frame.forced {
                break;
            }
        }
    }
}

/// For each call of unknown outcome, the latest call invoked before it with
/// the identical operation and also of unknown outcome.
///
/// Such twins are interchangeable: both may take effect at any time after
/// their invocations, and the earlier one may take effect anywhere the later
/// one may. So any linearization can use them in invocation order, and the
/// search only tries that order, which turns 2^k subsets of k identical
/// timed-out writes into k + 1 choices.
fn earlier_twins<O: Eq + Hash>(calls: &[SearchCall<O>]) -> Vec<Option<u32>> {
    let mut order: Vec<u32> = (0..calls.len() as u32)
        .filter(|&c| calls[c as usize].complete.is_none())
        .collect();
    order.sort_by_key(|&c| calls[c as usize].invoke);
    let mut latest: rustc_hash::FxHashMap<&O, u32> = Default::default();
    let mut twin = vec![None; calls.len()];
    for c in order {
        twin[c as usize] = latest.insert(&calls[c as usize].op, c);
    }
    twin
}

/// The calls on the stack in linearization order, each with the state after it.
fn snapshot<S: Clone>(stack: &[Frame<S>], state: &S, entries: &Entries) -> Vec<(usize, S)> {
    (0..stack.len())
        .map(|i| {
            let after = stack.get(i + 1).map_or(state, |f| &f.previous);
            let call = entries.nodes[stack[i].entry as usize].call as usize;
            (call, after.clone())
        })
        .collect()
}
