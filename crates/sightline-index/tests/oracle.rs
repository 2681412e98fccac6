//! `PdqIndex` against `brute_force`: random, clustered and duplicated hashes,
//! queries on and around the boundary, incremental inserts and replacements,
//! every radius the issue names, both search plans. Every comparison is of
//! the whole result: zero misses and zero extras.

use sightline_index::testing::Rng;
use sightline_index::{Hash256, PdqIndex, SearchPlan, brute_force, hamming};

const RADII: [u32; 8] = [0, 1, 8, 31, 32, 64, 100, 256];
const PLANS: [SearchPlan; 3] = [SearchPlan::Auto, SearchPlan::Index, SearchPlan::Scan];

/// Flips aimed at the index's substrings, for boundary tests.
trait SubstringFlips {
    fn flip_per_substring(&mut self, h: &Hash256, counts: &[u32; 8], top_first: bool) -> Hash256;
}

impl SubstringFlips for Rng {
    /// `h` with `counts[t]` distinct bits flipped in substring `t`
    /// (bits `32t..32t+32`). With `top_first`, the flips go to the
    /// substring's most significant byte first (the bits every table
    /// resolves, however small the index), so a probe radius one too small
    /// would miss the hash.
    fn flip_per_substring(&mut self, h: &Hash256, counts: &[u32; 8], top_first: bool) -> Hash256 {
        let mut out = *h;
        for (t, &c) in counts.iter().enumerate() {
            let mut bits: Vec<usize> = (32 * t..32 * t + 32).collect();
            if top_first {
                // Bits 24..32 of the little-endian substring, shuffled, then
                // the rest.
                bits.rotate_left(24);
                for i in 0..8 {
                    let j = i + self.below((8 - i) as u64) as usize;
                    bits.swap(i, j);
                }
                for &b in &bits[..c as usize] {
                    out[b / 8] ^= 1 << (b % 8);
                }
                continue;
            }
            for i in 0..c as usize {
                let j = i + self.below((32 - i) as u64) as usize;
                bits.swap(i, j);
                out[bits[i] / 8] ^= 1 << (bits[i] % 8);
            }
        }
        out
    }
}

/// The answer for an index holding `stored` (`(id, hash)`, ids distinct).
fn oracle(stored: &[(u32, Hash256)], query: &Hash256, d: u32) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = stored
        .iter()
        .filter_map(|(id, h)| {
            let dist = hamming(h, query);
            (dist <= d).then_some((*id, dist))
        })
        .collect();
    out.sort_unstable_by_key(|&(id, dist)| (dist, id));
    out
}

/// Checks every radius and plan for each query; returns how many
/// comparisons were made.
fn check_all(index: &PdqIndex, hashes: &[Hash256], queries: &[Hash256], what: &str) -> usize {
    let mut checks = 0;
    for (qi, q) in queries.iter().enumerate() {
        for d in RADII {
            let want = brute_force(hashes, q, d);
            for plan in PLANS {
                let (got, stats) = index.radius_with(q, d, plan);
                assert_eq!(
                    got, want,
                    "{what}: query {qi}, d = {d}, plan {plan:?} (ran {:?})",
                    stats.plan
                );
                assert_eq!(stats.matches as usize, want.len());
                checks += 1;
            }
        }
    }
    checks
}

/// Queries: some stored hashes as they are, some moved by 1..=40 bits,
/// some random.
fn queries_for(rng: &mut Rng, hashes: &[Hash256], n: usize) -> Vec<Hash256> {
    (0..n)
        .map(|i| {
            let base = hashes[rng.below(hashes.len() as u64) as usize];
            match i % 4 {
                0 => base,
                1 | 2 => {
                    let k = 1 + rng.below(40) as u32;
                    rng.flip(&base, k)
                }
                _ => rng.hash(),
            }
        })
        .collect()
}

#[test]
fn random_hashes_match_brute_force() {
    let mut rng = Rng(1);
    let hashes: Vec<Hash256> = (0..3000).map(|_| rng.hash()).collect();
    let index = PdqIndex::from_hashes(&hashes);
    assert_eq!(index.len(), hashes.len());
    let queries = queries_for(&mut rng, &hashes, 40);
    let checks = check_all(&index, &hashes, &queries, "random");
    assert_eq!(checks, 40 * RADII.len() * PLANS.len());
}

