//! The one cache hint the index uses: ask for the line holding an element
//! some time before the element is read.
//!
//! A query's time goes mostly to cache misses on its probed directory
//! entries, records and hashes. A plain load can stand in for a hint (and
//! did), but a load that misses holds up the instructions behind it; a
//! prefetch retires at once, so a loop can ask for the lines of the probe
//! it will reach a few dozen iterations later while it does the work of
//! the current one. At ten million hashes that cut a query's median by
//! about a fifth (`docs/benchmarks.md`).
//!
//! This is the only `unsafe` in the workspace (the lint is `deny`
//! everywhere, and allowed here alone).
#![allow(unsafe_code)]

/// Hints that `slice[index]` will be read soon. `index` may be out of
/// bounds: then the hint names some other line, and nothing else happens.
#[inline(always)]
pub(crate) fn prefetch<T>(slice: &[T], index: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let line = slice.as_ptr().wrapping_add(index).cast::<i8>();
        // SAFETY: `prefetch` is a hint. It never dereferences its address
        // in the language's sense, cannot fault (the processor drops a
        // hint to an unmapped address) and changes no value a later read
        // sees. `wrapping_add` makes the address without the in-bounds
        // requirement of `add`. SSE, the only feature it needs, is part of
        // the x86_64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(line) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (slice, index);
}
