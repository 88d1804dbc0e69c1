//! Opaque handles: each `gss_name_t` / `gss_cred_id_t` / `gss_ctx_id_t` we hand out is a `Box<Handle<T>>`.
//!
//! Validation, in order: NULL is an error; the address must be in the registry of live handles of that kind
//! (checked *without* dereferencing, so a garbage pointer, a released handle or a handle of another kind is
//! rejected); the magic tag in the box must match (defence in depth). Limits: a handle released by one thread
//! while another still uses it is a caller bug GSSAPI does not allow; a released address may be reused by a new
//! allocation (or, for a type with a [`Spare`] slot, is kept for its next handle), so a stale handle can alias a
//! *new* live handle of the same kind (never freed memory).

use crate::status::GssError;
use core::ffi::c_void;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The registry's hasher. Its keys are addresses of our own `Box` allocations, chosen by the allocator and not
/// by a peer, so the flooding resistance of the default SipHash buys nothing here and costs ~100 instructions
/// per lookup on every GSS call. One multiply by an odd constant (Fibonacci hashing) spreads the aligned
/// address over the high bits; folding them back down fills the low bits the table indexes with.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        let h = self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^ (h >> 32)
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `usize` keys; kept correct for any other input.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = n as u64;
    }
}

type Registry = HashMap<usize, Kind, BuildHasherDefault<AddrHasher>>;

/// The kinds of handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Name,
    Cred,
    #[allow(dead_code)] // contexts are wired by the context entry points
    Context,
    /// The SPNEGO interposer's names (`gssi_*`), never accepted where an NTLM name is expected.
    SpnegoName,
    /// The SPNEGO interposer's credentials.
    SpnegoCred,
    /// The SPNEGO interposer's contexts.
    SpnegoContext,
}

impl Kind {
    const fn magic(self) -> u64 {
        match self {
            Kind::Name => 0x4753_5347_4e41_4d45,          // "GSSGNAME"
            Kind::Cred => 0x4753_5347_4352_4544,          // "GSSGCRED"
            Kind::Context => 0x4753_5347_4354_5854,       // "GSSGCTXT"
            Kind::SpnegoName => 0x4753_5350_4e41_4d45,    // "GSSPNAME"
            Kind::SpnegoCred => 0x4753_5350_4352_4544,    // "GSSPCRED"
            Kind::SpnegoContext => 0x4753_5350_4354_5854, // "GSSPCTXT"
        }
    }
}

/// A Rust type stored behind a handle of some kind.
pub(crate) trait Handled: Send + Sized + 'static {
    /// Its kind.
    const KIND: Kind;

    /// Where a released handle of this type leaves its memory (wiped, without a value) for the next one instead
    /// of freeing it, if anywhere: for the handles made and released on every call (the mechglue imports the
    /// target name into the interposer afresh for each `gss_init_sec_context`), it saves an allocation and a
    /// free per call. A stale handle can then alias the next live one, as with the allocator's own reuse of a
    /// freed address (see the module's limits).
    fn spare() -> Option<&'static Spare<Self>> {
        None
    }
}

/// One released handle's memory of type `T`, kept for the next handle of that type ([`Handled::spare`]).
pub(crate) struct Spare<T>(AtomicPtr<Handle<T>>);

impl<T> Spare<T> {
    /// An empty slot.
    pub(crate) const fn new() -> Spare<T> {
        Spare(AtomicPtr::new(core::ptr::null_mut()))
    }
}

#[repr(C)]
struct Handle<T> {
    magic: u64,
    value: T,
}

/// The live handles. A read-write lock: every call checks its handles (readers, in parallel); only creating
/// and releasing a handle writes.
static LIVE: RwLock<Option<Registry>> = RwLock::new(None);

fn registry() -> RwLockReadGuard<'static, Option<Registry>> {
    match LIVE.read() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn registry_mut() -> RwLockWriteGuard<'static, Option<Registry>> {
    match LIVE.write() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Boxes `value` and registers the pointer.
