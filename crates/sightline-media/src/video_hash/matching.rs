//! The reference vPDQ match rule, plus the time ranges that matched.
//!
//! As python-threatexchange's brute-force matcher (`match_VPDQ_hash_brute`,
//! the rule HMA applies and the one the vPDQ README describes):
//!
//! 1. each side is **deduplicated by hash value** over the whole video, the
//!    first occurrence kept (identical hashes anywhere count once, not only
//!    consecutive ones), and **then** frames of quality below the threshold
//!    (default 50) are dropped;
//! 2. a frame of one side matches if **any** frame of the other side lies
//!    within Hamming distance `<=` the threshold (default 31);
//! 3. query-matched % = matched query frames × 100 / query frames left, and
//!    the same the other way round;
//! 4. it is a match when query % ≥ the query threshold (default 80) and
//!    compared % ≥ the compared threshold (default 0).
//!
//! The C++ `matchTwoHashBrute` differs (no deduplication, distance `<`
//! threshold); it is not what the exchanged hashes are matched with.
//! Where the reference divides by zero (nothing left after filtering), the
//! percentage here is 0 and it is not a match.
//!
//! Ranges are extra: over the frames as hashed (not deduplicated), every
//! frame of sufficient quality within the distance of the other side's
//! filtered frames is marked, and runs of marked frames adjacent in the
//! list are merged. A frame below the quality threshold ends a run: a range
//! only spans frames that were actually compared.

use crate::pdq::PdqHash;

use super::VpdqFrame;

/// Thresholds of the match rule.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MatchOptions {
    /// Frames of lower quality are ignored (reference: 50).
    pub quality_threshold: u8,
    /// Frames match within this Hamming distance, inclusive (reference: 31).
    pub distance_threshold: u32,
    /// Minimum query-matched percentage for a match (reference: 80).
    pub query_match_threshold: f64,
    /// Minimum compared-matched percentage for a match (reference: 0).
    pub compared_match_threshold: f64,
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions {
            quality_threshold: 50,
            distance_threshold: 31,
            query_match_threshold: 80.0,
            compared_match_threshold: 0.0,
        }
    }
}

/// A run of consecutive matched frames on one side.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MatchRange {
    /// Frame number (in the original stream) of the first matched frame.
    pub first_frame: u32,
    /// Frame number of the last matched frame.
    pub last_frame: u32,
    /// Timestamp (seconds) of the first matched frame.
    pub start: f64,
    /// Timestamp (seconds) of the last matched frame.
    pub end: f64,
    /// How many hashed frames the run holds.
    pub frames: usize,
}

/// The outcome of comparing a query video's hashes with a compared video's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VpdqMatch {
    pub query_match_percent: f64,
    pub compared_match_percent: f64,
    pub is_match: bool,
    /// Query frames left after deduplication and the quality filter.
    pub query_frames: usize,
    /// Compared frames left after deduplication and the quality filter.
    pub compared_frames: usize,
    /// How many of `query_frames` matched.
    pub query_matched: usize,
    /// How many of `compared_frames` matched.
    pub compared_matched: usize,
    /// Matching stretches of the query video.
    pub query_ranges: Vec<MatchRange>,
    /// Matching stretches of the compared video.
    pub compared_ranges: Vec<MatchRange>,
}

/// A hash as four words, for a fast Hamming distance.
#[derive(Clone, Copy)]
struct Words([u64; 4]);

impl Words {
    fn of(h: &PdqHash) -> Words {
        let mut w = [0u64; 4];
        for (i, c) in h.0.chunks_exact(8).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            w[i] = u64::from_le_bytes(b);
        }
        Words(w)
    }

    fn within(&self, other: &Words, max: u32) -> bool {
        let d = (self.0[0] ^ other.0[0]).count_ones()
            + (self.0[1] ^ other.0[1]).count_ones()
            + (self.0[2] ^ other.0[2]).count_ones()
            + (self.0[3] ^ other.0[3]).count_ones();
        d <= max
    }
}

/// Dedupe by hash value (first kept), then drop low quality: the
/// reference's order.
fn prepare(frames: &[VpdqFrame], quality: u8) -> Vec<Words> {
    let mut seen = std::collections::HashSet::with_capacity(frames.len());
    frames
        .iter()
        .filter(|f| seen.insert(f.hash))
        .filter(|f| f.quality >= quality)
        .map(|f| Words::of(&f.hash))
        .collect()
}

fn any_within(h: &Words, others: &[Words], max: u32) -> bool {
    others.iter().any(|o| h.within(o, max))
}

fn percent(matched: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        matched as f64 * 100.0 / total as f64
    }
}

/// Per-frame match flags over the full list (`None` = below quality).
fn ranges(frames: &[VpdqFrame], others: &[Words], opts: &MatchOptions) -> Vec<MatchRange> {
    let mut out: Vec<MatchRange> = Vec::new();
    let mut open = false;
    for f in frames {
        let matched = f.quality >= opts.quality_threshold
            && any_within(&Words::of(&f.hash), others, opts.distance_threshold);
        if !matched {
            open = false;
            continue;
        }
        match out.last_mut() {
            Some(r) if open => {
                r.last_frame = f.frame;
                r.end = f.timestamp;
                r.frames += 1;
            }
            _ => {
                out.push(MatchRange {
                    first_frame: f.frame,
                    last_frame: f.frame,
                    start: f.timestamp,
                    end: f.timestamp,
                    frames: 1,
                });
                open = true;
            }
        }
    }
    out
}

