//! glibc malloc, tuned for a long-running process that parses objects of very different sizes.
//!
//! By default glibc raises its mmap threshold each time a large block is freed (up to 32 MiB),
//! so later large allocations (a 400 kB env value in a watched object, a big list response)
//! come from the heap instead, and the heap fragments: the bad-input flood grew the operator
//! from 80 to 200 MiB in its second half while holding no more objects. A fixed threshold
//! (128 KiB, glibc's own starting value) keeps large blocks in mmap, returned on free, and two
//! arenas are plenty for two runtime worker threads. With both, the same flood stays flat
//! (75 → 76 MiB; docs/reliability.md).

const MMAP_THRESHOLD_BYTES: i32 = 128 * 1024;
const ARENAS: i32 = 2;

/// Applies the settings; call first in `main`, before other threads start. A setting glibc
/// refuses leaves its default (the operator works either way, only its memory differs).
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before any other thread
    // exists, and the values are within glibc's documented ranges.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}

/// How often [`release_free_memory`] runs.
pub const TRIM_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// Returns the heap's free pages to the system. By itself glibc returns only the top of the
/// heap; after a burst (thousands of reconciles, list responses) the freed pages in between
/// stay resident although nothing uses them. Takes about a millisecond; run every
/// [`TRIM_INTERVAL`] by the controller.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only gives free memory back (madvise); it takes the arena locks itself.
    unsafe {
        libc::malloc_trim(0);
    }
}
