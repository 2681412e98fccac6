//! One immutable multi-index segment: eight CSR tables over a set of ids.

use std::collections::HashSet;

use crate::Hash256;
use crate::hints::{huge_pages, prefetch};

/// Substrings per hash, and so tables per segment, unless the index is
/// built with another [`Layout`].
pub(crate) const TABLES: usize = 8;
/// The most tables a layout may have (substrings of 21 bits and more).
pub(crate) const MAX_TABLES: usize = 12;
/// Bits of a substring kept per entry below the directory bits: eight in
/// the entry's filter byte and one more, the *ninth bit*, in its record's
/// bit stream.
const LOW_BITS: u32 = 9;
/// The bits of an entry's filter byte.
const BYTE_BITS: u32 = 8;
/// The directory never has more than 2^MAX_DIR_BITS buckets (the low bits
/// must still fit in a 32-bit key).
const MAX_DIR_BITS: u32 = 32 - LOW_BITS;
/// The average number of entries per directory bucket the sizing aims for.
pub(crate) const BUCKET_TARGET: f64 = 16.0;
/// Below this many entries a segment builds its tables on one thread.
const PARALLEL_MIN: usize = 1 << 16;

/// A hash as four little-endian words; bit `i` of the hash is bit `i % 64`
/// of word `i / 64`.
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

/// How the 256 bits are cut into substrings, one table each: `tables`
/// (8 to [`MAX_TABLES`]) runs of consecutive bits, the first `256 %
/// tables` of them one bit wider than the rest. Eight tables (32-bit
/// substrings, the default) keep the index under twice the raw hashes;
/// more tables probe fewer buckets at the same radius and cost about 4
/// bytes a hash each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    tables: usize,
    /// (first word, bit offset in it, width) of each substring.
    cuts: [(u8, u8, u8); MAX_TABLES],
}

impl Default for Layout {
    fn default() -> Self {
        Layout::new(TABLES)
    }
}

impl Layout {
    /// # Panics
    ///
    /// If `tables` is not in `8..=MAX_TABLES`.
    pub(crate) fn new(tables: usize) -> Layout {
        assert!(
            (TABLES..=MAX_TABLES).contains(&tables),
            "an index has 8 to {MAX_TABLES} tables, not {tables}"
        );
        let (base, wider) = (256 / tables, 256 % tables);
        let mut cuts = [(0u8, 0u8, 0u8); MAX_TABLES];
        let mut start = 0usize;
        for (t, cut) in cuts.iter_mut().enumerate().take(tables) {
            let width = base + usize::from(t < wider);
            *cut = ((start / 64) as u8, (start % 64) as u8, width as u8);
            start += width;
        }
        debug_assert_eq!(start, 256);
        Layout { tables, cuts }
    }

    pub(crate) fn tables(&self) -> usize {
        self.tables
    }

    /// The width in bits of substring `t`.
    pub(crate) fn width(&self, t: usize) -> u32 {
        u32::from(self.cuts[t].2)
    }

    /// The most directory bits a table may use: no more than its
    /// narrowest substring has.
    fn max_dir_bits(&self) -> u32 {
        MAX_DIR_BITS.min(self.width(self.tables - 1))
    }

    /// Substring `t` of `w` as a table key: its bits at the top of a
    /// `u32`, zeros below (for 32-bit substrings, the substring itself).
    #[inline]
    pub(crate) fn key(&self, w: &Words, t: usize) -> u32 {
        let (word, offset, width) = self.cuts[t];
        let word = usize::from(word);
        let next = w.get(word + 1).copied().unwrap_or(0);
        let pair = (u128::from(next) << 64) | u128::from(w[word]);
        // Truncation keeps the low 32 bits; the shift drops those past the
        // substring (width >= 21).
        let v = (pair >> offset) as u32;
        v << (32 - u32::from(width))
    }

    /// Per-table probe radius for a query radius `d` (the refined
    /// pigeonhole bound): with `d = T r + a` over `T` tables, tables
    /// `0..=a` (the wider ones first) use `r` and the rest `r - 1`. A
    /// negative radius means the table is not probed at all; tables past
    /// `T` are never probed.
    pub(crate) fn radii(&self, d: u32) -> [i32; MAX_TABLES] {
        let d = d.min(256) as i32;
        let n = self.tables as i32;
        let (r, a) = (d / n, d % n);
        std::array::from_fn(|t| {
            if t >= self.tables {
                -1
            } else if (t as i32) <= a {
                r
            } else {
                r - 1
            }
        })
    }
}

/// The most bits an entry may cost in one table, by [`entry_bits`]: at
/// eight tables (the default), the tables then take at most 252 bits a hash
/// and the index stays under twice the raw hashes.
pub(crate) const ENTRY_BITS_CAP: f64 = 31.5;

