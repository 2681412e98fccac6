//! [`PdqIndex`]: the hash array, the insert buffer and the segments.

use std::fmt;

use crate::Hash256;
use crate::hints::huge_pages;
use crate::segment::{self, Counters, Layout, MAX_ENTRIES, MAX_TABLES, Scratch, Segment, Words};

/// Inserts wait in a buffer (scanned linearly by queries) until this many
/// have gathered; then they become a segment.
const BUFFER_MAX: usize = 4096;

// Rough costs, in nanoseconds on one core, that pick a search's plan: a
// directory probe, a byte of bucket scanned, a candidate verified (a random
// read of the hash array), a hash of a linear scan.
const COST_PROBE: f64 = 12.0;
const COST_LOW_BYTE: f64 = 0.5;
const COST_CANDIDATE: f64 = 12.0;
const COST_SCAN: f64 = 1.5;

/// How [`PdqIndex::radius_with`] finds its answer. Both plans return the
/// same, exact, result; they differ only in speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchPlan {
    /// Whichever of the two a cost model expects to be faster.
    #[default]
    Auto,
    /// Multi-index probing of every segment (plus the insert buffer).
    Index,
    /// Compare the query with every stored hash.
    Scan,
}

/// What one search did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SearchStats {
    /// The plan that ran ([`SearchPlan::Index`] or [`SearchPlan::Scan`]).
    pub plan: SearchPlan,
    /// Directory buckets looked up.
    pub probes: u64,
    /// Hashes compared with the query in full (256-bit popcount).
    pub candidates: u64,
    /// Results returned.
    pub matches: u64,
}

/// An exact Hamming-radius index over 256-bit PDQ hashes.
///
/// Ids are chosen by the caller and should be dense (`0..n`): the index
/// keeps its hashes in an array indexed by id. Inserting an id that is
/// already present replaces its hash.
///
/// ```
/// use sightline_index::{PdqIndex, brute_force};
///
/// let hashes: Vec<[u8; 32]> = (0u8..100).map(|i| [i; 32]).collect();
/// let index = PdqIndex::from_hashes(&hashes);
/// let query = [3u8; 32];
/// assert_eq!(index.radius(&query, 64), brute_force(&hashes, &query, 64));
/// ```
pub struct PdqIndex {
    /// `hashes[id]`; slots of absent ids hold zeros.
    hashes: Vec<Words>,
    /// One bit per slot of `hashes`: is that id present.
    present: Vec<u64>,
    /// Present ids.
    count: usize,
    /// Largest first; each holds the current entries of some ids.
    segments: Vec<Segment>,
    /// Ids inserted since the last segment was built.
    buffer: Vec<u32>,
    /// How hashes are cut into substrings, one table each.
    layout: Layout,
}

impl Default for PdqIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for PdqIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let segments: Vec<(usize, u32)> = self
            .segments
            .iter()
            .map(|s| (s.live(), s.dir_bits()))
            .collect();
        f.debug_struct("PdqIndex")
            .field("len", &self.count)
            .field("segments (live, dir bits)", &segments)
            .field("buffered", &self.buffer.len())
            .field("tables", &self.layout.tables())
            .field("memory_bytes", &self.memory_bytes())
            .finish()
    }
}

impl PdqIndex {
    /// An empty index, with eight tables.
    pub fn new() -> Self {
        PdqIndex {
            hashes: Vec::new(),
            present: Vec::new(),
            count: 0,
            segments: Vec::new(),
            buffer: Vec::new(),
            layout: Layout::default(),
        }
    }

    /// An empty index with `tables` tables (8, the default, to 12): the
    /// 256 bits are cut into that many substrings. Answers are the same
    /// for every choice; what changes is speed and memory. More tables
    /// mean smaller probe radii (at the default radius 31: 9,280 bucket
    /// probes a query with 8 tables, 3,848 with 10, 1,608 with 12) and
    /// about 4 more bytes a hash per table (at ten million hashes the index
    /// is 1.98× the raw hashes with 8 tables, 2.10× with 9, 2.22× with 10,
    /// 2.46× with 12). Past ten
    /// tables the substrings leave few bits for the filter, so more
    /// candidates reach the hash array: at ten million hashes, 12 tables
    /// were slower than 10.
    ///
    /// # Panics
    ///
    /// If `tables` is not in `8..=12`.
    pub fn with_tables(tables: usize) -> Self {
        PdqIndex {
            layout: Layout::new(tables),
            ..Self::new()
        }
    }

