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

/// Population counts of all bytes.
const POP8: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).count_ones() as u8;
        i += 1;
    }
    t
};

/// Entries as records of `1 + width` bytes: the low byte of the substring,
/// then the id little-endian in `width` bytes (the fewest that hold the
/// largest id of the segment). Keeping the id beside the byte the filter
/// reads means an entry that passes costs no second random read.
#[derive(Debug)]
struct Records {
    width: usize,
    bytes: Vec<u8>,
}

impl Records {
    fn zeroed(max_id: u32, len: usize) -> Self {
        let width = match max_id {
            0..=0xFF => 1,
            0x100..=0xFFFF => 2,
            0x1_0000..=0xFF_FFFF => 3,
            _ => 4,
        };
        Records {
            width,
            bytes: vec![0; (1 + width) * len],
        }
    }

    #[inline]
    fn stride(&self) -> usize {
        1 + self.width
    }

    fn len(&self) -> usize {
        self.bytes.len() / self.stride()
    }

    #[inline]
    fn set(&mut self, i: usize, low: u8, id: u32) {
        let (s, w) = (i * self.stride(), self.width);
        self.bytes[s] = low;
        self.bytes[s + 1..s + 1 + w].copy_from_slice(&id.to_le_bytes()[..w]);
    }

    #[inline]
    fn low(&self, i: usize) -> u8 {
        self.bytes[i * self.stride()]
    }

    #[inline]
    fn id(&self, i: usize) -> u32 {
        let s = i * self.stride() + 1;
        let b = &self.bytes;
        match self.width {
            1 => u32::from(b[s]),
            2 => u32::from(u16::from_le_bytes([b[s], b[s + 1]])),
            3 => u32::from_le_bytes([b[s], b[s + 1], b[s + 2], 0]),
            _ => u32::from_le_bytes([b[s], b[s + 1], b[s + 2], b[s + 3]]),
        }
    }
}

/// One substring's table: entries sorted by (top `bits`, next 8 bits).
#[derive(Debug)]
struct Table {
    /// `offsets[b]..offsets[b + 1]` are the entries whose substring starts
    /// with the `bits`-bit value `b`.
    offsets: Vec<u32>,
    /// (low byte, id) per entry; low bytes ascend within a bucket.
    records: Records,
}

impl Table {
    fn build(t: usize, bits: u32, ids: &[u32], hashes: &[Words], max_id: u32) -> Table {
        let n = ids.len();
        let keys: Vec<u32> = ids
            .iter()
            .map(|&id| substring(&hashes[id as usize], t))
            .collect();
        // Pass 1: counting sort of entry numbers by the low byte.
        let mut starts = [0u32; 257];
        for &k in &keys {
            starts[usize::from(low_of(k, bits)) + 1] += 1;
        }
        for i in 1..257 {
            starts[i] += starts[i - 1];
        }
        let mut by_low = vec![0u32; n];
        for (i, &k) in keys.iter().enumerate() {
            let slot = &mut starts[usize::from(low_of(k, bits))];
            by_low[*slot as usize] = i as u32;
            *slot += 1;
        }
        // Pass 2: stable counting sort by the directory bits; the counts
        // become the offsets.
        let buckets = 1usize << bits;
        let mut offsets = vec![0u32; buckets + 1];
        for &k in &keys {
            offsets[high_of(k, bits) as usize + 1] += 1;
        }
        for b in 1..=buckets {
            offsets[b] += offsets[b - 1];
        }
        let mut cursor = offsets[..buckets].to_vec();
        let mut records = Records::zeroed(max_id, n);
        for &i in &by_low {
            let k = keys[i as usize];
            let slot = &mut cursor[high_of(k, bits) as usize];
            let pos = *slot as usize;
            *slot += 1;
            records.set(pos, low_of(k, bits), ids[i as usize]);
        }
        Table { offsets, records }
    }

    fn memory_bytes(&self) -> usize {
        self.offsets.capacity() * 4 + self.records.bytes.capacity()
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
        (0..self.len)
            .map(|i| t.records.id(i))
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
        (s..e).any(|i| t.records.low(i) == l && t.records.id(i) == id)
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

            let rec = &table.records;
            if rec.len() == 0 {
                continue;
            }
            let stride = rec.stride();
            // Touch each probed bucket's first record: a loop of bare loads
            // lets dozens of cache misses overlap before the filter runs.
            let last = rec.len() - 1;
            let mut sink = 0u8;
            for &(s, e, _) in &scratch.ranges {
                // First and last record: a typical bucket spans two lines.
                sink ^= rec.bytes[(s as usize).min(last) * stride];
                sink ^= rec.bytes[(e as usize).saturating_sub(1).min(last) * stride];
            }
            std::hint::black_box(sink);

            let cand = &mut scratch.candidates;
            let mut n = 0usize;
            for &(s, e, budget) in &scratch.ranges {
                let (s, e) = (s as usize, e as usize);
                if n + (e - s) > cand.len() {
                    cand.resize((n + (e - s)).max(2 * cand.len()), 0);
                }
                let bucket = rec.bytes[s * stride..e * stride].chunks_exact(stride);
                let slots = &mut cand[n..n + (e - s)];
                let mut k = 0usize;
                if budget == 0 {
                    for (i, r) in bucket.enumerate() {
                        slots[k] = (s + i) as u32;
                        k += usize::from(r[0] == ql);
                    }
                } else {
                    for (i, r) in bucket.enumerate() {
                        slots[k] = (s + i) as u32;
                        k += usize::from(u32::from(POP8[usize::from(r[0] ^ ql)]) <= budget);
                    }
                }
                n += k;
            }
            counters.candidates += n as u64;

            // Entry numbers to ids (same cache lines), touch the hashes,
            // then verify.
            for c in &mut cand[..n] {
                *c = rec.id(*c as usize);
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
    fn records_round_trip_at_every_width() {
        for max in [0u32, 200, 60_000, 16_000_000, u32::MAX] {
            let mut r = Records::zeroed(max, 3);
            for (i, v) in [max, max / 2, 0].into_iter().enumerate() {
                r.set(i, 0xA0 | i as u8, v);
            }
            assert_eq!(r.len(), 3);
            assert_eq!([r.id(0), r.id(1), r.id(2)], [max, max / 2, 0]);
            assert_eq!([r.low(0), r.low(1), r.low(2)], [0xA0, 0xA1, 0xA2]);
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