/// Directory bits for a segment of `n` entries with ids up to `max_id`:
/// buckets of about [`BUCKET_TARGET`] entries, at most `max`, and fewer
/// where an entry would cost more than [`ENTRY_BITS_CAP`] bits a table
/// (an id costs about `log2(n / bucket)` bits, so a large segment needs
/// larger buckets to stay in budget).
pub(crate) fn dir_bits(n: usize, max_id: u32, max: u32) -> u32 {
    let ratio = n as f64 / BUCKET_TARGET;
    if ratio <= 1.0 {
        return 0;
    }
    let mut bits = (ratio.log2().round() as u32).min(max);
    while bits > 0 && entry_bits(n, max_id, bits) > ENTRY_BITS_CAP {
        bits -= 1;
    }
    bits
}

/// Elias–Fano low bits for ids up to `max_id` in buckets of `average`
/// entries: ids below `2^low_bits` share a unary bucket, so that a record's
/// unary part is `m + (max_id >> low_bits) + 1` bits, between one and two
/// bits an entry for a bucket of average size.
fn id_low_bits(max_id: u32, average: f64) -> u32 {
    let id_bits = 32 - max_id.leading_zeros();
    if average < 1.0 {
        id_bits
    } else {
        ((f64::from(max_id) + 1.0) / average)
            .log2()
            .floor()
            .clamp(0.0, f64::from(id_bits)) as u32
    }
}

/// The bits an entry costs, on average, in a table of `2^bits` buckets over
/// `n` entries with ids up to `max_id` (see [`Table`]): its [`LOW_BITS`],
/// one unary bit and the id's low bits, plus its share of each record's
/// unary slack and padding (3.5 bits on average) and of the directory (a
/// `u16` a bucket and a `u64` a block of 64).
pub(crate) fn entry_bits(n: usize, max_id: u32, bits: u32) -> f64 {
    let average = n as f64 / (1u64 << bits) as f64;
    let low_bits = id_low_bits(max_id, average);
    let slack = ((u64::from(max_id) >> low_bits) + 1) as f64;
    let per_bucket = slack + 3.5 + 16.0 + 1.0;
    f64::from(LOW_BITS + 1 + low_bits) + per_bucket / average
}

#[inline]
fn high_of(key: u32, bits: u32) -> u32 {
    key.checked_shr(32 - bits).unwrap_or(0)
}

/// The [`LOW_BITS`] of a key after its `bits` directory bits: the filter
/// byte above the ninth bit.
#[inline]
fn low_of(key: u32, bits: u32) -> u16 {
    // bits <= MAX_DIR_BITS, so the shift is at most 23.
    ((key >> (MAX_DIR_BITS - bits)) & 0x1FF) as u16
}

/// The bits of a key a table resolves: its top `bits + 9` (past the end
/// of a narrower substring, the key's bits are zeros for every hash).
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

/// Bytes after a table's records, so that three 8-byte words can be read
/// from any record's start and [`bits64`] from any bit inside one.
const DATA_PAD: usize = 32;
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

/// The 64 bits of `bytes` from bit `at` on, least significant first (nine
/// bytes must exist from byte `at / 8`).
#[inline]
fn bits64(bytes: &[u8], at: usize) -> u64 {
    let shift = (at % 8) as u32;
    let next = u64::from(bytes[at / 8 + 8]);
    // `(next << 1) << (63 - shift)` is `next << (64 - shift)`, and 0 when
    // the shift is 0.
    (word_at(bytes, at / 8) >> shift) | ((next << 1) << (63 - shift))
}

/// ORs the `width` (<= 56) bits of `value` into `bytes` at bit `at`.
#[inline]
fn put_bits(bytes: &mut [u8], at: usize, value: u64, width: u32) {
    debug_assert!(width <= 56 && value >> width == 0);
    let w = word_at(bytes, at / 8) | value << (at % 8);
    bytes[at / 8..at / 8 + 8].copy_from_slice(&w.to_le_bytes());
}

/// The position of the `j`-th (from 0) set bit of `w`, which has more.
#[inline]
fn select_in_word(mut w: u64, j: u32) -> u32 {
    for _ in 0..j {
        w &= w - 1;
    }
    w.trailing_zeros()
}

/// `KEEP[n]`: the high bits of the bytes of three words (24 entries) that
/// are among the first `n` entries.
static KEEP: [[u64; 3]; 25] = {
    let mut table = [[0u64; 3]; 25];
    let mut n = 0;
    while n <= 24 {
        let mut w = 0;
        while w < 3 {
            let mut byte = 0;
            while byte < 8 {
                if 8 * w + byte < n {
                    table[n][w] |= 0x80 << (8 * byte);
                }
                byte += 1;
            }
            w += 1;
        }
        n += 1;
    }
    table
};

/// Calls `hit` with each entry `k` of a bucket of `len` entries whose
/// filter byte (the bytes from `at`) is within `budget` bits of the query's
/// (`q`: the byte repeated eight times).
#[inline]
fn filter(data: &[u8], at: usize, len: usize, q: u64, budget: u32, hit: impl FnMut(u32)) {
    // One branch a bucket (on the budget, which changes once per weight of
    // the probe masks) picks a loop with its byte test inlined.
    match budget {
        0 => filter_by(data, at, len, q, zero_bytes, hit),
        b if b >= BYTE_BITS => filter_by(data, at, len, q, |_| HIGHS, hit),
        b => filter_by(data, at, len, q, |x| light_bytes(x, b), hit),
    }
}