#[test]
fn clustered_hashes_match_brute_force() {
    let mut rng = Rng(2);
    let mut hashes = Vec::new();
    // Near-duplicate groups of 5..=80 around a centre, each member up to 40
    // bits away, plus random background.
    for _ in 0..40 {
        let centre = rng.hash();
        let members = 5 + rng.below(76);
        for _ in 0..members {
            let k = rng.below(41) as u32;
            hashes.push(rng.flip(&centre, k));
        }
    }
    for _ in 0..1000 {
        hashes.push(rng.hash());
    }
    // Shuffle so a cluster's ids are not contiguous.
    for i in (1..hashes.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        hashes.swap(i, j);
    }
    let index = PdqIndex::from_hashes(&hashes);
    let queries = queries_for(&mut rng, &hashes, 48);
    check_all(&index, &hashes, &queries, "clustered");
    // A query at a member of a big cluster finds many matches, and the
    // index still finds exactly those.
    let busiest = hashes
        .iter()
        .max_by_key(|q| brute_force(&hashes, q, 31).len())
        .expect("hashes");
    let found = index.radius(busiest, 31);
    assert!(found.len() >= 5, "a cluster query finds its group");
    assert_eq!(found, brute_force(&hashes, busiest, 31));
}

#[test]
fn exact_duplicates_under_different_ids_are_all_returned() {
    let mut rng = Rng(3);
    let distinct: Vec<Hash256> = (0..5).map(|_| rng.hash()).collect();
    let mut hashes = Vec::new();
    for i in 0..1500 {
        hashes.push(distinct[i % 5]);
    }
    for _ in 0..500 {
        hashes.push(rng.hash());
    }
    let index = PdqIndex::from_hashes(&hashes);
    for (qi, q) in distinct.iter().enumerate() {
        let got = index.radius(q, 0);
        assert_eq!(got.len(), 300, "query {qi}: every copy at distance 0");
        assert!(
            got.iter()
                .all(|&(id, dist)| dist == 0 && id % 5 == qi as u32)
        );
        assert_eq!(got, brute_force(&hashes, q, 0));
    }
    let queries = queries_for(&mut rng, &hashes, 12);
    check_all(&index, &hashes, &queries, "duplicates");
}

/// Distributions of `n` flipped bits over the 8 substrings: all in one,
/// spread as evenly as possible (the pigeonhole edge), and random.
fn spreads(rng: &mut Rng, n: u32) -> Vec<[u32; 8]> {
    let mut out = Vec::new();
    for t in 0..8 {
        if n <= 32 {
            let mut c = [0; 8];
            c[t] = n;
            out.push(c);
        }
    }
    for rotate in 0..8 {
        let mut c = [0; 8];
        for i in 0..n as usize {
            c[(i + rotate) % 8] += 1;
        }
        out.push(c);
    }
    for _ in 0..8 {
        let mut c = [0u32; 8];
        let mut left = n;
        while left > 0 {
            let t = rng.below(8) as usize;
            if c[t] < 32 {
                c[t] += 1;
                left -= 1;
            }
        }
        out.push(c);
    }
    out
}

#[test]
fn boundary_distances_are_exact() {
    let mut rng = Rng(4);
    let query = rng.hash();
    let mut hashes: Vec<Hash256> = (0..2000).map(|_| rng.hash()).collect();
    // Hashes at exactly d - 1, d and d + 1 bits from the query, with the
    // flips spread over the substrings every way that stresses the
    // pigeonhole bound.
    for d in RADII {
        for n in [d.saturating_sub(1), d, d + 1] {
            if n > 256 {
                continue;
            }
            for counts in spreads(&mut rng, n) {
                for top_first in [false, true] {
                    let h = rng.flip_per_substring(&query, &counts, top_first);
                    assert_eq!(hamming(&h, &query), n);
                    hashes.push(h);
                }
            }
        }
    }
    let index = PdqIndex::from_hashes(&hashes);
    for d in RADII {
        let want = brute_force(&hashes, &query, d);
        assert!(
            want.iter().any(|&(_, dist)| dist == d),
            "d = {d}: a hash sits exactly on the boundary"
        );
        for plan in PLANS {
            let (got, _) = index.radius_with(&query, d, plan);
            assert_eq!(got, want, "d = {d}, plan {plan:?}");
            assert!(got.iter().all(|&(_, dist)| dist <= d), "nothing at d + 1");
        }
    }
    // Every radius from 0 to 40, and the same construction around other
    // queries.
    for d in 0..=40 {
        let (got, _) = index.radius_with(&query, d, SearchPlan::Index);
        assert_eq!(got, brute_force(&hashes, &query, d), "d = {d}");
    }
}

