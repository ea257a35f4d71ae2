//! A counting allocator for the lib's tests: what a piece of state costs in heap
//! memory, measured rather than guessed.
//!
//! The allocator counts per thread, so tests running in parallel do not disturb each
//! other's figures; it otherwise forwards to the system allocator. It is this crate's
//! only `#[global_allocator]` (for the lib test binary): if the crate ever needs
//! another one, drop this module and the tests that use it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn account(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: forwards every call to `System` unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        account(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            account(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Bytes this thread has allocated and not freed, from its first allocation.
pub(crate) fn live() -> isize {
    LIVE.with(Cell::get)
}

/// Runs `f`, returning its result and the heap it still holds plus the peak
/// above the starting point.
pub(crate) fn measure<T>(f: impl FnOnce() -> T) -> (T, isize, isize) {
    let start = live();
    PEAK.with(|p| p.set(start));
    let value = f();
    let held = live() - start;
    let peak = PEAK.with(Cell::get) - start;
    (value, held, peak)
}