/// [`filter`] with `test` giving the high bit of each byte of a word (the
/// filter bytes XOR the query's) that passes.
///
/// The first 24 entries (a bucket holds about 16) are tested as three
/// words without branching on the length, so the loop does not mispredict.
#[inline(always)]
fn filter_by(
    data: &[u8],
    at: usize,
    len: usize,
    q: u64,
    test: impl Fn(u64) -> u64,
    mut hit: impl FnMut(u32),
) {
    let keep = &KEEP[len.min(24)];
    let m0 = test(word_at(data, at) ^ q) & keep[0];
    let m1 = test(word_at(data, at + 8) ^ q) & keep[1];
    let m2 = test(word_at(data, at + 16) ^ q) & keep[2];
    if m0 | m1 | m2 != 0 {
        for (from, mut m) in [(0u32, m0), (8, m1), (16, m2)] {
            while m != 0 {
                hit(from + m.trailing_zeros() / 8);
                m &= m - 1;
            }
        }
    }
    let mut from = 24;
    while from < len {
        let keep = KEEP[(len - from).min(8)][0];
        let mut m = test(word_at(data, at + from) ^ q) & keep;
        while m != 0 {
            hit(from as u32 + m.trailing_zeros() / 8);
            m &= m - 1;
        }
        from += 8;
    }
}

/// Buckets per block of the directory, at most: a record's offset is kept
/// relative to its block's start in 16 bits, so a table whose records are
/// unusually large somewhere (many hashes sharing a substring) uses smaller
/// blocks, down to one bucket a block (see [`block_bits`]).
const BLOCK_BITS: u32 = 6;

/// A segment holds at most this many entries (so that its bucket counts
/// stay far inside `u32`); the index builds several rather than a larger
/// one. Small under test, so that tests split.
pub(crate) const MAX_ENTRIES: usize = if cfg!(test) { 1 << 12 } else { 1 << 29 };

/// One substring's table.
///
/// The entries are sorted by the top `bits` bits of their substring (the
/// bucket) and, within a bucket, by id. Bucket `b` with `m > 0` entries is
/// one byte-aligned record:
///
/// - `m` filter bytes: the 8 bits of each entry's key after the
///   directory bits;
/// - `m` bits: each entry's ninth bit, the key's next bit;
/// - the ids, Elias–Fano style: `m + slack` bits of `id >> low_bits` in
///   unary (entry `j` sets bit `(id_j >> low_bits) + j`; `slack` is
///   `(max_id >> low_bits) + 1`, with `low_bits` chosen so that it is
///   between one and two times the average bucket), then `m * low_bits`
///   bits of their low bits, then up to 7 bits of padding.
///
/// An empty bucket has no record. A probe reads the record's offset from
/// the directory and the record itself, and an entry that passes the
/// filter byte has its ninth bit and its id in the bits right after the
/// filter bytes, usually in the cache line just read. A record's size gives back its `m` (see
/// [`Table::bucket`]), so the directory is one `u16` per bucket (the
/// record's offset within its block of up to 64 buckets) plus a `u64` per
/// block. About `9 + log2(n / m) + 2.5` bits an entry for buckets of about
/// `m`, plus a little over 2 bytes a bucket.
#[derive(Debug)]
struct Table {
    /// Where each bucket's record starts, relative to its block's start
    /// (`offsets[b + 1]` ends it).
    offsets: Vec<u16>,
    /// Where each block of `2^block_bits` buckets starts.
    blocks: Vec<u64>,
    block_bits: u32,
    data: Vec<u8>,
    low_bits: u32,
    /// Bits of a record's unary part beyond one per entry.
    slack: usize,
    len: usize,
}

/// The most block bits, up to `max`, for which every bucket's record starts
/// within 64 KiB of its block's start (`sizes`: each bucket's record size).
/// Zero always works: a block of one bucket starts where its record does.
fn block_bits(sizes: &[usize], max: u32) -> u32 {
    (1..=max)
        .rev()
        .find(|&g| {
            sizes.chunks(1 << g).all(|block| {
                // The last bucket's offset is the sum of all the others.
                block[..block.len() - 1].iter().sum::<usize>() <= usize::from(u16::MAX)
            })
        })
        .unwrap_or(0)
}

/// Where a bucket's record starts and how many entries it has.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    at: usize,
    len: u32,
}

impl Table {
    fn build(
        layout: &Layout,
        t: usize,
        bits: u32,
        ids: &[u32],
        hashes: &[Words],
        max_id: u32,
    ) -> Table {
        let keys: Vec<u32> = ids
            .iter()
            .map(|&id| layout.key(&hashes[id as usize], t))
            .collect();
        Table::from_keys(bits, &keys, ids, max_id)
    }