#[test]
fn boundary_pairs_around_many_queries() {
    let mut rng = Rng(5);
    let mut hashes = Vec::new();
    let mut queries = Vec::new();
    for _ in 0..30 {
        let q = rng.hash();
        queries.push(q);
        for d in [31u32, 32] {
            for n in [d, d + 1] {
                for counts in spreads(&mut rng, n) {
                    hashes.push(rng.flip_per_substring(&q, &counts, true));
                    hashes.push(rng.flip_per_substring(&q, &counts, false));
                }
            }
        }
    }
    let index = PdqIndex::from_hashes(&hashes);
    for (qi, q) in queries.iter().enumerate() {
        for d in [30u32, 31, 32, 33] {
            let (got, _) = index.radius_with(q, d, SearchPlan::Index);
            assert_eq!(got, brute_force(&hashes, q, d), "query {qi}, d = {d}");
        }
    }
}

#[test]
fn inserts_interleaved_with_queries() {
    let mut rng = Rng(6);
    let mut hashes: Vec<Hash256> = (0..3000).map(|_| rng.hash()).collect();
    let mut index = PdqIndex::from_hashes(&hashes);
    let mut checks = 0;
    // 9000 more, one by one: enough to fill the insert buffer twice and
    // merge segments. Half are near-duplicates of earlier hashes.
    for step in 0..9000 {
        let h = if step % 2 == 0 {
            let base = hashes[rng.below(hashes.len() as u64) as usize];
            let k = rng.below(33) as u32;
            rng.flip(&base, k)
        } else {
            rng.hash()
        };
        let id = hashes.len() as u32;
        index.insert(id, &h);
        hashes.push(h);
        assert_eq!(index.len(), hashes.len());
        if step % 300 == 0 || step == 8999 {
            // The newest hash must be found, plus everything else.
            let found = index.radius(&h, 0);
            assert!(found.contains(&(id, 0)), "step {step}: new hash found");
            let near = rng.flip(&h, 20);
            for d in [0, 8, 31, 64] {
                for plan in PLANS {
                    let (got, _) = index.radius_with(&near, d, plan);
                    assert_eq!(got, brute_force(&hashes, &near, d), "step {step} d {d}");
                    checks += 1;
                }
            }
        }
    }
    assert!(checks > 100);
    let queries = queries_for(&mut rng, &hashes, 10);
    check_all(&index, &hashes, &queries, "after inserts");
    index.compact();
    check_all(&index, &hashes, &queries, "after compact");
    assert_eq!(index.len(), 12_000);
}

#[test]
fn bulk_extend_after_bulk_build_is_found() {
    let mut rng = Rng(7);
    let mut hashes: Vec<Hash256> = (0..5000).map(|_| rng.hash()).collect();
    let mut index: PdqIndex = hashes
        .iter()
        .enumerate()
        .map(|(i, h)| (i as u32, *h))
        .collect();
    // A second bulk load big enough to be its own segment, then a few
    // single inserts that stay in the buffer.
    let more: Vec<Hash256> = (0..5000)
        .map(|i| rng.flip(&hashes[i], (i % 30) as u32))
        .collect();
    index.extend(more.iter().enumerate().map(|(i, h)| ((5000 + i) as u32, h)));
    hashes.extend_from_slice(&more);
    for i in 0..10 {
        let h = rng.flip(&hashes[i], 3);
        index.insert(hashes.len() as u32, &h);
        hashes.push(h);
    }
    let queries = queries_for(&mut rng, &hashes, 20);
    check_all(&index, &hashes, &queries, "extend");
}

