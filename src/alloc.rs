//! A small allocator for the wasm build: power-of-two size classes, one free list per class,
//! fresh blocks carved from `memory.grow`. It replaces Rust's default dlmalloc, which is about
//! 6 KB of the module, for a workload of short strings and small vectors.
//!
//! Trade-offs, chosen deliberately: a block is at most twice the size asked for; memory is reused
//! per class but never returned to the host (wasm memory cannot shrink anyway); single-threaded
//! only, like the mini-program's JS thread.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;

/// Smallest block: room for the free-list link and then some.
const MIN_CLASS: u32 = 4; // 16 bytes
/// Classes up to 2^31 bytes; a larger request fails (and aborts, as any allocation failure does).
const CLASSES: usize = 32;
const PAGE: usize = 65_536;

/// The allocator state: the free lists and the unused tail of the last grown region.
pub struct SizeClassAlloc {
    state: UnsafeCell<State>,
}

struct State {
    free: [usize; CLASSES],
    next: usize,
    end: usize,
}

// SAFETY: wasm32-unknown-unknown without the atomics feature has one thread; this allocator is
// only installed there.
unsafe impl Sync for SizeClassAlloc {}

impl SizeClassAlloc {
    /// An allocator with empty lists.
    pub const fn new() -> Self {
        SizeClassAlloc { state: UnsafeCell::new(State { free: [0; CLASSES], next: 0, end: 0 }) }
    }
}

impl Default for SizeClassAlloc {
    fn default() -> Self {
        Self::new()
    }
}

/// The class whose blocks fit `layout`, or `None` if too large.
fn class_of(layout: Layout) -> Option<usize> {
    let need = layout.size().max(layout.align()).max(1 << MIN_CLASS);
    let class = need.checked_next_power_of_two()?.trailing_zeros() as usize;
    (class < CLASSES).then_some(class)
}

impl State {
    /// Carves a fresh block of `size` bytes aligned to `size` (capped at a page).
    fn carve(&mut self, size: usize) -> *mut u8 {
        let align = size.min(PAGE);
        let start = (self.next + align - 1) & !(align - 1);
        if start.checked_add(size).is_none_or(|end| end > self.end) {
            let pages = size.div_ceil(PAGE) + 1;
            let grown = core::arch::wasm32::memory_grow(0, pages);
            if grown == usize::MAX {
                return std::ptr::null_mut();
            }
            let base = grown * PAGE;
            // A new region continues the old one when memory was not grown by anyone else.
            if base != self.end {
                self.next = base;
            }
            self.end = base + pages * PAGE;
            return self.carve(size);
        }
        self.next = start + size;
        start as *mut u8
    }
}

unsafe impl GlobalAlloc for SizeClassAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class_of(layout) else { return std::ptr::null_mut() };
        // SAFETY: single-threaded (see `Sync` above) and never re-entered.
        let state = unsafe { &mut *self.state.get() };
        let Some(slot) = state.free.get_mut(class) else { return std::ptr::null_mut() };
        let head = *slot;
        if head != 0 {
            // SAFETY: `head` is a block of this class that `dealloc` linked in; its first word
            // holds the next free block.
            *slot = unsafe { *(head as *const usize) };
            return head as *mut u8;
        }
        state.carve(1 << class)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(class) = class_of(layout) else { return };
        // SAFETY: as in `alloc`; `ptr` came from `alloc` with the same layout, so it is a block
        // of `class` at least 16 bytes long and suitably aligned for a `usize`.
        let state = unsafe { &mut *self.state.get() };
        let Some(slot) = state.free.get_mut(class) else { return };
        unsafe { *(ptr as *mut usize) = *slot };
        *slot = ptr as usize;
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A string growing within its block's class keeps the block: no copy.
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else { return std::ptr::null_mut() };
        if class_of(layout) == class_of(new_layout) {
            return ptr;
        }
        // SAFETY: `new_layout` is valid; `ptr` is live for `layout.size()` bytes and the new block
        // for `new_size`; they do not overlap (the old block is still allocated during the copy).
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}