pub(crate) fn into_raw<T: Handled, P>(value: T) -> *mut P {
    let handle = Handle {
        magic: T::KIND.magic(),
        value,
    };
    let spare = T::spare().map_or(core::ptr::null_mut(), |s| {
        s.0.swap(core::ptr::null_mut(), Ordering::Acquire)
    });
    let p = if spare.is_null() {
        Box::into_raw(Box::new(handle))
    } else {
        // SAFETY: a spare is the box of a released `Handle<T>` (its value moved out, its bytes wiped) that only
        // this call holds now (swapped out of the slot): writing a new handle into it makes it a live box again.
        unsafe { spare.write(handle) };
        spare
    };
    registry_mut()
        .get_or_insert_with(Registry::default)
        .insert(p as usize, T::KIND);
    p.cast()
}

fn check<T: Handled>(p: *const c_void, invalid: &GssError) -> Result<*mut Handle<T>, GssError> {
    // The tag is read under the registry's read lock: a release (which takes the write lock) cannot free the box
    // between the registry lookup and the read.
    let reg = registry();
    if p.is_null() || reg.as_ref().and_then(|r| r.get(&(p as usize))) != Some(&T::KIND) {
        return Err(invalid.clone());
    }
    let h = p.cast_mut().cast::<Handle<T>>();
    // SAFETY: the registry (still locked) says p is a live Box<Handle<T>> made by into_raw.
    let magic = unsafe { (*h).magic };
    drop(reg);
    if magic != T::KIND.magic() {
        return Err(invalid.clone());
    }
    Ok(h)
}

/// Borrows the value behind a handle, or returns `invalid`.
///
/// # Safety
/// The handle must not be released while the borrow lives (GSSAPI forbids concurrent release).
pub(crate) unsafe fn borrow<'a, T: Handled, P>(
    p: *const P,
    invalid: GssError,
) -> Result<&'a T, GssError> {
    let h = check::<T>(p.cast(), &invalid)?;
    // SAFETY: h is a live handle of kind T (checked); the caller guarantees it outlives 'a.
    Ok(unsafe { &(*h).value })
}

/// A copy of the value behind a handle whose object is an `RwLock` (`lock` reaches it), `None` for a NULL handle
/// (`GSS_C_NO_CREDENTIAL`); a poisoned lock is read anyway.
///
/// # Safety
/// As [`borrow`].
pub(crate) unsafe fn snapshot<C: Handled, T: Clone, P>(
    p: *const P,
    invalid: GssError,
    lock: impl FnOnce(&C) -> &std::sync::RwLock<T>,
) -> Result<Option<T>, GssError> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    let cell = unsafe { borrow::<C, P>(p, invalid)? };
    let guard = lock(cell).read().unwrap_or_else(|e| e.into_inner());
    Ok(Some(guard.clone()))
}

/// Releases the value behind `*h` when there is one (dropped where it lies, [`take_and_drop`]) and sets `*h` to
/// NULL: the body of every `gss_release_*` / `gss_delete_sec_context`, the NTLM mechanism's and the
/// interposer's. A NULL `*h` is left alone; a handle of another kind is `invalid` (and `*h` is kept).
///
/// # Safety
/// `h` is valid for reading and writing a handle; no other borrow of `*h` is alive.
pub(crate) unsafe fn release<T: Handled, P>(
    h: *mut *mut P,
    invalid: GssError,
) -> Result<(), GssError> {
    // SAFETY: forwarded contract.
    unsafe {
        if !(*h).is_null() {
            take_and_drop::<T, P>(*h, invalid)?;
            h.write(core::ptr::null_mut());
        }
    }
    Ok(())
}

/// Releases what a failed establishment step leaves behind `*h` (RFC 2744: the context is deleted), whatever it
/// is, and sets `*h` to NULL; a NULL `h` is left alone.
///
/// # Safety
/// `h` is NULL or valid for reading and writing a handle; no other borrow of `*h` is alive.
pub(crate) unsafe fn discard<T: Handled, P>(h: *mut *mut P, invalid: GssError) {
    if h.is_null() {
        return;
    }
    // SAFETY: h is non-NULL and valid per the contract.
    unsafe {
        let _ = release::<T, P>(h, invalid);
        h.write(core::ptr::null_mut());
    }
}