#[test]
fn replacing_a_hash_moves_the_id() {
    let mut rng = Rng(8);
    let hashes: Vec<Hash256> = (0..6000).map(|_| rng.hash()).collect();
    let mut index = PdqIndex::from_hashes(&hashes);
    let mut stored: Vec<(u32, Hash256)> = hashes
        .iter()
        .enumerate()
        .map(|(i, h)| (i as u32, *h))
        .collect();
    // Replace ids in the big segment, then some again (now in the buffer or
    // a newer segment), and insert some new ones in between.
    for round in 0..3 {
        for k in 0..2500 {
            let id = (k * 7 + round * 13) % 6000;
            let new = if k % 3 == 0 {
                stored[(id + 1) as usize % 6000].1
            } else {
                rng.hash()
            };
            index.insert(id as u32, &new);
            stored[id as usize].1 = new;
        }
        assert_eq!(index.len(), 6000);
        for (id, h) in stored.iter().step_by(397) {
            assert_eq!(index.get(*id), Some(*h));
            for d in [0, 31, 100] {
                for plan in PLANS {
                    let (got, _) = index.radius_with(h, d, plan);
                    assert_eq!(got, oracle(&stored, h, d), "round {round} id {id} d {d}");
                }
            }
            // The old position no longer answers for this id unless the
            // new hash is also close.
            let far = rng.hash();
            assert_eq!(index.radius(&far, 31), oracle(&stored, &far, 31));
        }
    }
    // Inserting the same hash again changes nothing.
    let before = index.radius(&stored[5].1, 0);
    index.insert(5, &stored[5].1.clone());
    assert_eq!(index.radius(&stored[5].1, 0), before);
    index.compact();
    for (_, h) in stored.iter().step_by(501) {
        assert_eq!(index.radius(h, 31), oracle(&stored, h, 31));
    }
}

#[test]
fn sparse_ids_leave_no_phantom_hashes() {
    // Slots between ids hold zeros internally; the all-zero query must not
    // find them.
    let zero = [0u8; 32];
    let mut index = PdqIndex::new();
    index.insert(1000, &[0xFF; 32]);
    index.insert(10, &zero);
    for plan in PLANS {
        assert_eq!(index.radius_with(&zero, 0, plan).0, vec![(10, 0)]);
        assert_eq!(
            index.radius_with(&zero, 256, plan).0,
            vec![(10, 0), (1000, 256)]
        );
    }
    assert_eq!(index.get(11), None);
    assert_eq!(index.get(1000), Some([0xFF; 32]));
    assert_eq!(index.get(u32::MAX), None);
    assert_eq!(index.len(), 2);
}

#[test]
fn empty_index_finds_nothing() {
    let index = PdqIndex::new();
    assert!(index.is_empty());
    assert_eq!(index.len(), 0);
    for d in RADII.into_iter().chain([257, u32::MAX]) {
        for plan in PLANS {
            assert!(index.radius_with(&[0; 32], d, plan).0.is_empty());
            assert!(index.radius_with(&[0xFF; 32], d, plan).0.is_empty());
        }
    }
    assert!(PdqIndex::from_hashes(&[]).radius(&[7; 32], 256).is_empty());
    assert!(index.memory_bytes() >= std::mem::size_of::<PdqIndex>());
}

#[test]
fn one_element() {
    let mut rng = Rng(9);
    let h = rng.hash();
    for index in [PdqIndex::from_hashes(&[h]), {
        let mut i = PdqIndex::with_capacity(1);
        i.insert(0, &h);
        i
    }] {
        assert_eq!(index.len(), 1);
        for k in 0..=256u32 {
            let q = rng.flip(&h, k);
            for d in RADII {
                let want = if k <= d { vec![(0, k)] } else { vec![] };
                for plan in PLANS {
                    assert_eq!(index.radius_with(&q, d, plan).0, want, "k {k} d {d}");
                }
            }
        }
    }
}

