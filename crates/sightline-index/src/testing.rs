//! Seeded test data for the index's tests and benchmark: random hashes and
//! near-duplicates with a chosen number of flipped bits. Not part of the
//! index's API.

use crate::Hash256;

/// splitmix64: a tiny seeded generator, the same on every machine.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn hash(&mut self) -> Hash256 {
        let mut h = [0u8; 32];
        for chunk in h.chunks_exact_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        h
    }

    /// `h` with `k` distinct bits flipped (a partial Fisher–Yates over the
    /// 256 bit positions: bounded time for any `k`).
    pub fn flip(&mut self, h: &Hash256, k: u32) -> Hash256 {
        let mut out = *h;
        let mut bits: Vec<usize> = (0..256).collect();
        for i in 0..(k as usize).min(256) {
            let j = i + self.below((256 - i) as u64) as usize;
            bits.swap(i, j);
            out[bits[i] / 8] ^= 1 << (bits[i] % 8);
        }
        out
    }
}
