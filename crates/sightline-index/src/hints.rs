//! The index's two hints, one to the processor and one to the kernel.
//! Neither changes a value the program reads; both only change how fast
//! it reads them.
//!
//! A query's time goes mostly to cache misses on its probed directory
//! entries, records and hashes, which are spread over hundreds of
//! megabytes:
//!
//! - [`prefetch`] asks for the line holding an element some time before it
//!   is read. A plain load can stand in for a hint (and did), but a load
//!   that misses holds up the instructions behind it; a prefetch retires at
//!   once, so a loop can ask for the lines of the probe it will reach a few
//!   dozen iterations later while it does the work of the current one.
//! - [`huge_pages`] asks the kernel to back a large array with transparent
//!   huge pages, so that random reads across it stop missing the address
//!   translation caches as well as the data caches.
//!
//! At ten million hashes the two cut a query's median by about a third
//! (`docs/benchmarks.md`). These are the workspace's only `unsafe` calls:
//! the lint is `deny` everywhere and allowed in this module alone.
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

/// The size and alignment of a huge page on x86_64, and a multiple of every
/// base page size Linux uses, so a range aligned to it is page-aligned.
const HUGE: usize = 2 << 20;

/// Asks the kernel to back `v`'s allocation, its whole capacity, with
/// transparent huge pages where they fit (every 2 MiB-aligned stretch
/// inside it). Call it before the memory is first written: pages already
/// touched stay small until the kernel's background collapsing gets to
/// them. Allocations under 4 MiB are left alone, and so is every
/// allocation where the kernel has huge pages turned off or the call
/// fails: the hint is best effort.
pub(crate) fn huge_pages<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        let bytes = v.capacity().saturating_mul(std::mem::size_of::<T>());
        let start = v.as_ptr() as usize;
        let from = start.next_multiple_of(HUGE);
        let to = start.saturating_add(bytes) / HUGE * HUGE;
        if bytes < 2 * HUGE || to <= from {
            return;
        }
        // SAFETY: `[from, to)` lies inside `v`'s allocation (rounded
        // inwards to 2 MiB boundaries, which are page boundaries), and `v`
        // owns it for as long as the call takes. MADV_HUGEPAGE changes only
        // which pages the kernel backs the range with; the contents, the
        // mapping and its permissions stay as they are, so no reference
        // into `v` sees a difference. The result is ignored: a failure
        // leaves the small pages in place.
        let _ = unsafe { libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hints change nothing a read sees: a large array advised before
    /// it is written, and prefetched at every line and past its end, reads
    /// back what was written.
    #[test]
    fn hints_change_no_value() {
        let n = (3 * HUGE) / 8 + 123;
        let mut v: Vec<u64> = Vec::with_capacity(n);
        huge_pages(&v);
        v.extend((0..n as u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        huge_pages(&v);
        for i in (0..n + 64).step_by(8) {
            prefetch(&v, i);
        }
        prefetch(&v, usize::MAX);
        assert!(
            v.iter()
                .enumerate()
                .all(|(i, &x)| x == (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        );
        let small: Vec<u8> = vec![7; 100];
        huge_pages(&small);
        assert_eq!(small, vec![7; 100]);
    }
}