#[test]
fn all_zero_and_all_one_hashes() {
    let zero = [0u8; 32];
    let one = [0xFFu8; 32];
    let mut rng = Rng(10);
    let mut hashes = vec![zero, one, zero, one];
    hashes.extend((0..2000).map(|_| rng.hash()));
    hashes.push(zero);
    let index = PdqIndex::from_hashes(&hashes);
    for plan in PLANS {
        let (z, _) = index.radius_with(&zero, 0, plan);
        assert_eq!(z, vec![(0, 0), (2, 0), (2004, 0)]);
        let (o, _) = index.radius_with(&one, 0, plan);
        assert_eq!(o, vec![(1, 0), (3, 0)]);
        // The two are as far apart as hashes get.
        let (all, _) = index.radius_with(&zero, 256, plan);
        assert_eq!(all.len(), hashes.len());
        assert_eq!(all.last(), Some(&(3, 256)));
        let (not_one, _) = index.radius_with(&zero, 255, plan);
        assert_eq!(not_one.len(), hashes.len() - 2);
        // Radii past 256 mean 256.
        assert_eq!(
            index.radius_with(&one, u32::MAX, plan).0.len(),
            hashes.len()
        );
    }
    check_all(&index, &hashes, &[zero, one], "extremes");
}

#[test]
fn hamming_and_brute_force_agree_with_bit_counting() {
    let mut rng = Rng(11);
    for _ in 0..200 {
        let a = rng.hash();
        let b = rng.hash();
        let slow: u32 = a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum();
        assert_eq!(hamming(&a, &b), slow);
        assert_eq!(hamming(&a, &a), 0);
    }
    let hashes: Vec<Hash256> = (0..50).map(|_| rng.hash()).collect();
    let q = hashes[3];
    let got = brute_force(&hashes, &q, 256);
    assert_eq!(got.len(), 50);
    assert_eq!(got[0], (3, 0));
    assert!(got.windows(2).all(|w| (w[0].1, w[0].0) < (w[1].1, w[1].0)));
}

#[test]
fn plans_are_chosen_by_radius() {
    let mut rng = Rng(12);
    let hashes: Vec<Hash256> = (0..200_000).map(|_| rng.hash()).collect();
    let index = PdqIndex::from_hashes(&hashes);
    let q = rng.flip(&hashes[17], 10);
    let (small, stats) = index.radius_with(&q, 31, SearchPlan::Auto);
    assert_eq!(stats.plan, SearchPlan::Index);
    assert!(
        stats.candidates < 20_000,
        "the index verifies a small fraction: {stats:?}"
    );
    assert!(small.contains(&(17, 10)));
    let (_, stats) = index.radius_with(&q, 100, SearchPlan::Auto);
    assert_eq!(stats.plan, SearchPlan::Scan);
}

#[test]
fn memory_is_counted_and_close_to_the_raw_hashes() {
    let mut rng = Rng(13);
    let hashes: Vec<Hash256> = (0..100_000).map(|_| rng.hash()).collect();
    let index = PdqIndex::from_hashes(&hashes);
    let raw = 32 * hashes.len();
    let bytes = index.memory_bytes();
    // The index holds its own copy of the hashes plus eight tables of
    // a little under four bytes per hash each (a low byte, the id in
    // Elias–Fano form, the directory).
    assert!(bytes >= raw + 8 * 3 * hashes.len(), "{bytes}");
    assert!(bytes <= raw * 2, "{bytes} vs raw {raw}");
}

/// `h` with `counts[t]` distinct bits flipped in substring `t` of a layout
/// whose substrings have the given widths (consecutive runs of bits, in
/// order), the flips going to each run's top bits first when `top_first`
/// (the bits every table resolves).
fn flip_runs(
    rng: &mut Rng,
    h: &Hash256,
    widths: &[usize],
    counts: &[usize],
    top_first: bool,
) -> Hash256 {
    let mut out = *h;
    let mut start = 0;
    for (&width, &c) in widths.iter().zip(counts) {
        let c = c.min(width);
        let mut bits: Vec<usize> = (start..start + width).rev().collect();
        let pool = if top_first { c } else { width };
        for i in 0..c {
            // Shuffle within the pool: the top `c` bits in some order, or
            // any `c` bits of the run.
            let j = i + rng.below((pool - i) as u64) as usize;
            bits.swap(i, j);
            out[bits[i] / 8] ^= 1 << (bits[i] % 8);
        }
        start += width;
    }
    out
}