    /// The number of tables (see [`with_tables`](Self::with_tables)).
    pub fn tables(&self) -> usize {
        self.layout.tables()
    }

    /// An empty index with room for ids `0..n` without reallocating the
    /// hash array.
    pub fn with_capacity(n: usize) -> Self {
        Self::new().reserved(n)
    }

    /// This index with room for ids `0..n` without reallocating the hash
    /// array.
    #[must_use]
    pub fn reserved(mut self, n: usize) -> Self {
        self.reserve_hashes(n);
        self.present
            .reserve(n.div_ceil(64).saturating_sub(self.present.len()));
        self
    }

    /// Bulk build with ids `0..hashes.len()`: one segment, built directly.
    ///
    /// # Panics
    ///
    /// If there are more than `u32::MAX + 1` hashes.
    pub fn from_hashes(hashes: &[Hash256]) -> Self {
        let mut index = Self::with_capacity(hashes.len());
        index.extend(hashes.iter().enumerate().map(|(i, h)| {
            (
                u32::try_from(i).expect("ids are u32: at most 2^32 hashes"),
                *h,
            )
        }));
        index
    }

    /// Number of ids present.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no id is present.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The hash stored under `id`, if any.
    pub fn get(&self, id: u32) -> Option<Hash256> {
        let i = id as usize;
        if !self.is_present(i) {
            return None;
        }
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(8).zip(self.hashes[i]) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        Some(out)
    }

    /// Adds `hash` under `id`, or replaces the hash of `id` if present.
    /// Amortised `O(log n)`; the result is visible to the next query.
    pub fn insert(&mut self, id: u32, hash: &Hash256) {
        self.put(id, hash);
        if self.buffer.len() >= BUFFER_MAX {
            self.flush();
        }
    }

    /// Turns buffered inserts into a segment and merges every segment into
    /// one, the layout queries are fastest on (after a bulk load followed
    /// by many inserts, say).
    pub fn compact(&mut self) {
        let pieces = self.segments.len() + usize::from(!self.buffer.is_empty());
        if pieces <= 1 && self.segments.iter().all(|s| s.live() == s.entries()) {
            self.flush();
            return;
        }
        let mut ids: Vec<u32> = self.buffer.drain(..).collect();
        for s in self.segments.drain(..) {
            ids.extend(s.live_ids());
        }
        ids.sort_unstable();
        self.push_segments(&ids);
    }

    /// Builds segments over `ids` (sorted), none larger than a segment may
    /// be.
    fn push_segments(&mut self, ids: &[u32]) {
        for chunk in ids.chunks(MAX_ENTRIES) {
            self.segments
                .push(Segment::build(chunk, &self.hashes, self.layout));
        }
    }

