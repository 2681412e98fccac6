//! One immutable multi-index segment: eight CSR tables over a set of ids.

use std::collections::HashSet;

use crate::Hash256;

/// Substrings per hash, and so tables per segment.
pub(crate) const TABLES: usize = 8;
/// Bits of a substring kept per entry below the directory bits.
const LOW_BITS: u32 = 8;
/// The directory never has more than 2^MAX_DIR_BITS buckets (the low bits
/// must still fit in the 32-bit substring).
const MAX_DIR_BITS: u32 = 32 - LOW_BITS;
/// The average number of entries per directory bucket the sizing aims for.
pub(crate) const BUCKET_TARGET: f64 = 16.0;
/// Below this many entries a segment builds its tables on one thread.
const PARALLEL_MIN: usize = 1 << 16;

/// A hash as four little-endian words; substring `t` is bits `32t..32t+32`.
pub(crate) type Words = [u64; 4];

#[inline]
pub(crate) fn to_words(h: &Hash256) -> Words {
    let mut w = [0u64; 4];
    for (word, chunk) in w.iter_mut().zip(h.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *word = u64::from_le_bytes(b);
    }
    w
}

#[inline]
pub(crate) fn distance(a: &Words, b: &Words) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

#[inline]
pub(crate) fn substring(w: &Words, t: usize) -> u32 {
    // Truncation keeps the wanted half of the word.
    (w[t >> 1] >> ((t & 1) * 32)) as u32
}

/// Per-table probe radius for a query radius `d` (the refined pigeonhole
/// bound): with `d = 8r + a`, tables `0..=a` use `r` and the rest `r - 1`.
/// A negative radius means the table is not probed at all.
pub(crate) fn radii(d: u32) -> [i32; TABLES] {
    let d = d.min(256) as i32;
    let (r, a) = (d / TABLES as i32, d % TABLES as i32);
    std::array::from_fn(|t| if (t as i32) <= a { r } else { r - 1 })
}

/// Directory bits for a segment of `n` entries: buckets of about
/// [`BUCKET_TARGET`] entries.
pub(crate) fn dir_bits(n: usize) -> u32 {
    let ratio = n as f64 / BUCKET_TARGET;
    if ratio <= 1.0 {
        0
    } else {
        (ratio.log2().round() as u32).min(MAX_DIR_BITS)
    }
}

#[inline]
fn high_of(key: u32, bits: u32) -> u32 {
    key.checked_shr(32 - bits).unwrap_or(0)
}

#[inline]
fn low_of(key: u32, bits: u32) -> u8 {
    // bits <= MAX_DIR_BITS, so the shift is at most 24.
    (key >> (MAX_DIR_BITS - bits)) as u8
}

/// The bits of a substring a table resolves: its top `bits + 8`.
#[inline]
fn resolution_mask(bits: u32) -> u32 {
    !(u32::MAX.checked_shr(bits + LOW_BITS).unwrap_or(0))
}

/// `sum_{w <= r} C(n, w)`: how many `n`-bit strings lie within `r` of one.
pub(crate) fn ball(n: u32, r: i32) -> f64 {
    if r < 0 {
        return 0.0;
    }
    let mut term = 1.0f64;
    let mut total = 1.0f64;
    for w in 1..=(r as u32).min(n) {
        term = term * f64::from(n - w + 1) / f64::from(w);
        total += term;
    }
    total
}

/// Calls `f` with every `bits`-bit mask of exactly `weight` ones, in
/// increasing order (Gosper's hack).
#[inline]
fn for_each_mask(bits: u32, weight: u32, mut f: impl FnMut(u32)) {
    if weight == 0 {
        f(0);
        return;
    }
    if weight > bits {
        return;
    }
    let limit = 1u64 << bits;
    let mut m: u64 = (1u64 << weight) - 1;
    while m < limit {
        f(m as u32);
        let low = m.trailing_zeros();
        let ripple = m + (1u64 << low);
        m = ripple | (((ripple ^ m) >> 2) >> low);
    }
}

/// Bytes of padding after the low bytes of a table, so that an 8-byte word
/// can be read at any entry.
const LOW_PAD: usize = 8;
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `x` that is zero, and no other bit.
#[inline]
fn zero_bytes(x: u64) -> u64 {
    // Exact (no false positives from borrows): the low seven bits of each
    // byte are added separately from its high bit.
    let low7 = !HIGHS;
    !(((x & low7) + low7) | x | low7)
}

