//! Handing memory back to the system after a burst.
//!
//! Catching up with a backlog evaluates every hearing at once and writes all their
//! findings; once written, that memory is free but glibc keeps it mapped. The processor
//! calls [`trim`] then, so that its resident size afterwards is what its state needs.

/// Returns the memory glibc holds free to the system; does nothing elsewhere.
pub fn trim() {
    // SAFETY: malloc_trim only walks glibc's own free lists; it takes no pointer.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
}
