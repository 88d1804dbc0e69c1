//! What the state machines need from the outside world: randomness and the clock (MS-NLMP §3.1.5, §3.2.5 use
//! `NONCE()` and `CurrentTime`). A trait, so tests can make exchanges deterministic.
#![forbid(unsafe_code)]

use super::error::NtlmError;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds between 1601-01-01 (FILETIME epoch) and 1970-01-01.
pub const FILETIME_UNIX_OFFSET_SECS: u64 = 11_644_473_600;
/// FILETIME ticks (100 ns) per second.
pub const FILETIME_TICKS_PER_SEC: u64 = 10_000_000;

/// Randomness and time, injected into the initiator and acceptor.
pub trait Environment: Send + Sync {
    /// Fills `out` with cryptographically secure random bytes.
    fn fill_random(&self, out: &mut [u8]) -> Result<(), NtlmError>;
    /// The current time as a Windows FILETIME (100 ns ticks since 1601-01-01 UTC).
    fn now_filetime(&self) -> u64;
}

/// The real environment: the OS random generator and the system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemEnvironment;

impl Environment for SystemEnvironment {
    fn fill_random(&self, out: &mut [u8]) -> Result<(), NtlmError> {
        getrandom::getrandom(out).map_err(|_| NtlmError::RandomUnavailable)
    }
    fn now_filetime(&self) -> u64 {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        (since.as_secs() + FILETIME_UNIX_OFFSET_SECS) * FILETIME_TICKS_PER_SEC
            + u64::from(since.subsec_nanos() / 100)
    }
}

/// Generates `N` random bytes.
pub fn random_array<const N: usize>(env: &dyn Environment) -> Result<[u8; N], NtlmError> {
    let mut out = [0u8; N];
    env.fill_random(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_after_2020() {
        // 2020-01-01 as FILETIME.
        assert!(SystemEnvironment.now_filetime() > 132_223_104_000_000_000);
    }

    #[test]
    fn random_bytes_differ_between_calls() {
        let a: [u8; 16] = random_array(&SystemEnvironment).expect("random");
        let b: [u8; 16] = random_array(&SystemEnvironment).expect("random");
        assert_ne!(a, b);
    }
}