    /// The table of entries `(keys[i], ids[i])`, `ids` ascending.
    fn from_keys(bits: u32, keys: &[u32], ids: &[u32], max_id: u32) -> Table {
        let n = ids.len();
        // A counting sort by the directory bits.
        let buckets = 1usize << bits;
        let mut starts = vec![0u32; buckets + 1];
        for &k in keys {
            starts[high_of(k, bits) as usize + 1] += 1;
        }
        for b in 1..=buckets {
            starts[b] += starts[b - 1];
        }
        // Entries in id order (`ids` ascends), placed by bucket.
        let mut cursor = starts[..buckets].to_vec();
        let mut filters = vec![0u16; n];
        let mut placed = vec![0u32; n];
        for (&k, &id) in keys.iter().zip(ids) {
            let slot = &mut cursor[high_of(k, bits) as usize];
            let pos = *slot as usize;
            *slot += 1;
            filters[pos] = low_of(k, bits);
            placed[pos] = id;
        }
        drop(cursor);

        let low_bits = id_low_bits(max_id, n as f64 / buckets as f64);
        let slack = ((u64::from(max_id) >> low_bits) + 1) as usize;
        let record = |m: usize| {
            if m == 0 {
                0
            } else {
                m + (m * (2 + low_bits as usize) + slack).div_ceil(8)
            }
        };

        let sizes: Vec<usize> = starts
            .windows(2)
            .map(|w| record((w[1] - w[0]) as usize))
            .collect();
        let block_bits = block_bits(&sizes, BLOCK_BITS.min(bits));
        let mut offsets = vec![0u16; buckets + 1];
        let mut blocks = vec![0u64; (buckets >> block_bits) + 1];
        let mut total = 0usize;
        for b in 0..=buckets {
            if b % (1 << block_bits) == 0 {
                blocks[b >> block_bits] = total as u64;
            }
            let relative = total - blocks[b >> block_bits] as usize;
            offsets[b] = u16::try_from(relative).expect("block_bits keeps offsets in 16 bits");
            if b < buckets {
                total += sizes[b];
            }
        }
        let mut data = Vec::with_capacity(total + DATA_PAD);
        huge_pages(&data);
        data.resize(total + DATA_PAD, 0u8);
        let low_mask = (1u64 << low_bits) - 1;
        let mut at = 0usize;
        for b in 0..buckets {
            let (s, e) = (starts[b] as usize, starts[b + 1] as usize);
            let m = e - s;
            let ninths = 8 * (at + m);
            for (j, &low) in filters[s..e].iter().enumerate() {
                data[at + j] = (low >> 1) as u8;
                put_bits(&mut data, ninths + j, u64::from(low & 1), 1);
            }
            let unary = ninths + m;
            let lows = unary + m + slack;
            for (j, &id) in placed[s..e].iter().enumerate() {
                put_bits(
                    &mut data,
                    unary + (u64::from(id) >> low_bits) as usize + j,
                    1,
                    1,
                );
                let bit = lows + j * low_bits as usize;
                put_bits(&mut data, bit, u64::from(id) & low_mask, low_bits);
            }
            at += sizes[b];
        }
        debug_assert_eq!(at, total);
        Table {
            offsets,
            blocks,
            block_bits,
            data,
            low_bits,
            slack,
            len: n,
        }
    }

    /// Where bucket `b`'s record starts and how many entries it holds.
    #[inline]
    fn bucket(&self, b: usize) -> Bucket {
        let g = self.block_bits;
        let start = self.blocks[b >> g] as usize + usize::from(self.offsets[b]);
        let c = b + 1;
        let end = self.blocks[c >> g] as usize + usize::from(self.offsets[c]);
        // A record of m > 0 entries has 8m + 8 ceil((m (2 + low) + slack)
        // / 8) bits, between m (10 + low) + slack and 7 more: so m is the
        // quotient below.
        let bits = 8 * (end - start);
        let m = bits.saturating_sub(self.slack) / (10 + self.low_bits as usize);
        Bucket {
            at: start,
            len: m as u32,
        }
    }

    /// The id of entry `k` of a bucket.
    #[inline]
    fn id(&self, bucket: Bucket, k: u32) -> u32 {
        let m = bucket.len as usize;
        let unary = 8 * (bucket.at + m) + m;
        let mut at = unary;
        let mut j = k;
        let pos = loop {
            let w = bits64(&self.data, at);
            let ones = w.count_ones();
            if ones > j {
                break at + select_in_word(w, j) as usize;
            }
            j -= ones;
            at += 64;
        };
        let high = (pos - unary - k as usize) as u64;
        let lows = unary + m + self.slack;
        let low = bits64(&self.data, lows + k as usize * self.low_bits as usize)
            & ((1u64 << self.low_bits) - 1);
        ((high << self.low_bits) | low) as u32
    }

    /// The ninth bit of entry `k` of a bucket (0 or 1).
    #[inline]
    fn ninth(&self, bucket: Bucket, k: u32) -> u8 {
        let bit = 8 * (bucket.at + bucket.len as usize) + k as usize;
        (self.data[bit / 8] >> (bit % 8)) & 1
    }

