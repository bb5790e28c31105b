//! Hints to the processor: they change no result, only how soon memory is at hand.

/// A hint to load the cache line holding `item` (a no-op off x86-64).
#[inline(always)]
pub fn prefetch_line<T>(item: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it never faults and changes no
    // memory, whatever the address (here that of a live reference).
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((item as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = item;
}