/// Takes the value back out of a handle and unregisters it (release).
///
/// # Safety
/// No other borrow of this handle may be alive.
pub(crate) unsafe fn take<T: Handled, P>(p: *mut P, invalid: GssError) -> Result<T, GssError> {
    let h = unregister::<T, P>(p, invalid)?;
    // SAFETY: h came from into_raw and was removed from the registry above, so this is the only owner. The value is
    // moved out, then the box is wiped (a moved-from value keeps its bytes: a credential's NT hash, a context's
    // keys) and freed or kept as the spare (`dispose`), so the moved-out value is not dropped twice.
    unsafe {
        let value = core::ptr::read(&(*h).value);
        dispose(h);
        Ok(value)
    }
}

/// [`take`] and drop: the value is dropped where it lies instead of being moved out first (a context handle's
/// value is a few hundred bytes to a kilobyte: one copy fewer per release).
///
/// # Safety
/// As [`take`].
unsafe fn take_and_drop<T: Handled, P>(p: *mut P, invalid: GssError) -> Result<(), GssError> {
    let h = unregister::<T, P>(p, invalid)?;
    // SAFETY: h is a live handle's box that only this call owns now (`unregister`); its value is dropped once,
    // then the box is wiped and freed or kept (`dispose`) without dropping anything.
    unsafe {
        core::ptr::drop_in_place(core::ptr::addr_of_mut!((*h).value));
        dispose(h);
    }
    Ok(())
}

/// Removes a handle from the registry (release): its box, which the caller now owns, or `invalid`.
#[inline(always)]
fn unregister<T: Handled, P>(p: *mut P, invalid: GssError) -> Result<*mut Handle<T>, GssError> {
    let mut reg = registry_mut();
    let key = p as usize;
    match reg.as_mut() {
        Some(r) if !p.is_null() && r.get(&key) == Some(&T::KIND) => {
            r.remove(&key);
        }
        _ => return Err(invalid),
    }
    Ok(key as *mut Handle<T>)
}

