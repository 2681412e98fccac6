//! Exact near-duplicate search over 256-bit PDQ hashes, with no I/O.
//!
//! The main type is [`PdqIndex`]: it holds `(id, hash)` pairs and answers
//! [`PdqIndex::radius`], *every* stored hash within a Hamming distance of a
//! query, sorted by `(distance, id)`. Results are exact for every radius from
//! 0 to 256: the same set [`brute_force`] finds, never fewer, never more.
//!
//! # How it works
//!
//! Multi-index hashing (Norouzi, Punjani and Fleet, "Fast Exact Search in
//! Hamming Space with Multi-Index Hashing", 2014). The 256 bits are cut into
//! eight 32-bit substrings. If two hashes are within distance `d = 8r + a`
//! (`0 <= a < 8`), then by pigeonhole one of the first `a + 1` substrings
//! differs in at most `r` bits or one of the others in at most `r - 1`. So a
//! query probes, in each of eight tables, the buckets within that small
//! radius of its own substring, and verifies the hashes it finds there with
//! a full 256-bit popcount.
//!
//! Eight tables is the default. [`PdqIndex::with_tables`] cuts the hash
//! into 9 to 12 narrower substrings instead (`d = T r + a` over `T`
//! tables, the same bound): smaller probe radii, so much faster queries,
//! for about 4 bytes a hash more per table (at ten million hashes and
//! `d = 31`, ten tables answer in about half the time at 2.2× the raw
//! hashes; `docs/benchmarks.md` has the numbers).
//!
//! Each table is laid out compactly: entries sorted by the top `b` bits
//! of the substring (the bucket; `b` grows with the table so buckets hold
//! about 16 entries, or more where an entry would otherwise cost over 31.5
//! bits a table), one byte-aligned record per bucket, and a `u16`
//! offset per bucket to find it (the "directory": the record's offset
//! within its block of up to 64 buckets, plus one `u64` start per block;
//! blocks shrink where records are unusually large). A record holds first
//! the next 8 bits of each entry's substring (its filter byte), so a probe
//! filters them eight at a time with word-wide bit tricks: an exact byte
//! match when the probe has no bits of its radius left for them (most
//! probes), a per-byte popcount bound otherwise, the test chosen once per
//! bucket. Then one more bit of each entry's substring (its ninth bit),
//! which an entry that passed the byte test must also fit in the radius:
//! that bit costs an eighth of a byte an entry and halves the candidates.
//! Then come the entries'
//! ids, ascending and Elias–Fano coded (the top bits in unary, the low
//! bits packed), about `log2(n / 2^b) + 2.5` bits an id; an entry that
//! passes the filter decodes its id from the bits right after the filter
//! bytes, usually the cache line the filter just read, and only then reads
//! its hash. A record's length gives back its number of entries. All of it
//! comes to just under 4 bytes per hash per table, so the index takes
//! under twice the raw hashes (its own copy of them included) at every
//! size: the directory is sized so that an entry costs at most 31.5 bits
//! a table.
//! A candidate seen in several tables is reported only by the first table
//! that would have produced it, which needs no visited set. A query is
//! mostly cache misses, so the loops over a table's probes prefetch the
//! directory entry and record of the probe 32 iterations ahead while they
//! work on the current one, and the large arrays (the hashes, each table's
//! records) ask the kernel for transparent huge pages (the workspace's only
//! `unsafe` calls, two hints in `hints.rs`).
//!
//! Inserts go to a small buffer that queries scan linearly; when it fills,
//! it becomes an immutable segment, and segments of similar size are merged
//! (a logarithmic method), so each insert costs amortised `O(log n)` entry
//! moves and queries see a handful of segments. Bulk loading
//! ([`PdqIndex::from_hashes`], [`FromIterator`], [`Extend`]) builds one
//! segment with two counting-sort passes per table.
//!
//! When the radius is so large that probing would touch most buckets (about
//! `d >= 56` at ten million hashes), the query falls back to a linear scan
//! over the contiguous hash array; [`SearchPlan`] lets a caller force
//! either path.
//!
//! ```
//! use sightline_index::{PdqIndex, hamming};
//!
//! let a = [0u8; 32];
//! let mut b = a;
//! b[0] = 0b111; // three bits away
//! let mut index = PdqIndex::new();
//! index.insert(7, &a);
//! index.insert(9, &b);
//! assert_eq!(index.radius(&a, 31), vec![(7, 0), (9, 3)]);
//! assert_eq!(index.radius(&a, 2), vec![(7, 0)]);
//! assert_eq!(hamming(&a, &b), 3);
//! ```

mod hints;
mod index;
mod segment;
#[doc(hidden)]
pub mod testing;

pub use index::{PdqIndex, SearchPlan, SearchStats};

/// A 256-bit PDQ hash as 32 bytes. Distances do not depend on the bit
/// order, as long as every hash uses the same one.
pub type Hash256 = [u8; 32];

/// The default PDQ match radius: hashes at distance 31 or less are treated
/// as the same picture.
pub const DEFAULT_MAX_DISTANCE: u32 = 31;

/// The number of bits that differ between `a` and `b` (0..=256).
#[inline]
pub fn hamming(a: &Hash256, b: &Hash256) -> u32 {
    segment::distance(&segment::to_words(a), &segment::to_words(b))
}

/// The reference answer: every `(index in hashes, distance)` with distance
/// at most `max_distance`, sorted by `(distance, index)`, found by comparing
/// the query with every hash.
///
/// # Panics
///
/// If `hashes` has more than `u32::MAX + 1` elements.
pub fn brute_force(hashes: &[Hash256], query: &Hash256, max_distance: u32) -> Vec<(u32, u32)> {
    let q = segment::to_words(query);
    let mut out: Vec<(u32, u32)> = hashes
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let dist = segment::distance(&segment::to_words(h), &q);
            (dist <= max_distance).then(|| (u32::try_from(i).expect("at most 2^32 hashes"), dist))
        })
        .collect();
    out.sort_unstable_by_key(|&(id, dist)| (dist, id));
    out
}