/// The high bit of each byte of `x` that has at most `budget` (< 8) ones.
#[inline]
fn light_bytes(x: u64, budget: u32) -> u64 {
    let c = x - ((x >> 1) & 0x5555_5555_5555_5555);
    let c = (c & 0x3333_3333_3333_3333) + ((c >> 2) & 0x3333_3333_3333_3333);
    let c = (c + (c >> 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    // Each byte of c is at most 8: c + 127 - budget carries into the high
    // bit exactly when c > budget, and never into the next byte.
    !(c + ONES * u64::from(0x7F - budget)) & HIGHS
}

/// The little-endian word of the eight bytes at `at` (which the padding
/// guarantees exist).
#[inline]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

/// Top bits of an id kept in unary per bucket (see [`Ids`]); a bucket
/// holds about `2^ID_HIGH_BITS` entries.
const ID_HIGH_BITS: u32 = 4;

/// The ids of a table's entries, ascending within each bucket, in
/// Elias–Fano form per bucket: each id is `(high << low_bits) | low`, the
/// `low_bits`-bit lows packed in entry order, the highs of bucket `b` in
/// unary in `2^high_bits + len(b)` bits starting at bit
/// `(b << high_bits) + offsets[b]` (entry `j` of the bucket sets bit
/// `high + j`), so a bucket's bits are located from the directory alone.
/// With buckets of about `2^high_bits` entries this is about
/// `low_bits + 2` bits an id instead of `low_bits + high_bits`.
#[derive(Debug)]
struct Ids {
    low_bits: u32,
    high_bits: u32,
    /// `low_bits` per entry, little-endian bit order, then 8 zero bytes.
    lows: Vec<u8>,
    /// The unary highs, then a zero word.
    highs: Vec<u64>,
}

/// The `width` (<= 57) bits of `bytes` from bit `at` on (8 bytes must exist
/// from byte `at / 8`).
#[inline]
fn bits_at(bytes: &[u8], at: usize, width: u32) -> u64 {
    (word_at(bytes, at / 8) >> (at % 8)) & ((1u64 << width) - 1)
}

/// The 64 bits of `words` from bit `at` on (bits past the end read as 0).
#[inline]
fn word_from(words: &[u64], at: usize) -> u64 {
    let (i, sh) = (at / 64, at % 64);
    let lo = words.get(i).copied().unwrap_or(0) >> sh;
    if sh == 0 {
        lo
    } else {
        lo | words.get(i + 1).copied().unwrap_or(0) << (64 - sh)
    }
}

/// The position of the `j`-th (from 0) set bit of `w`, which has more.
#[inline]
fn select_in_word(mut w: u64, j: u32) -> u32 {
    for _ in 0..j {
        w &= w - 1;
    }
    w.trailing_zeros()
}

impl Ids {
    /// From the ids in entry order (ascending within each bucket of
    /// `offsets`).
    fn build(offsets: &[u32], ids: &[u32], max_id: u32) -> Self {
        let id_bits = 32 - max_id.leading_zeros();
        let high_bits = ID_HIGH_BITS.min(id_bits);
        let low_bits = id_bits - high_bits;
        let n = ids.len();
        let mut lows = vec![0u8; (n * low_bits as usize).div_ceil(8) + 8];
        for (i, &id) in ids.iter().enumerate() {
            let at = i * low_bits as usize;
            let low = u64::from(id) & ((1u64 << low_bits) - 1);
            let w = word_at(&lows, at / 8) | low << (at % 8);
            lows[at / 8..at / 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        let buckets = offsets.len() - 1;
        let total = (buckets << high_bits) + n;
        let mut highs = vec![0u64; total.div_ceil(64) + 1];
        for b in 0..buckets {
            let (s, e) = (offsets[b] as usize, offsets[b + 1] as usize);
            let first = (b << high_bits) + s;
            for (j, &id) in ids[s..e].iter().enumerate() {
                let bit = first + (id >> low_bits) as usize + j;
                highs[bit / 64] |= 1 << (bit % 64);
            }
        }
        Ids {
            low_bits,
            high_bits,
            lows,
            highs,
        }
    }

    /// The id of entry `i`, the `i - s`-th of bucket `b`, which starts at
    /// entry `s`.
    #[inline]
    fn get(&self, b: usize, s: usize, i: usize) -> u32 {
        let first = (b << self.high_bits) + s;
        let mut j = (i - s) as u32;
        let mut at = first;
        let pos = loop {
            let w = word_from(&self.highs, at);
            let ones = w.count_ones();
            if ones > j {
                break at + select_in_word(w, j) as usize;
            }
            j -= ones;
            at += 64;
        };
        let high = (pos - first - (i - s)) as u64;
        let low = bits_at(&self.lows, i * self.low_bits as usize, self.low_bits);
        ((high << self.low_bits) | low) as u32
    }

    fn memory_bytes(&self) -> usize {
        self.lows.capacity() + self.highs.capacity() * 8
    }
}

/// Appends to `out` every entry `i` in `s..e` whose low byte is within
/// `budget` bits of `ql` (`lows` is padded by [`LOW_PAD`] bytes).
#[inline]
fn filter_bucket(lows: &[u8], s: usize, e: usize, ql: u8, budget: u32, out: &mut Vec<u32>) {
    let qb = ONES * u64::from(ql);
    let mut pos = s;
    while pos < e {
        let x = word_at(lows, pos) ^ qb;
        let mut m = if budget == 0 {
            zero_bytes(x)
        } else if budget >= LOW_BITS {
            HIGHS
        } else {
            light_bytes(x, budget)
        };
        let left = e - pos;
        if left < 8 {
            m &= u64::MAX >> (64 - 8 * left);
        }
        while m != 0 {
            out.push((pos + (m.trailing_zeros() / 8) as usize) as u32);
            m &= m - 1;
        }
        pos += 8;
    }
}

/// One substring's table: entries sorted by (top `bits`, next 8 bits).
#[derive(Debug)]
struct Table {
    /// `offsets[b]..offsets[b + 1]` are the entries whose substring starts
    /// with the `bits`-bit value `b`.
    offsets: Vec<u32>,
    /// The 8 bits of each entry's substring after the directory bits
    /// (ascending within a bucket), then [`LOW_PAD`] zeros.
    lows: Vec<u8>,
    /// Each entry's id.
    ids: Ids,
}

impl Table {
    fn build(t: usize, bits: u32, ids: &[u32], hashes: &[Words], max_id: u32) -> Table {
        let n = ids.len();
        let keys: Vec<u32> = ids
            .iter()
            .map(|&id| substring(&hashes[id as usize], t))
            .collect();
        // A counting sort by the directory bits; the counts become the
        // offsets.
        let buckets = 1usize << bits;
        let mut offsets = vec![0u32; buckets + 1];
        for &k in &keys {
            offsets[high_of(k, bits) as usize + 1] += 1;
        }
        for b in 1..=buckets {
            offsets[b] += offsets[b - 1];
        }
        // Entries in id order (`ids` ascends), placed by bucket.
        let mut cursor = offsets[..buckets].to_vec();
        let mut lows = vec![0u8; n + LOW_PAD];
        let mut placed = vec![0u32; n];
        for (&k, &id) in keys.iter().zip(ids) {
            let slot = &mut cursor[high_of(k, bits) as usize];
            let pos = *slot as usize;
            *slot += 1;
            lows[pos] = low_of(k, bits);
            placed[pos] = id;
        }
        Table {
            ids: Ids::build(&offsets, &placed, max_id),
            offsets,
            lows,
        }
    }

    /// The entries of bucket `b`.
    #[inline]
    fn range(&self, b: usize) -> (usize, usize) {
        (self.offsets[b] as usize, self.offsets[b + 1] as usize)
    }

    fn len(&self) -> usize {
        self.lows.len() - LOW_PAD
    }

    fn memory_bytes(&self) -> usize {
        self.offsets.capacity() * 4 + self.lows.capacity() + self.ids.memory_bytes()
    }
}

/// Counters a query fills in (see [`crate::SearchStats`]).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counters {
    pub probes: u64,
    pub candidates: u64,
}

/// An immutable multi-index over a set of ids whose hashes live in the
/// index's shared hash array.
#[derive(Debug)]
pub(crate) struct Segment {
    len: usize,
    bits: u32,
    tables: Vec<Table>,
    /// Ids whose entry here is stale (the id was inserted again with another
    /// hash, which lives in a newer segment or the buffer).
    dead: HashSet<u32>,
}

impl Segment {
    /// Builds a segment over `ids` (distinct, all present in `hashes`).
    pub(crate) fn build(ids: &[u32], hashes: &[Words]) -> Segment {
        let sorted;
        let ids = if ids.windows(2).all(|w| w[0] < w[1]) {
            ids
        } else {
            sorted = {
                let mut v = ids.to_vec();
                v.sort_unstable();
                v
            };
            &sorted
        };
        assert!(
            u32::try_from(ids.len()).is_ok(),
            "a segment holds fewer than 2^32 entries"
        );
        let bits = dir_bits(ids.len());
        let max_id = ids.iter().copied().max().unwrap_or(0);
        let threads = if ids.len() < PARALLEL_MIN {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(TABLES))
        };
        let tables = if threads <= 1 {
            (0..TABLES)
                .map(|t| Table::build(t, bits, ids, hashes, max_id))
                .collect()
        } else {
            let mut slots: Vec<Option<Table>> = (0..TABLES).map(|_| None).collect();
            std::thread::scope(|scope| {
                let mut chunks: Vec<Vec<(usize, &mut Option<Table>)>> =
                    (0..threads).map(|_| Vec::new()).collect();
                for (t, slot) in slots.iter_mut().enumerate() {
                    chunks[t % threads].push((t, slot));
                }
                for chunk in chunks {
                    scope.spawn(move || {
                        for (t, slot) in chunk {
                            *slot = Some(Table::build(t, bits, ids, hashes, max_id));
                        }
                    });
                }
            });
            slots
                .into_iter()
                .map(|s| s.expect("every table was built"))
                .collect()
        };
        Segment {
            len: ids.len(),
            bits,
            tables,
            dead: HashSet::new(),
        }
    }

    /// Entries, stale ones included.
    pub(crate) fn entries(&self) -> usize {
        self.len
    }

    /// Entries that are not stale.
    pub(crate) fn live(&self) -> usize {
        self.len - self.dead.len()
    }

    pub(crate) fn dir_bits(&self) -> u32 {
        self.bits
    }

    /// The ids whose entry here is current.
    pub(crate) fn live_ids(&self) -> impl Iterator<Item = u32> + '_ {
        let t = &self.tables[0];
        (0..t.offsets.len() - 1)
            .flat_map(move |b| {
                let (s, e) = t.range(b);
                (s..e).map(move |i| t.ids.get(b, s, i))
            })
            .filter(|id| !self.dead.contains(id))
    }

    /// Whether `id` has a current entry here under hash `w`.
    pub(crate) fn holds(&self, id: u32, w: &Words) -> bool {
        if self.dead.contains(&id) {
            return false;
        }
        let t = &self.tables[0];
        let key = substring(w, 0);
        let b = high_of(key, self.bits) as usize;
        let (s, e) = (t.offsets[b] as usize, t.offsets[b + 1] as usize);
        let l = low_of(key, self.bits);
        (s..e).any(|i| t.lows[i] == l && t.ids.get(b, s, i) == id)
    }

    /// Marks the entry of `id` stale.
    pub(crate) fn kill(&mut self, id: u32) {
        self.dead.insert(id);
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        let tables: usize = self.tables.iter().map(Table::memory_bytes).sum();
        // A std HashSet<u32> slot is the value plus one control byte.
        tables
            + self.tables.capacity() * std::mem::size_of::<Table>()
            + self.dead.capacity() * (std::mem::size_of::<u32>() + 1)
    }

    /// Appends to `out` every current entry within `d` of `q`.
    ///
    /// Each table is probed in phases whose loops do not branch on the data
    /// they load (bucket numbers, then bucket bounds, then a branch-free
    /// filter on the low bytes, then verification), so the processor keeps
    /// many cache misses in flight instead of waiting for each in turn.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn search(
        &self,
        q: &Words,
        d: u32,
        radii: &[i32; TABLES],
        hashes: &[Words],
        scratch: &mut Scratch,
        out: &mut Vec<(u32, u32)>,
        counters: &mut Counters,
    ) {
        let bits = self.bits;
        let mask = resolution_mask(bits);
        let qsub: [u32; TABLES] = std::array::from_fn(|t| substring(q, t));
        let mut masks_for = i32::MIN;
        for (t, table) in self.tables.iter().enumerate() {
            let r = radii[t];
            if r < 0 {
                continue;
            }
            if r != masks_for {
                // All masks of weight <= r over the directory bits, each with
                // the budget left for the low byte.
                scratch.masks.clear();
                for weight in 0..=(r as u32).min(bits) {
                    let budget = (r - weight as i32).min(LOW_BITS as i32) as u32;
                    for_each_mask(bits, weight, |m| scratch.masks.push((m, budget)));
                }
                masks_for = r;
            }
            let key = qsub[t];
            let (qh, ql) = (high_of(key, bits), low_of(key, bits));
            counters.probes += scratch.masks.len() as u64;

            scratch.ranges.clear();
            scratch
                .ranges
                .extend(scratch.masks.iter().map(|&(m, budget)| {
                    let b = (qh ^ m) as usize;
                    (table.offsets[b], table.offsets[b + 1], budget)
                }));

            if table.len() == 0 {
                continue;
            }
            let lows = &table.lows;
            // Touch each probed bucket's low bytes: a loop of bare loads
            // lets dozens of cache misses overlap before the filter runs.
            let mut sink = 0u8;
            for &(s, e, _) in &scratch.ranges {
                // First and last byte: a bucket may span two lines.
                sink ^= lows[s as usize];
                sink ^= lows[(e as usize).saturating_sub(1)];
            }
            std::hint::black_box(sink);

            let cand = &mut scratch.candidates;
            cand.clear();
            scratch.origins.clear();
            for (&(s, e, budget), &(m, _)) in scratch.ranges.iter().zip(&scratch.masks) {
                let before = cand.len();
                filter_bucket(lows, s as usize, e as usize, ql, budget, cand);
                let origin = (qh ^ m, s);
                scratch
                    .origins
                    .extend(std::iter::repeat_n(origin, cand.len() - before));
            }
            let n = cand.len();
            counters.candidates += n as u64;

            // Entry numbers to ids, touch the hashes, then verify.
            for (c, &(b, s)) in cand.iter_mut().zip(&scratch.origins) {
                *c = table.ids.get(b as usize, s as usize, *c as usize);
            }
            let mut sink = 0u64;
            for &id in &cand[..n] {
                sink ^= hashes[id as usize][0];
            }
            std::hint::black_box(sink);
            for &id in &cand[..n] {
                let h = &hashes[id as usize];
                let dist = distance(h, q);
                if dist > d {
                    continue;
                }
                // Report a match only from the first table that produced it.
                let earlier = (0..t).any(|u| {
                    radii[u] >= 0
                        && ((substring(h, u) ^ qsub[u]) & mask).count_ones() as i32 <= radii[u]
                });
                if earlier || (!self.dead.is_empty() && self.dead.contains(&id)) {
                    continue;
                }
                out.push((id, dist));
            }
        }
    }
}