/// Wipes a handle's box whose value is gone (moved out or dropped) and frees it, or keeps it as the spare when
/// the type has a slot and it is empty.
///
/// # Safety
/// `h` came from [`into_raw`], is no longer registered, its value is gone, and nothing else refers to it.
#[inline(always)]
unsafe fn dispose<T: Handled>(h: *mut Handle<T>) {
    // SAFETY: per the contract, h is a box of a `Handle<T>` that only the caller owns, with no value to drop.
    unsafe {
        zeroize::Zeroize::zeroize(core::slice::from_raw_parts_mut(
            h.cast::<u8>(),
            core::mem::size_of::<Handle<T>>(),
        ));
        let kept = T::spare().is_some_and(|s| {
            s.0.compare_exchange(
                core::ptr::null_mut(),
                h,
                Ordering::Release,
                Ordering::Relaxed,
            )
            .is_ok()
        });
        if !kept {
            drop(Box::from_raw(h.cast::<core::mem::MaybeUninit<Handle<T>>>()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    struct Probe(u32);
    impl Handled for Probe {
        const KIND: Kind = Kind::Context;
    }

    fn invalid() -> GssError {
        GssError::new(
            crate::status::GSS_S_NO_CONTEXT,
            crate::status::Minor::InvalidHandle,
        )
    }

    struct Reused([u64; 3]);
    impl Handled for Reused {
        const KIND: Kind = Kind::SpnegoName;
        fn spare() -> Option<&'static Spare<Reused>> {
            static SPARE: Spare<Reused> = Spare::new();
            Some(&SPARE)
        }
    }

    #[test]
    fn a_released_box_is_reused_for_the_next_value_and_its_old_handle_is_refused_until_then() {
        let a = into_raw::<Reused, c_void>(Reused([1, 2, 3]));
        // SAFETY: no borrow of a is alive.
        let v = unsafe { take::<Reused, c_void>(a, invalid()) };
        assert_eq!(v.ok().map(|v| v.0), Some([1, 2, 3]));
        // SAFETY: a released handle is looked up in the registry only, never dereferenced.
        assert!(unsafe { borrow::<Reused, c_void>(a, invalid()) }.is_err());
        // SAFETY: as above; a second release of the same handle is refused, the spare is not handed out twice.
        assert!(unsafe { take::<Reused, c_void>(a, invalid()) }.is_err());
        let b = into_raw::<Reused, c_void>(Reused([4, 5, 6]));
        let c = into_raw::<Reused, c_void>(Reused([7, 8, 9]));
        assert_eq!(b, a, "the spare is reused");
        assert_ne!(c, b, "only once");
        for (h, want) in [(b, [4, 5, 6]), (c, [7, 8, 9])] {
            // SAFETY: h is live and not released concurrently.
            let v = unsafe { borrow::<Reused, c_void>(h, invalid()) };
            assert_eq!(v.ok().map(|v| v.0), Some(want));
            // SAFETY: no borrow of h is alive.
            let v = unsafe { take::<Reused, c_void>(h, invalid()) };
            assert_eq!(v.ok().map(|v| v.0), Some(want));
        }
    }

    static DROPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    struct Counted;
    impl Drop for Counted {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::Relaxed);
        }
    }
    impl Handled for Counted {
        const KIND: Kind = Kind::SpnegoName;
        fn spare() -> Option<&'static Spare<Counted>> {
            static SPARE: Spare<Counted> = Spare::new();
            Some(&SPARE)
        }
    }

    #[test]
    fn releasing_a_handle_with_a_spare_drops_its_value_once_and_clears_the_handle() {
        for round in 0..3 {
            let mut h = into_raw::<Counted, c_void>(Counted);
            let before = DROPS.load(Ordering::Relaxed);
            // SAFETY: &mut h is a valid handle slot; no borrow of it is alive.
            unsafe { release::<Counted, c_void>(&mut h, invalid()) }.unwrap();
            assert_eq!(DROPS.load(Ordering::Relaxed), before + 1, "round {round}");
            assert!(h.is_null());
        }
        let stale = into_raw::<Counted, c_void>(Counted);
        // SAFETY: as above.
        unsafe { take::<Counted, c_void>(stale, invalid()) }
            .map(drop)
            .unwrap();
        let mut again = stale;
        // SAFETY: a released handle is looked up in the registry only: refused, and left as it was.
        assert!(unsafe { release::<Counted, c_void>(&mut again, invalid()) }.is_err());
        assert_eq!(again, stale);
    }

    #[test]
    fn aligned_addresses_spread_over_the_low_bits() {
        // Box addresses are 16-byte aligned and close together; the table indexes with the low bits.
        let b = BuildHasherDefault::<AddrHasher>::default();
        let base = 0x5555_5555_0000usize;
        let low: std::collections::HashSet<u64> =
            (0..256).map(|i| b.hash_one(base + 16 * i) & 0xff).collect();
        assert!(low.len() > 150, "only {} distinct low bytes", low.len());
        let high: std::collections::HashSet<u64> =
            (0..256).map(|i| b.hash_one(base + 16 * i) >> 57).collect();
        assert!(
            high.len() > 60,
            "only {} distinct top-7-bit tags",
            high.len()
        );
    }

    #[test]
    fn many_handles_round_trip_and_released_ones_are_rejected() {
        let ps: Vec<*mut c_void> = (0..2000)
            .map(|i| into_raw::<Probe, c_void>(Probe(i)))
            .collect();
        for (i, p) in ps.iter().enumerate() {
            // SAFETY: p is live and not released concurrently.
            let v = unsafe { borrow::<Probe, c_void>(*p, invalid()) }.map(|v| v.0);
            assert_eq!(v.ok(), Some(i as u32));
        }
        for (i, p) in ps.iter().enumerate() {
            // SAFETY: no borrow of p is alive.
            let v = unsafe { take::<Probe, c_void>(*p, invalid()) }.map(|v| v.0);
            assert_eq!(v.ok(), Some(i as u32));
            // SAFETY: a released handle is looked up in the registry only, never dereferenced.
            assert!(unsafe { borrow::<Probe, c_void>(*p, invalid()) }.is_err());
        }
    }
}