    /// Heap bytes held: the hash array, the presence bits, the buffer and
    /// every table, counted by capacity, plus the struct itself.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.hashes.capacity() * std::mem::size_of::<Words>()
            + self.present.capacity() * std::mem::size_of::<u64>()
            + self.buffer.capacity() * std::mem::size_of::<u32>()
            + self.segments.capacity() * std::mem::size_of::<Segment>()
            + self
                .segments
                .iter()
                .map(Segment::memory_bytes)
                .sum::<usize>()
    }

    /// Every stored `(id, distance)` with distance at most `max_distance`
    /// (any value; 256 and above match everything), sorted by
    /// `(distance, id)`. Exact.
    pub fn radius(&self, query: &Hash256, max_distance: u32) -> Vec<(u32, u32)> {
        self.radius_with(query, max_distance, SearchPlan::Auto).0
    }

    /// [`radius`](Self::radius) with a chosen plan, and what it did.
    pub fn radius_with(
        &self,
        query: &Hash256,
        max_distance: u32,
        plan: SearchPlan,
    ) -> (Vec<(u32, u32)>, SearchStats) {
        let q = segment::to_words(query);
        let d = max_distance.min(256);
        let radii = self.layout.radii(d);
        let plan = match plan {
            SearchPlan::Auto if self.index_cost(&radii) > self.scan_cost() => SearchPlan::Scan,
            SearchPlan::Auto => SearchPlan::Index,
            p => p,
        };
        let mut out = Vec::new();
        let mut stats = SearchStats {
            plan,
            ..SearchStats::default()
        };
        if plan == SearchPlan::Scan {
            for (i, h) in self.hashes.iter().enumerate() {
                let dist = segment::distance(h, &q);
                if dist <= d && self.is_present(i) {
                    out.push((i as u32, dist));
                }
            }
            stats.candidates = self.hashes.len() as u64;
        } else {
            let mut counters = Counters::default();
            let mut scratch = Scratch::default();
            for s in &self.segments {
                s.search(
                    &q,
                    d,
                    &radii,
                    &self.hashes,
                    &mut scratch,
                    &mut out,
                    &mut counters,
                );
            }
            for &id in &self.buffer {
                let dist = segment::distance(&self.hashes[id as usize], &q);
                if dist <= d {
                    out.push((id, dist));
                }
            }
            stats.probes = counters.probes;
            stats.candidates = counters.candidates + self.buffer.len() as u64;
        }
        out.sort_unstable_by_key(|&(id, dist)| (dist, id));
        stats.matches = out.len() as u64;
        (out, stats)
    }

    fn index_cost(&self, radii: &[i32; MAX_TABLES]) -> f64 {
        let mut cost = self.buffer.len() as f64 * COST_SCAN;
        for s in &self.segments {
            let bits = s.dir_bits();
            let n = s.entries() as f64;
            for (t, &r) in radii.iter().enumerate().take(self.layout.tables()) {
                let resolved = (bits + 8).min(self.layout.width(t));
                let probes = segment::ball(bits, r);
                let bucket = n / f64::from(bits).exp2();
                let candidates = n * segment::ball(resolved, r) / f64::from(resolved).exp2();
                cost +=
                    probes * (COST_PROBE + bucket * COST_LOW_BYTE) + candidates * COST_CANDIDATE;
            }
        }
        cost
    }

    fn scan_cost(&self) -> f64 {
        self.hashes.len() as f64 * COST_SCAN
    }

    #[inline]
    fn is_present(&self, i: usize) -> bool {
        self.present
            .get(i / 64)
            .is_some_and(|w| w >> (i % 64) & 1 == 1)
    }

    /// Room for ids `0..n` in the hash array, growing it at least twofold
    /// (as `Vec` would) so that growth stays amortised; the new allocation
    /// is asked to be on huge pages before anything is written to it.
    fn reserve_hashes(&mut self, n: usize) {
        if n > self.hashes.capacity() {
            let mut grown = Vec::with_capacity(n.max(2 * self.hashes.capacity()));
            huge_pages(&grown);
            grown.extend_from_slice(&self.hashes);
            self.hashes = grown;
        }
    }

    /// Records `hash` under `id` in the buffer, without building anything.
    fn put(&mut self, id: u32, hash: &Hash256) {
        let w = segment::to_words(hash);
        let i = id as usize;
        if i >= self.hashes.len() {
            self.reserve_hashes(i + 1);
            self.hashes.resize(i + 1, [0; 4]);
            self.present.resize(self.hashes.len().div_ceil(64), 0);
        }
        if self.is_present(i) {
            let old = self.hashes[i];
            if old == w {
                return;
            }
            // The current entry is either in a segment (mark it stale and
            // buffer the new hash) or already in the buffer (nothing to do
            // but change the hash it points at).
            if let Some(s) = self.segments.iter_mut().find(|s| s.holds(id, &old)) {
                s.kill(id);
                self.buffer.push(id);
            }
        } else {
            self.present[i / 64] |= 1 << (i % 64);
            self.count += 1;
            self.buffer.push(id);
        }
        self.hashes[i] = w;
    }

    /// Turns the buffer into a segment and merges segments so that each is
    /// more than twice the size of the next one (and drops segments whose
    /// entries are mostly stale).
    fn flush(&mut self) {
        if !self.buffer.is_empty() {
            let mut ids = std::mem::take(&mut self.buffer);
            ids.sort_unstable();
            self.push_segments(&ids);
        }
        // Rebuild segments that are mostly stale.
        for s in &mut self.segments {
            if s.live() * 2 < s.entries() {
                let mut ids: Vec<u32> = s.live_ids().collect();
                ids.sort_unstable();
                *s = Segment::build(&ids, &self.hashes, self.layout);
            }
        }
        self.segments.retain(|s| s.live() > 0);
        self.segments.sort_by_key(|s| std::cmp::Reverse(s.live()));
        while self.segments.len() >= 2 {
            let n = self.segments.len();
            let (small, next) = (self.segments[n - 1].live(), self.segments[n - 2].live());
            if small * 2 < next || small + next > MAX_ENTRIES {
                break;
            }
            let b = self.segments.pop().expect("two segments");
            let a = self.segments.pop().expect("two segments");
            let mut ids: Vec<u32> = a.live_ids().chain(b.live_ids()).collect();
            ids.sort_unstable();
            self.segments
                .push(Segment::build(&ids, &self.hashes, self.layout));
        }
    }
}

