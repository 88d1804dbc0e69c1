//! A global allocator that, while armed, looks for a 16-byte secret in every heap block being freed: the
//! check behind "secrets are wiped before release" (SECURITY.md). Include with
//! `#[path = "common/scan.rs"] mod scan;` — it installs itself as the test binary's global allocator.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Allocates through `System`, as it must: the interposer hands `Vec` buffers to the mechglue's `free`
/// (`ffi::util::give_vec`).
struct ScanningAllocator;

static ARMED: AtomicBool = AtomicBool::new(false);
static NEEDLE: [AtomicU8; 16] = [const { AtomicU8::new(0) }; 16];
static HITS: AtomicUsize = AtomicUsize::new(0);
static SCANNED: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for ScanningAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::SeqCst) && layout.size() >= 16 {
            // The block is still ours until System.dealloc below: reading it is defined.
            let block = std::slice::from_raw_parts(ptr, layout.size());
            let mut needle = [0u8; 16];
            for (n, a) in needle.iter_mut().zip(NEEDLE.iter()) {
                *n = a.load(Ordering::SeqCst);
            }
            SCANNED.fetch_add(1, Ordering::SeqCst);
            if block.windows(16).any(|w| w == needle) {
                HITS.fetch_add(1, Ordering::SeqCst);
            }
        }
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: ScanningAllocator = ScanningAllocator;

/// One armed scan at a time (tests run in parallel threads; the scan sees every thread's frees).
static SCAN_LOCK: Mutex<()> = Mutex::new(());

pub struct Scan {
    _guard: MutexGuard<'static, ()>,
}

impl Scan {
    pub fn arm(secret: &[u8; 16]) -> Scan {
        let guard = SCAN_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        for (a, b) in NEEDLE.iter().zip(secret) {
            a.store(*b, Ordering::SeqCst);
        }
        HITS.store(0, Ordering::SeqCst);
        SCANNED.store(0, Ordering::SeqCst);
        ARMED.store(true, Ordering::SeqCst);
        Scan { _guard: guard }
    }
    /// Disarms; returns (blocks that still held the secret, blocks scanned).
    pub fn finish(self) -> (usize, usize) {
        ARMED.store(false, Ordering::SeqCst);
        (HITS.load(Ordering::SeqCst), SCANNED.load(Ordering::SeqCst))
    }
}

/// Serialises whole tests that handle a secret outside their armed scans: an armed scan sees every thread's
/// frees, so another test's own copies of the secret would count as hits.
static TEST_LOCK: Mutex<()> = Mutex::new(());

/// Holds every other test that takes it off until dropped.
pub fn exclusive() -> MutexGuard<'static, ()> {
    TEST_LOCK.lock().unwrap_or_else(|p| p.into_inner())
}
