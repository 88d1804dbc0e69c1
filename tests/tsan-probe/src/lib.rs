//! Loaded by tests/c/tsan_probe.c under ThreadSanitizer (scripts/tsan-concurrency.sh --probe). `probe_racy`
//! updates a counter with no synchronisation: TSan must report it. `probe_guarded` shares state only through
//! std's `Mutex`, `Arc`, `OnceLock` and atomics — contended, so the futex slow paths run: TSan must report
//! nothing, which it can only do when std itself is instrumented (with an uninstrumented std the lock's
//! acquire/release is invisible and every guarded access looks like a race).
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

static mut RACY: u64 = 0;

/// Increments a plain static `n` times, unsynchronised (the deliberate race).
#[no_mangle]
pub extern "C" fn probe_racy(n: u64) -> u64 {
    let p = &raw mut RACY;
    for _ in 0..n {
        // SAFETY: none — this is the data race the probe exists to show; volatile keeps every access.
        unsafe { p.write_volatile(p.read_volatile().wrapping_add(1)) };
    }
    // SAFETY: as above.
    unsafe { p.read_volatile() }
}

fn shared() -> &'static Mutex<Vec<Arc<String>>> {
    static CELL: OnceLock<Mutex<Vec<Arc<String>>>> = OnceLock::new();
    CELL.get_or_init(|| Mutex::new(Vec::new()))
}

/// Pushes, reads and drops `n` heap values shared between threads through std's sync types only.
#[no_mangle]
pub extern "C" fn probe_guarded(n: u64) -> u64 {
    static SEEN: AtomicU64 = AtomicU64::new(0);
    for i in 0..n {
        let item = Arc::new(format!("item {i}"));
        let mut v = shared().lock().unwrap_or_else(|e| e.into_inner());
        v.push(item.clone());
        if v.len() > 8 {
            let old = v.remove(0);
            SEEN.fetch_add(old.len() as u64, Ordering::Release);
        }
        drop(v);
        SEEN.fetch_add(item.len() as u64, Ordering::AcqRel);
    }
    SEEN.load(Ordering::Acquire)
}