    /// Every `(low bits, id)` of bucket `b`, in order: the low bits are the
    /// filter byte above the ninth bit, as [`low_of`] gives them.
    fn entries(&self, b: usize) -> Vec<(u16, u32)> {
        let bucket = self.bucket(b);
        let m = bucket.len as usize;
        let unary = 8 * (bucket.at + m) + m;
        let lows = unary + m + self.slack;
        let low_mask = (1u64 << self.low_bits) - 1;
        let mut out = Vec::with_capacity(m);
        let mut at = unary;
        for k in 0..m {
            // The next set bit of the unary part at or after `at`.
            let pos = loop {
                let w = bits64(&self.data, at);
                if w != 0 {
                    break at + w.trailing_zeros() as usize;
                }
                at += 64;
            };
            let high = (pos - unary - k) as u64;
            let low = bits64(&self.data, lows + k * self.low_bits as usize) & low_mask;
            let filter = u16::from(self.data[bucket.at + k]) << 1;
            out.push((
                filter | u16::from(self.ninth(bucket, k as u32)),
                ((high << self.low_bits) | low) as u32,
            ));
            at = pos + 1;
        }
        out
    }

    fn memory_bytes(&self) -> usize {
        self.offsets.capacity() * 2 + self.blocks.capacity() * 8 + self.data.capacity()
    }
}

/// How many probes ahead a search asks for the lines it will read (32
/// measured best of 8 to 64 at ten million hashes).
const AHEAD: usize = 32;

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
    layout: Layout,
    tables: Vec<Table>,
    /// Ids whose entry here is stale (the id was inserted again with another
    /// hash, which lives in a newer segment or the buffer).
    dead: HashSet<u32>,
}