/// Buffers a search reuses across segments and tables.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// (directory mask, low-byte budget) for the current radius.
    masks: Vec<(u32, u32)>,
    /// (start, end, budget) of each probed bucket.
    ranges: Vec<(u32, u32, u32)>,
    /// Entry numbers that passed the low-byte filter.
    candidates: Vec<u32>,
    /// (bucket, its first entry) of each candidate.
    origins: Vec<(u32, u32)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radii_follow_the_refined_pigeonhole_bound() {
        assert_eq!(radii(0), [0, -1, -1, -1, -1, -1, -1, -1]);
        assert_eq!(radii(5), [0, 0, 0, 0, 0, 0, -1, -1]);
        assert_eq!(radii(31), [3; 8]);
        assert_eq!(radii(32), [4, 3, 3, 3, 3, 3, 3, 3]);
        assert_eq!(radii(256), [32, 31, 31, 31, 31, 31, 31, 31]);
        assert_eq!(radii(1000), radii(256));
        // The bound: no split of d + 1 differing bits stays under every
        // table's radius.
        for d in 0..=256u32 {
            let slack: i32 = radii(d).iter().map(|r| r + 1).sum();
            assert_eq!(slack as u32, d.min(256) + 1, "d = {d}");
        }
    }

    #[test]
    fn masks_are_all_the_combinations() {
        for bits in 0..=12u32 {
            for weight in 0..=bits + 1 {
                let mut seen = Vec::new();
                for_each_mask(bits, weight, |m| seen.push(m));
                let want: Vec<u32> = (0..(1u32 << bits))
                    .filter(|m| m.count_ones() == weight)
                    .collect();
                assert_eq!(seen, want, "bits {bits} weight {weight}");
            }
        }
        assert_eq!(ball(24, 3), 1.0 + 24.0 + 276.0 + 2024.0);
        assert_eq!(ball(4, 9), 16.0);
    }

    #[test]
    fn ids_round_trip_at_every_width_and_bucket_size() {
        let mut rng = crate::testing::Rng(4);
        for max in [0u32, 1, 15, 16, 200, 60_000, 16_000_000, u32::MAX] {
            for sizes in [
                vec![0usize, 1, 0, 3],
                vec![16; 20],
                vec![40, 0, 47, 48, 49, 63, 64, 65, 130, 1, 0],
                vec![300],
            ] {
                let mut offsets = vec![0u32];
                let mut ids = Vec::new();
                for &c in &sizes {
                    let mut bucket: Vec<u32> = (0..c)
                        .map(|k| match k {
                            0 => max,
                            1 => 0,
                            _ => (rng.next_u64() % (u64::from(max) + 1)) as u32,
                        })
                        .collect();
                    bucket.sort_unstable();
                    ids.extend(bucket);
                    offsets.push(ids.len() as u32);
                }
                let table = Ids::build(&offsets, &ids, max);
                for b in 0..sizes.len() {
                    let (s, e) = (offsets[b] as usize, offsets[b + 1] as usize);
                    for (i, &id) in ids.iter().enumerate().take(e).skip(s) {
                        assert_eq!(table.get(b, s, i), id, "max {max} {sizes:?} {b} {i}");
                    }
                }
            }
        }
    }

    #[test]
    fn byte_tests_match_a_byte_at_a_time() {
        let mut rng = crate::testing::Rng(5);
        for round in 0..2000 {
            // Words with many zero and near-zero bytes.
            let mut x = rng.next_u64();
            for k in 0..8 {
                if rng.below(3) == 0 {
                    x &= !(0xFF << (8 * k));
                    if round % 2 == 0 {
                        x |= 1 << (8 * k + rng.below(8));
                    }
                }
            }
            let bytes = x.to_le_bytes();
            let want = |f: &dyn Fn(u8) -> bool| -> u64 {
                (0..8)
                    .filter(|&k| f(bytes[k]))
                    .map(|k| 0x80u64 << (8 * k))
                    .sum()
            };
            assert_eq!(zero_bytes(x), want(&|b| b == 0), "{x:#x}");
            for budget in 0..8 {
                assert_eq!(
                    light_bytes(x, budget),
                    want(&|b| b.count_ones() <= budget),
                    "{x:#x} budget {budget}"
                );
            }
        }
    }

    #[test]
    fn bucket_filter_matches_a_byte_at_a_time() {
        let mut rng = crate::testing::Rng(6);
        let mut lows: Vec<u8> = (0..100).map(|_| rng.below(16) as u8 * 17).collect();
        lows.extend([0xAB; LOW_PAD]);
        for s in 0..40 {
            for e in s..s + 30 {
                for ql in [0u8, 0x11, 0x22, 0xFF, 0x0F] {
                    for budget in 0..=8 {
                        let mut got = Vec::new();
                        filter_bucket(&lows, s, e, ql, budget, &mut got);
                        let want: Vec<u32> = (s..e)
                            .filter(|&i| (lows[i] ^ ql).count_ones() <= budget)
                            .map(|i| i as u32)
                            .collect();
                        assert_eq!(got, want, "{s}..{e} ql {ql} budget {budget}");
                    }
                }
            }
        }
    }

    #[test]
    fn directory_grows_with_the_segment() {
        assert_eq!(dir_bits(0), 0);
        assert_eq!(dir_bits(16), 0);
        assert_eq!(dir_bits(10_000_000), 19);
        assert_eq!(dir_bits(usize::MAX), MAX_DIR_BITS);
        assert_eq!(resolution_mask(24), u32::MAX);
        assert_eq!(resolution_mask(0), 0xFF00_0000);
    }
}