/// Every table count gives the same, exact, answers: hashes placed at and
/// around the pigeonhole boundary of that layout's own substrings,
/// clustered and random background, bulk loaded, then grown by single
/// inserts through the buffer and segment merges, then compacted.
#[test]
fn every_table_count_matches_brute_force() {
    for tables in 8..=12usize {
        let mut rng = Rng(20 + tables as u64);
        let widths: Vec<usize> = (0..tables)
            .map(|t| 256 / tables + usize::from(t < 256 % tables))
            .collect();
        let query = rng.hash();
        let mut hashes: Vec<Hash256> = (0..1500).map(|_| rng.hash()).collect();
        for d in [8usize, 31, 32] {
            for n in [d - 1, d, d + 1] {
                // Evenly spread (each table just at or over its radius),
                // all in one substring, and at random.
                for rotate in 0..tables {
                    let mut counts = vec![0; tables];
                    for i in 0..n {
                        counts[(i + rotate) % tables] += 1;
                    }
                    for top_first in [false, true] {
                        hashes.push(flip_runs(&mut rng, &query, &widths, &counts, top_first));
                    }
                    let mut one = vec![0; tables];
                    one[rotate] = n.min(widths[rotate]);
                    hashes.push(flip_runs(&mut rng, &query, &widths, &one, true));
                }
            }
        }
        for _ in 0..20 {
            let centre = rng.hash();
            for _ in 0..30 {
                let k = rng.below(40) as u32;
                hashes.push(rng.flip(&centre, k));
            }
        }
        let mut index = PdqIndex::with_tables(tables);
        assert_eq!(index.tables(), tables);
        index.extend(hashes.iter().enumerate().map(|(i, h)| (i as u32, h)));
        let what = format!("{tables} tables");
        for d in 0..=40 {
            let (got, _) = index.radius_with(&query, d, SearchPlan::Index);
            assert_eq!(got, brute_force(&hashes, &query, d), "{what}, d = {d}");
        }
        assert!(
            brute_force(&hashes, &query, 31)
                .iter()
                .any(|&(_, dist)| dist == 31),
            "{what}: a hash sits on the boundary"
        );
        let queries = queries_for(&mut rng, &hashes, 12);
        check_all(&index, &hashes, &queries, &what);
        for step in 0..5000 {
            let base = hashes[rng.below(hashes.len() as u64) as usize];
            let h = if step % 2 == 0 {
                rng.flip(&base, 20)
            } else {
                rng.hash()
            };
            index.insert(hashes.len() as u32, &h);
            hashes.push(h);
        }
        check_all(&index, &hashes, &queries, &format!("{what}, after inserts"));
        index.compact();
        check_all(&index, &hashes, &queries, &format!("{what}, after compact"));
    }
}

/// More tables cost about four bytes a hash each: the trade-off
/// `with_tables` documents.
#[test]
fn more_tables_probe_less_and_cost_more_memory() {
    let mut rng = Rng(30);
    let hashes: Vec<Hash256> = (0..100_000).map(|_| rng.hash()).collect();
    let q = rng.hash();
    let mut last: Option<(usize, u64)> = None;
    for tables in [8usize, 9, 10] {
        let mut index = PdqIndex::with_tables(tables);
        index.extend(hashes.iter().enumerate().map(|(i, h)| (i as u32, h)));
        let (got, stats) = index.radius_with(&q, 31, SearchPlan::Index);
        assert_eq!(got, brute_force(&hashes, &q, 31));
        let bytes = index.memory_bytes();
        if let Some((before, probes)) = last {
            let per_hash = (bytes - before) as f64 / hashes.len() as f64;
            assert!(
                (3.0..4.5).contains(&per_hash),
                "{tables} tables: {per_hash} bytes a hash more"
            );
            assert!(
                stats.probes < probes,
                "{tables} tables: {} probes",
                stats.probes
            );
        }
        last = Some((bytes, stats.probes));
    }
}