/// Compare two videos' vPDQ hashes with the reference rule.
pub fn match_vpdq(query: &[VpdqFrame], compared: &[VpdqFrame], opts: &MatchOptions) -> VpdqMatch {
    let q = prepare(query, opts.quality_threshold);
    let c = prepare(compared, opts.quality_threshold);
    let d = opts.distance_threshold;
    let query_matched = q.iter().filter(|h| any_within(h, &c, d)).count();
    let compared_matched = c.iter().filter(|h| any_within(h, &q, d)).count();
    let query_match_percent = percent(query_matched, q.len());
    let compared_match_percent = percent(compared_matched, c.len());
    let is_match = !q.is_empty()
        && !c.is_empty()
        && query_match_percent >= opts.query_match_threshold
        && compared_match_percent >= opts.compared_match_threshold;
    VpdqMatch {
        query_match_percent,
        compared_match_percent,
        is_match,
        query_frames: q.len(),
        compared_frames: c.len(),
        query_matched,
        compared_matched,
        query_ranges: ranges(query, &c, opts),
        compared_ranges: ranges(compared, &q, opts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(fill: u8, flip_bits: usize) -> PdqHash {
        let mut b = [fill; 32];
        for k in 0..flip_bits {
            b[k / 8] ^= 1 << (k % 8);
        }
        PdqHash(b)
    }

    fn f(frame: u32, quality: u8, hash: PdqHash) -> VpdqFrame {
        VpdqFrame {
            frame,
            quality,
            hash,
            timestamp: f64::from(frame) / 30.0,
        }
    }

    #[test]
    fn distance_is_inclusive() {
        let q = [f(0, 100, h(0, 0))];
        let at31 = [f(0, 100, h(0, 31))];
        let at32 = [f(0, 100, h(0, 32))];
        let m = match_vpdq(&q, &at31, &MatchOptions::default());
        assert_eq!(
            (m.query_match_percent, m.compared_match_percent),
            (100.0, 100.0)
        );
        assert!(m.is_match);
        let m = match_vpdq(&q, &at32, &MatchOptions::default());
        assert_eq!(m.query_match_percent, 0.0);
        assert!(!m.is_match);
    }

    #[test]
    fn dedupe_then_quality_filter() {
        // The same hash first at low quality, later at high quality: the
        // reference keeps the first occurrence, which the filter then drops.
        let a = h(0xAA, 0);
        let b = h(0x55, 0);
        let q = [f(0, 10, a), f(30, 100, a), f(60, 100, b), f(90, 100, b)];
        let c = [f(0, 100, b)];
        let m = match_vpdq(&q, &c, &MatchOptions::default());
        assert_eq!(m.query_frames, 1);
        assert_eq!(m.query_matched, 1);
        assert_eq!(m.query_match_percent, 100.0);
        // Ranges are over the full list: frames 60 and 90.
        assert_eq!(m.query_ranges.len(), 1);
        assert_eq!(
            (m.query_ranges[0].first_frame, m.query_ranges[0].last_frame),
            (60, 90)
        );
        assert_eq!(m.query_ranges[0].frames, 2);
    }

    #[test]
    fn ranges_split_on_unmatched_and_low_quality() {
        let a = h(0xAA, 0);
        let x = h(0x0F, 0);
        let q = [
            f(0, 100, a),
            f(1, 100, h(0xAA, 3)),
            f(2, 100, x),
            f(3, 100, a),
            f(4, 20, a),
            f(5, 100, a),
        ];
        let c = [f(0, 100, a)];
        let m = match_vpdq(&q, &c, &MatchOptions::default());
        let spans: Vec<(u32, u32)> = m
            .query_ranges
            .iter()
            .map(|r| (r.first_frame, r.last_frame))
            .collect();
        assert_eq!(spans, vec![(0, 1), (3, 3), (5, 5)]);
        assert_eq!(m.compared_ranges.len(), 1);
        // unique high-quality query hashes: a, a', x -> 2 of 3 match
        assert_eq!(m.query_frames, 3);
        assert!((m.query_match_percent - 200.0 / 3.0).abs() < 1e-9);
        assert!(!m.is_match);
        let lenient = MatchOptions {
            query_match_threshold: 60.0,
            ..MatchOptions::default()
        };
        assert!(match_vpdq(&q, &c, &lenient).is_match);
    }

    #[test]
    fn empty_sides_never_match() {
        let m = match_vpdq(&[], &[f(0, 100, h(0, 0))], &MatchOptions::default());
        assert_eq!(m.query_match_percent, 0.0);
        assert!(!m.is_match);
        let zero = MatchOptions {
            query_match_threshold: 0.0,
            ..MatchOptions::default()
        };
        assert!(!match_vpdq(&[f(0, 10, h(0, 0))], &[f(0, 100, h(0, 0))], &zero).is_match);
    }
}