impl Segment {
    /// Builds a segment over `ids` (distinct, all present in `hashes`).
    pub(crate) fn build(ids: &[u32], hashes: &[Words], layout: Layout) -> Segment {
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
            ids.len() <= MAX_ENTRIES,
            "a segment holds at most 2^29 entries"
        );
        let max_id = ids.iter().copied().max().unwrap_or(0);
        let bits = dir_bits(ids.len(), max_id, layout.max_dir_bits());
        let tables = layout.tables();
        let threads = if ids.len() < PARALLEL_MIN {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(tables))
        };
        let tables = if threads <= 1 {
            (0..tables)
                .map(|t| Table::build(&layout, t, bits, ids, hashes, max_id))
                .collect()
        } else {
            let mut slots: Vec<Option<Table>> = (0..tables).map(|_| None).collect();
            std::thread::scope(|scope| {
                let mut chunks: Vec<Vec<(usize, &mut Option<Table>)>> =
                    (0..threads).map(|_| Vec::new()).collect();
                for (t, slot) in slots.iter_mut().enumerate() {
                    chunks[t % threads].push((t, slot));
                }
                for chunk in chunks {
                    scope.spawn(move || {
                        for (t, slot) in chunk {
                            *slot = Some(Table::build(&layout, t, bits, ids, hashes, max_id));
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
            layout,
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
        (0..1usize << self.bits)
            .flat_map(move |b| t.entries(b).into_iter().map(|(_, id)| id))
            .filter(|id| !self.dead.contains(id))
    }

    /// Whether `id` has a current entry here under hash `w`.
    pub(crate) fn holds(&self, id: u32, w: &Words) -> bool {
        if self.dead.contains(&id) {
            return false;
        }
        let key = self.layout.key(w, 0);
        let b = high_of(key, self.bits) as usize;
        let l = low_of(key, self.bits);
        self.tables[0].entries(b).contains(&(l, id))
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
    /// Each table is probed in phases: bucket bounds from the directory,
    /// then a branch-free filter on the records' low bytes, then the ids
    /// and hashes of what passed, then verification. The first two loops
    /// prefetch the lines of the probe [`AHEAD`] iterations on and the
    /// hashes are touched in a loop of bare loads, so the processor keeps
    /// many cache misses in flight instead of waiting for each in turn.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn search(
        &self,
        q: &Words,
        d: u32,
        radii: &[i32; MAX_TABLES],
        hashes: &[Words],
        scratch: &mut Scratch,
        out: &mut Vec<(u32, u32)>,
        counters: &mut Counters,
    ) {
        let bits = self.bits;
        let mask = resolution_mask(bits);
        let layout = &self.layout;
        let qsub: [u32; MAX_TABLES] = std::array::from_fn(|t| {
            if t < layout.tables() {
                layout.key(q, t)
            } else {
                0
            }
        });
        let mut masks_for = i32::MIN;
        for (t, table) in self.tables.iter().enumerate() {
            let r = radii[t];
            if r < 0 {
                continue;
            }
            if r != masks_for {
                // All masks of weight <= r over the directory bits, each with
                // the radius left for the low bits.
                scratch.masks.clear();
                for weight in 0..=(r as u32).min(bits) {
                    let left = (r - weight as i32) as u32;
                    for_each_mask(bits, weight, |m| scratch.masks.push((m, left)));
                }
                masks_for = r;
            }
            let key = qsub[t];
            let (qh, ql) = (high_of(key, bits), low_of(key, bits));
            counters.probes += scratch.masks.len() as u64;
            if table.len == 0 {
                continue;
            }

            // Each loop asks for the lines of the probe AHEAD iterations on
            // while it works on this one, so the misses overlap each other
            // and the work.
            let masks = &scratch.masks;
            let buckets = &mut scratch.buckets;
            buckets.clear();
            for &(m, _) in masks.iter().take(AHEAD) {
                prefetch(&table.offsets, (qh ^ m) as usize);
            }
            for (j, &(m, _)) in masks.iter().enumerate() {
                if let Some(&(ahead, _)) = masks.get(j + AHEAD) {
                    prefetch(&table.offsets, (qh ^ ahead) as usize);
                }
                buckets.push(table.bucket((qh ^ m) as usize));
            }
            let data = &table.data;
            // The first and last byte the filter reads: its 24 bytes may
            // span two lines.
            let ask = |bucket: &Bucket| {
                prefetch(data, bucket.at);
                prefetch(data, bucket.at + 23);
            };
            buckets.iter().take(AHEAD).for_each(ask);

            let passed = &mut scratch.passed;
            passed.clear();
            let (q_byte, q_ninth) = ((ql >> 1) as u8, (ql & 1) as u8);
            let qb = ONES * u64::from(q_byte);
            for (i, (&bucket, &(_, left))) in buckets.iter().zip(masks).enumerate() {
                if let Some(ahead) = buckets.get(i + AHEAD) {
                    ask(ahead);
                }
                let budget = left.min(BYTE_BITS);
                filter(data, bucket.at, bucket.len as usize, qb, budget, |k| {
                    // The byte is within `budget`; the ninth bit may add one.
                    let within = left > BYTE_BITS
                        || table.ninth(bucket, k) == q_ninth
                        || (data[bucket.at + k as usize] ^ q_byte).count_ones() < left;
                    if within {
                        passed.push((i as u32, k));
                    }
                });
            }
            counters.candidates += passed.len() as u64;

            // Entries to ids (their bits follow the filter bytes just
            // read), touch the hashes, then verify.
            let cand = &mut scratch.candidates;
            cand.clear();
            cand.extend(
                passed
                    .iter()
                    .map(|&(i, k)| table.id(buckets[i as usize], k)),
            );
            let n = cand.len();
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
                        && ((layout.key(h, u) ^ qsub[u]) & mask).count_ones() as i32 <= radii[u]
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
    /// (directory mask, radius left for the low bits) for the current
    /// radius.
    masks: Vec<(u32, u32)>,
    /// The current table's probed buckets.
    buckets: Vec<Bucket>,
    /// (probe, entry of its bucket) of each entry that passed the filter.
    passed: Vec<(u32, u32)>,
    /// The ids of those entries.
    candidates: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radii_follow_the_refined_pigeonhole_bound() {
        let eight = Layout::default();
        let radii = |d| eight.radii(d)[..8].to_vec();
        assert_eq!(radii(0), [0, -1, -1, -1, -1, -1, -1, -1]);
        assert_eq!(radii(5), [0, 0, 0, 0, 0, 0, -1, -1]);
        assert_eq!(radii(31), [3; 8]);
        assert_eq!(radii(32), [4, 3, 3, 3, 3, 3, 3, 3]);
        assert_eq!(radii(256), [32, 31, 31, 31, 31, 31, 31, 31]);
        assert_eq!(radii(1000), radii(256));
        assert_eq!(eight.radii(31)[8..], [-1; 4]);
        assert_eq!(
            Layout::new(10).radii(31)[..],
            [3, 3, 2, 2, 2, 2, 2, 2, 2, 2, -1, -1]
        );
        assert_eq!(
            Layout::new(12).radii(31)[..],
            [2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1]
        );
        // The bound: no split of d + 1 differing bits stays under every
        // table's radius.
        for tables in TABLES..=MAX_TABLES {
            let layout = Layout::new(tables);
            for d in 0..=256u32 {
                // Unused tables have radius -1 and add nothing.
                let slack: i32 = layout.radii(d).iter().map(|r| r + 1).sum();
                assert_eq!(slack, d.min(256) as i32 + 1, "{tables} tables, d = {d}");
            }
        }
    }

    /// Every layout cuts the 256 bits into runs that cover each bit once,
    /// the wider runs first, and a key is its run's bits, top-aligned.
    #[test]
    fn keys_are_the_substrings_top_aligned() {
        let mut rng = crate::testing::Rng(5);
        for tables in TABLES..=MAX_TABLES {
            let layout = Layout::new(tables);
            let widths: Vec<u32> = (0..tables).map(|t| layout.width(t)).collect();
            assert_eq!(widths.iter().sum::<u32>(), 256);
            assert!(widths.windows(2).all(|w| w[0] >= w[1] && w[0] - w[1] <= 1));
            assert!(layout.max_dir_bits() <= widths[tables - 1]);
            for _ in 0..50 {
                let w = to_words(&rng.hash());
                let mut start = 0;
                for (t, &width) in widths.iter().enumerate() {
                    // Bit at a time: bit `start + i` of the hash is bit
                    // `31 - (width - 1 - i)` of the key.
                    let mut want = 0u32;
                    for i in 0..width {
                        let bit = start + i;
                        let set = (w[(bit / 64) as usize] >> (bit % 64)) & 1;
                        want |= (set as u32) << (32 - width + i);
                    }
                    assert_eq!(layout.key(&w, t), want, "{tables} tables, substring {t}");
                    start += width;
                }
            }
        }
        // Eight tables: the key is the 32-bit substring itself.
        let w = [0x0123_4567_89ab_cdef, 1 << 63, 0, u64::MAX];
        let eight = Layout::default();
        assert_eq!(eight.key(&w, 0), 0x89ab_cdef);
        assert_eq!(eight.key(&w, 1), 0x0123_4567);
        assert_eq!(eight.key(&w, 3), 0x8000_0000);
        assert_eq!(eight.key(&w, 7), u32::MAX);
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
    fn tables_round_trip_at_every_width_and_bucket_size() {
        let mut rng = crate::testing::Rng(4);
        let bits = 4u32;
        for max in [0u32, 1, 15, 16, 200, 60_000, 16_000_000, u32::MAX] {
            for sizes in [
                vec![0usize, 1, 0, 3],
                vec![16; 16],
                vec![40, 0, 47, 48, 49, 63, 64, 65, 130, 1, 0, 254, 255, 7],
                vec![300],
                vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1000, 2],
            ] {
                // Distinct ids, ascending, dealt to buckets at random.
                let total: usize = sizes.iter().sum();
                let mut ids: Vec<u32> = Vec::with_capacity(total);
                while ids.len() < total.min(max as usize + 1) {
                    let id = match ids.len() {
                        0 => max,
                        1 => 0,
                        _ => (rng.next_u64() % (u64::from(max) + 1)) as u32,
                    };
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                ids.sort_unstable();
                let keys = dealt_keys(&sizes, ids.len(), bits, &mut rng);
                let table = Table::from_keys(bits, &keys, &ids, max);
                assert_round_trip(
                    &table,
                    bits,
                    &keys,
                    &ids,
                    &format!("max {max} sizes {sizes:?}"),
                );
            }
        }
    }

    /// `n` random keys of `bits` directory bits, `sizes[b]` of them (while
    /// they last) in bucket `b`, in random order.
    fn dealt_keys(sizes: &[usize], n: usize, bits: u32, rng: &mut crate::testing::Rng) -> Vec<u32> {
        let mut buckets: Vec<u32> = sizes
            .iter()
            .enumerate()
            .flat_map(|(b, &c)| std::iter::repeat_n(b as u32, c))
            .take(n)
            .collect();
        for i in (1..buckets.len()).rev() {
            buckets.swap(i, rng.below(i as u64 + 1) as usize);
        }
        buckets
            .iter()
            .map(|&b| b << (32 - bits) | (rng.next_u64() as u32 >> bits))
            .collect()
    }

    /// Every bucket of `table` holds exactly the `(low bits, id)` of the
    /// entries `(keys[i], ids[i])` that fall in it, in order.
    fn assert_round_trip(table: &Table, bits: u32, keys: &[u32], ids: &[u32], case: &str) {
        for b in 0..1usize << bits {
            let want: Vec<(u16, u32)> = keys
                .iter()
                .zip(ids)
                .filter(|(k, _)| high_of(**k, bits) as usize == b)
                .map(|(&k, &id)| (low_of(k, bits), id))
                .collect();
            let case = format!("{case} bucket {b}");
            assert_eq!(table.entries(b), want, "{case}");
            let bucket = table.bucket(b);
            assert_eq!(bucket.len as usize, want.len(), "{case}");
            for (k, &(low, id)) in want.iter().enumerate() {
                assert_eq!(table.id(bucket, k as u32), id, "{case} entry {k}");
                assert_eq!(
                    table.data[bucket.at + k],
                    (low >> 1) as u8,
                    "{case} entry {k}"
                );
                assert_eq!(
                    table.ninth(bucket, k as u32),
                    (low & 1) as u8,
                    "{case} entry {k}"
                );
            }
        }
    }

    #[test]
    fn directory_blocks_keep_offsets_in_16_bits() {
        assert_eq!(block_bits(&[100; 64], BLOCK_BITS), BLOCK_BITS);
        assert_eq!(block_bits(&[100; 64], 3), 3);
        assert_eq!(block_bits(&[1, 70_000, 1, 1], 2), 1);
        assert_eq!(block_bits(&[70_000, 1, 1, 1], 2), 0);
        assert_eq!(block_bits(&[65_535, 0, 1, 1], 2), 1);
        assert_eq!(block_bits(&[65_535, 1, 1, 1], 1), 1);
        assert_eq!(block_bits(&[5], 0), 0);

        // Many hashes sharing a substring: a bucket of 40,000 entries, its
        // record over 64 KiB, just before another large one. The table
        // falls back to one bucket a block and still gives every entry back.
        let mut rng = crate::testing::Rng(11);
        let bits = 6u32;
        for (sizes, want_block_bits) in [
            (vec![3usize; 64], BLOCK_BITS),
            (
                {
                    let mut v = vec![3usize; 64];
                    v[4] = 40_000;
                    v[5] = 20_000;
                    v
                },
                0,
            ),
        ] {
            let total: usize = sizes.iter().sum();
            let ids: Vec<u32> = (0..total as u32).collect();
            let keys = dealt_keys(&sizes, total, bits, &mut rng);
            let table = Table::from_keys(bits, &keys, &ids, total as u32 - 1);
            assert_eq!(table.block_bits, want_block_bits, "sizes {sizes:?}");
            assert_round_trip(&table, bits, &keys, &ids, &format!("{total} entries"));
        }
    }

    #[test]
    fn bit_reads_match_a_bit_at_a_time() {
        let mut rng = crate::testing::Rng(7);
        let mut bytes = vec![0u8; 64 + DATA_PAD];
        let mut want = vec![false; 64 * 8];
        for _ in 0..300 {
            let width = 1 + rng.below(56) as u32;
            let at = rng.below((64 * 8 - u64::from(width)) + 1) as usize;
            // Only into zero bits, as the builder writes.
            if (at..at + width as usize).any(|i| want[i]) {
                continue;
            }
            let value = rng.next_u64() & ((1u64 << width) - 1);
            put_bits(&mut bytes, at, value, width);
            for i in 0..width as usize {
                want[at + i] = value >> i & 1 == 1;
            }
        }
        for at in 0..64 * 8 - 64 {
            let expect = (0..64).fold(0u64, |w, i| w | u64::from(want[at + i]) << i);
            assert_eq!(bits64(&bytes, at), expect, "bit {at}");
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
        let mut data: Vec<u8> = (0..100).map(|_| rng.below(16) as u8 * 17).collect();
        data.extend([0xAB; DATA_PAD]);
        for at in 0..40 {
            for len in 0..50 {
                for ql in [0u8, 0x11, 0x22, 0xFF, 0x0F] {
                    for budget in 0..=8 {
                        let mut got = Vec::new();
                        filter(&data, at, len, ONES * u64::from(ql), budget, |k| {
                            got.push(k)
                        });
                        let want: Vec<u32> = (0..len)
                            .filter(|&k| (data[at + k] ^ ql).count_ones() <= budget)
                            .map(|k| k as u32)
                            .collect();
                        assert_eq!(got, want, "{at}+{len} ql {ql} budget {budget}");
                    }
                }
            }
        }
    }

    /// The estimate the directory is sized by is what a table of random
    /// keys really costs, to a fraction of a bit.
    #[test]
    fn entry_bits_estimate_what_a_table_costs() {
        let mut rng = crate::testing::Rng(17);
        let n = 200_000usize;
        for max_id in [n as u32 - 1, 4 * n as u32] {
            let mut ids: Vec<u32> = if max_id as usize == n - 1 {
                (0..n as u32).collect()
            } else {
                (0..n)
                    .map(|_| rng.below(u64::from(max_id) + 1) as u32)
                    .collect()
            };
            ids.sort_unstable();
            ids.dedup();
            let keys: Vec<u32> = ids.iter().map(|_| rng.next_u64() as u32).collect();
            for bits in [10, 12, 13, 14] {
                let table = Table::from_keys(bits, &keys, &ids, max_id);
                let real = (table.memory_bytes() * 8) as f64 / ids.len() as f64;
                let estimate = entry_bits(ids.len(), max_id, bits);
                assert!(
                    (real - estimate).abs() < 0.25,
                    "max id {max_id}, {bits} bits: {real:.2} real, {estimate:.2} estimated"
                );
            }
        }
    }

    #[test]
    fn directory_grows_with_the_segment() {
        let dense = |n: usize| dir_bits(n, n.saturating_sub(1) as u32, MAX_DIR_BITS);
        assert_eq!(dense(0), 0);
        assert_eq!(dense(16), 0);
        assert_eq!(dense(1000), 6);
        assert_eq!(dense(1_000_000), 16);
        assert_eq!(dense(10_000_000), 19);
        // Buckets of 16 would make an entry cost more than the cap here.
        assert_eq!(dense(14_000_000), 19);
        assert_eq!(dense(30_000_000), 19);
        assert_eq!(Layout::new(12).max_dir_bits(), 21);
        assert!(dir_bits(1 << 29, u32::MAX, 21) <= 21);
        // Sparse ids cost more bits, so the directory shrinks further.
        assert!(dir_bits(1_000_000, u32::MAX, MAX_DIR_BITS) < dense(1_000_000));
        for n in (1..=60).map(|m| m * 1_000_000) {
            let bits = dense(n);
            assert!(entry_bits(n, n as u32 - 1, bits) <= ENTRY_BITS_CAP, "{n}");
        }
        assert_eq!(resolution_mask(23), u32::MAX);
        assert_eq!(resolution_mask(0), 0xFF80_0000);
    }
}