impl Extend<(u32, Hash256)> for PdqIndex {
    /// Bulk insert: everything buffered, these included, becomes one new
    /// segment (merged with the existing ones as usual), which is much
    /// faster than inserting one by one.
    fn extend<I: IntoIterator<Item = (u32, Hash256)>>(&mut self, iter: I) {
        let iter = iter.into_iter();
        let hint = iter.size_hint().0;
        self.buffer.reserve(hint);
        // Ids are dense, so new ones usually extend the hash array.
        let want = self.count + hint;
        self.reserve_hashes(want);
        for (id, hash) in iter {
            self.put(id, &hash);
        }
        self.flush();
        self.buffer.shrink_to(BUFFER_MAX);
    }
}

impl<'a> Extend<(u32, &'a Hash256)> for PdqIndex {
    fn extend<I: IntoIterator<Item = (u32, &'a Hash256)>>(&mut self, iter: I) {
        self.extend(iter.into_iter().map(|(id, h)| (id, *h)));
    }
}

impl FromIterator<(u32, Hash256)> for PdqIndex {
    fn from_iter<I: IntoIterator<Item = (u32, Hash256)>>(iter: I) -> Self {
        let mut index = PdqIndex::new();
        index.extend(iter);
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Rng;

    /// Under test a segment holds at most 4,096 entries: bulk loads,
    /// inserts and compaction must split rather than build a larger one,
    /// and stay exact.
    #[test]
    fn segments_stay_under_the_cap_and_exact() {
        assert_eq!(MAX_ENTRIES, 1 << 12);
        let mut rng = Rng(11);
        let mut hashes: Vec<Hash256> = (0..10_000).map(|_| rng.hash()).collect();
        let mut index = PdqIndex::from_hashes(&hashes);
        let check = |index: &PdqIndex, hashes: &[Hash256], rng: &mut Rng| {
            assert!(index.segments.iter().all(|s| s.entries() <= MAX_ENTRIES));
            let held: usize = index.segments.iter().map(Segment::live).sum();
            assert_eq!(held + index.buffer.len(), hashes.len());
            for i in 0..50 {
                let j = rng.below(hashes.len() as u64) as usize;
                let q = if i % 2 == 0 {
                    rng.flip(&hashes[j], 20)
                } else {
                    rng.hash()
                };
                let got = index.radius_with(&q, 31, SearchPlan::Index).0;
                assert_eq!(got, crate::brute_force(hashes, &q, 31));
            }
        };
        check(&index, &hashes, &mut rng);
        for id in 10_000..13_000u32 {
            let h = rng.hash();
            index.insert(id, &h);
            hashes.push(h);
        }
        check(&index, &hashes, &mut rng);
        index.compact();
        check(&index, &hashes, &mut rng);
    }
}
