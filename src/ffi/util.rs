//! The boundary helpers: the panic guard, reading caller buffers/OIDs, and malloc-allocated outputs that the
//! mechglue releases with `free()` (MIT `generic_gss_release_buffer`, `generic_gss_release_oid_set`:
//! each `elements[i].elements`, then `elements`, then the set; `gss_release_buffer_set`: each buffer's value,
//! then `elements`, then the set).

use super::types::*;
use crate::status::{
    record_last_error, GssError, Minor, GSS_S_CALL_INACCESSIBLE_READ,
    GSS_S_CALL_INACCESSIBLE_WRITE, GSS_S_FAILURE,
};
use core::ffi::{c_char, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f` behind a panic boundary, writes the minor status (when `minor` is not NULL) and returns the major.
pub(crate) fn guard<F: FnOnce() -> Result<u32, GssError>>(
    minor: *mut OM_uint32,
    f: F,
) -> OM_uint32 {
    let (major, minor_code) = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(major)) => (major, 0),
        Ok(Err(e)) => {
            record_last_error(&e);
            (e.major, e.minor.code())
        }
        Err(_) => (GSS_S_FAILURE, Minor::InternalPanic.code()),
    };
    if !minor.is_null() {
        // SAFETY: the caller passes either NULL (checked) or a writable OM_uint32, per RFC 2744 §3.
        unsafe { *minor = minor_code };
    }
    major
}

/// The error for a NULL pointer argument that must be readable.
pub(crate) fn null_read() -> GssError {
    GssError::new(GSS_S_CALL_INACCESSIBLE_READ, Minor::NullArgument)
}

/// The error for a NULL pointer argument that must be writable.
pub(crate) fn null_write() -> GssError {
    GssError::new(GSS_S_CALL_INACCESSIBLE_WRITE, Minor::NullArgument)
}

/// Writes `v` to an optional output pointer.
///
/// # Safety
/// `p` is NULL or valid for writing a `T`.
pub(crate) unsafe fn put<T>(p: *mut T, v: T) {
    if !p.is_null() {
        // SAFETY: non-NULL and valid for writes per the contract.
        unsafe { p.write(v) };
    }
}

/// The bytes of a caller buffer; NULL buffer, NULL value or zero length read as empty.
///
/// # Safety
/// `b` is NULL or points to a `gss_buffer_desc` whose `value` is valid for `length` bytes during `'a`.
pub(crate) unsafe fn buffer_bytes<'a>(b: *const gss_buffer_desc) -> &'a [u8] {
    if b.is_null() {
        return &[];
    }
    // SAFETY: b is non-NULL and points to a gss_buffer_desc per the contract.
    let desc = unsafe { &*b };
    if desc.value.is_null() || desc.length == 0 {
        return &[];
    }
    // SAFETY: value is valid for length bytes per the contract.
    unsafe { core::slice::from_raw_parts(desc.value.cast::<u8>(), desc.length) }
}

/// The token of an import call (`gss_import_sec_context`, `gss_import_cred`) after its output handle `out` is
/// checked and set to NULL: [`null_write`] for a NULL `out`, [`null_read`] for a NULL `token`.
///
/// # Safety
/// `out` is NULL or writable; `token` is NULL or valid as for [`buffer_bytes`] during `'a`.
pub(crate) unsafe fn import_token<'a, T>(
    token: *const gss_buffer_desc,
    out: *mut *mut T,
) -> Result<&'a [u8], GssError> {
    if out.is_null() {
        return Err(null_write());
    }
    // SAFETY: out is non-NULL and writable per the contract.
    unsafe { out.write(core::ptr::null_mut()) };
    if token.is_null() {
        return Err(null_read());
    }
    // SAFETY: token is non-NULL and valid per the contract.
    Ok(unsafe { buffer_bytes(token) })
}

/// The object OID of a by-OID inquiry (`gss_inquire_sec_context_by_oid`, `gss_inquire_cred_by_oid`) after its
/// output `data_set` is checked and set to NULL: [`null_write`] for a NULL `data_set`, [`null_read`] for
/// `GSS_C_NO_OID`.
///
/// # Safety
/// `data_set` is NULL or writable; `object` is NULL or valid as for [`oid_bytes`] during `'a`.
pub(crate) unsafe fn by_oid_args<'a>(
    object: *const gss_OID_desc,
    data_set: *mut gss_buffer_set_t,
) -> Result<&'a [u8], GssError> {
    if data_set.is_null() {
        return Err(null_write());
    }
    // SAFETY: data_set is non-NULL and writable, object NULL or valid, per the contract.
    unsafe {
        data_set.write(core::ptr::null_mut());
        oid_bytes(object).ok_or_else(null_read)
    }
}

/// The DER content of a caller OID; `None` for `GSS_C_NO_OID`.
///
/// # Safety
/// `o` is NULL or points to a `gss_OID_desc` whose `elements` is valid for `length` bytes during `'a`.
pub(crate) unsafe fn oid_bytes<'a>(o: *const gss_OID_desc) -> Option<&'a [u8]> {
    if o.is_null() {
        return None;
    }
    // SAFETY: non-NULL per the check; valid per the contract.
    let desc = unsafe { &*o };
    if desc.elements.is_null() || desc.length == 0 {
        return Some(&[]);
    }
    // SAFETY: elements is valid for length bytes per the contract.
    Some(unsafe { core::slice::from_raw_parts(desc.elements.cast::<u8>(), desc.length as usize) })
}

/// True when an OID set is NULL (meaning "default") or contains `oid`.
///
/// # Safety
/// `set` is NULL or a valid `gss_OID_set` whose elements are valid OIDs.
pub(crate) unsafe fn set_is_null_or_contains(set: *const gss_OID_set_desc, oid: &[u8]) -> bool {
    if set.is_null() {
        return true;
    }
    // SAFETY: non-NULL, valid per the contract.
    let s = unsafe { &*set };
    if s.elements.is_null() {
        return false;
    }
    (0..s.count).any(|i| {
        // SAFETY: elements has count entries per the contract; i < count.
        let found = unsafe { oid_bytes(s.elements.add(i)) };
        found == Some(oid)
    })
}

/// A C string from a NUL-terminated pointer (NULL → `None`; invalid UTF-8 → lossily converted).
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
pub(crate) unsafe fn c_str(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated per the contract.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

fn oom() -> GssError {
    GssError::new(GSS_S_FAILURE, Minor::OutOfMemory)
}

/// `malloc` a copy of `data` followed by one NUL byte that the buffer's length does not count. MIT's own
/// buffers are NUL-terminated the same way, and callers rely on it: MIT's sample programs print the text of
/// `gss_display_status` with `%s`.
fn malloc_copy(data: &[u8]) -> Result<*mut c_void, GssError> {
    let size = data.len().checked_add(1).ok_or_else(oom)?;
    // SAFETY: malloc has no preconditions; the result is checked for NULL.
    let p = unsafe { libc::malloc(size) };
    if p.is_null() {
        return Err(oom());
    }
    // SAFETY: p is a fresh allocation of data.len() + 1 bytes; the regions cannot overlap.
    unsafe {
        core::ptr::copy_nonoverlapping(data.as_ptr(), p.cast::<u8>(), data.len());
        p.cast::<u8>().add(data.len()).write(0);
    }
    Ok(p)
}

/// A `calloc`'d output buffer of a fixed length (plus the NUL byte [`malloc_copy`] also adds), filled in place
/// and then handed to the caller with [`MallocBuf::give`]; freed if dropped before that. Zero bytes allocate
/// nothing and are given as `{0, NULL}`.
pub(crate) struct MallocBuf {
    ptr: *mut u8,
    len: usize,
}

impl MallocBuf {
    pub(crate) fn new(len: usize) -> Result<MallocBuf, GssError> {
        if len == 0 {
            return Ok(MallocBuf {
                ptr: core::ptr::null_mut(),
                len: 0,
            });
        }
        let size = len.checked_add(1).ok_or_else(oom)?;
        // calloc: the bytes are initialised (a Rust slice may not cover uninitialised memory), and the
        // terminating NUL is there. SAFETY: calloc has no preconditions; the result is checked for NULL.
        let ptr = unsafe { libc::calloc(size, 1) }.cast::<u8>();
        if ptr.is_null() {
            return Err(oom());
        }
        Ok(MallocBuf { ptr, len })
    }

    /// Writes the buffer into `out` (released by the caller with `free`).
    ///
    /// # Safety
    /// `out` is valid for writing a `gss_buffer_desc`.
    pub(crate) unsafe fn give(self, out: gss_buffer_t) {
        let me = core::mem::ManuallyDrop::new(self);
        // SAFETY: per the contract.
        unsafe {
            out.write(gss_buffer_desc {
                length: me.len,
                value: me.ptr.cast(),
            })
        };
    }
}

impl AsMut<[u8]> for MallocBuf {
    fn as_mut(&mut self) -> &mut [u8] {
        if self.ptr.is_null() {
            return &mut [];
        }
        // SAFETY: ptr is a live, zero-initialised allocation of len + 1 bytes owned by self; the borrow is
        // tied to self.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for MallocBuf {
    fn drop(&mut self) {
        // SAFETY: ptr is NULL or came from malloc and was not given away (give forgets self).
        unsafe { libc::free(self.ptr.cast()) };
    }
}

/// Fills an output buffer with `data`'s own allocation, without a copy (released by the mechglue with
/// `free`). The default global allocator of a `cdylib` is [`std::alloc::System`] ("cdylibs and staticlibs are
/// guaranteed to use the System by default", `std::alloc`), which allocates byte buffers with `malloc` and
/// grows them with `realloc` on Unix: a `Vec<u8>` with a capacity is a `malloc` block that `free` releases.
/// (The test binaries' own global allocators delegate to `System`, `tests/common/scan.rs`.) An empty result is
/// `{0, NULL}`; unlike [`write_buffer`] no NUL byte follows the data (for tokens, not text).
///
/// # Safety
/// `out` is NULL (→ error) or valid for writing a `gss_buffer_desc`.
pub(crate) unsafe fn give_vec(out: gss_buffer_t, data: Vec<u8>) -> Result<(), GssError> {
    if out.is_null() {
        return Err(null_write());
    }
    let (length, value) = if data.is_empty() {
        (0, core::ptr::null_mut())
    } else {
        let mut data = core::mem::ManuallyDrop::new(data);
        (data.len(), data.as_mut_ptr().cast::<c_void>())
    };
    // SAFETY: out is non-NULL and writable per the contract; value is NULL or a malloc block (above).
    unsafe { out.write(gss_buffer_desc { length, value }) };
    Ok(())
}

/// Fills an output buffer with a malloc'd copy of `data` (released by the mechglue with `free`). An empty
/// result is `{0, NULL}`, as MIT's own functions return it.
///
/// # Safety
/// `out` is NULL (→ error) or valid for writing a `gss_buffer_desc`.
pub(crate) unsafe fn write_buffer(out: gss_buffer_t, data: &[u8]) -> Result<(), GssError> {
    if out.is_null() {
        return Err(null_write());
    }
    let value = if data.is_empty() {
        core::ptr::null_mut()
    } else {
        malloc_copy(data)?
    };
    // SAFETY: out is non-NULL and writable per the contract.
    unsafe {
        out.write(gss_buffer_desc {
            length: data.len(),
            value,
        })
    };
    Ok(())
}

/// Clears an output buffer to `{0, NULL}` if the pointer is not NULL.
///
/// # Safety
/// `out` is NULL or valid for writing a `gss_buffer_desc`.
pub(crate) unsafe fn clear_buffer(out: gss_buffer_t) {
    // SAFETY: forwarded contract.
    unsafe {
        put(
            out,
            gss_buffer_desc {
                length: 0,
                value: core::ptr::null_mut(),
            },
        )
    };
}

/// A malloc'd OID set holding copies of `oids`.
pub(crate) fn make_oid_set(oids: &[&[u8]]) -> Result<gss_OID_set, GssError> {
    // SAFETY: calloc has no preconditions; results are checked for NULL before use.
    let set = unsafe { libc::calloc(1, core::mem::size_of::<gss_OID_set_desc>()) }
        .cast::<gss_OID_set_desc>();
    if set.is_null() {
        return Err(oom());
    }
    // SAFETY: as above.
    let elems = unsafe { libc::calloc(oids.len().max(1), core::mem::size_of::<gss_OID_desc>()) }
        .cast::<gss_OID_desc>();
    if elems.is_null() {
        // SAFETY: set was allocated above and is not shared.
        unsafe { libc::free(set.cast()) };
        return Err(oom());
    }
    // SAFETY: set is a fresh, zeroed allocation of one gss_OID_set_desc.
    unsafe {
        set.write(gss_OID_set_desc {
            count: 0,
            elements: elems,
        })
    };
    for (i, oid) in oids.iter().enumerate() {
        match malloc_copy(oid) {
            Ok(p) => {
                // SAFETY: elems has room for oids.len() entries and i < oids.len(); set is ours.
                unsafe {
                    elems.add(i).write(gss_OID_desc {
                        length: oid.len() as OM_uint32,
                        elements: p,
                    });
                    (*set).count = i + 1;
                }
            }
            Err(e) => {
                // SAFETY: set was built above by this function and holds `count` malloc'd elements.
                unsafe { free_oid_set(set) };
                return Err(e);
            }
        }
    }
    Ok(set)
}

/// Frees an OID set the way MIT's `generic_gss_release_oid_set` does.
///
/// # Safety
/// `set` is NULL or was made by [`make_oid_set`] (or MIT) and is not used afterwards.
pub(crate) unsafe fn free_oid_set(set: gss_OID_set) {
    if set.is_null() {
        return;
    }
    // SAFETY: per the contract, set and its elements are malloc'd and owned here.
    unsafe {
        let s = &*set;
        for i in 0..s.count {
            libc::free((*s.elements.add(i)).elements);
        }
        libc::free(s.elements.cast());
        libc::free(set.cast());
    }
}

/// Stores a fresh OID set in an optional output pointer.
///
/// # Safety
/// `out` is NULL or valid for writing a `gss_OID_set`.
pub(crate) unsafe fn put_oid_set(out: *mut gss_OID_set, oids: &[&[u8]]) -> Result<(), GssError> {
    if out.is_null() {
        return Ok(());
    }
    let set = make_oid_set(oids)?;
    // SAFETY: out is non-NULL and writable per the contract.
    unsafe { out.write(set) };
    Ok(())
}

/// A `gss_OID_desc` in static memory (never freed; see `gss_internal_release_oid`).
#[repr(transparent)]
pub(crate) struct StaticOid(gss_OID_desc);

// SAFETY: the descriptor points to immutable 'static bytes and is never written through.
unsafe impl Sync for StaticOid {}

impl StaticOid {
    pub(crate) const fn new(bytes: &'static [u8]) -> StaticOid {
        StaticOid(gss_OID_desc {
            length: bytes.len() as OM_uint32,
            elements: bytes.as_ptr() as *mut c_void,
        })
    }
    /// The pointer handed to C (C must treat it as read-only).
    pub(crate) fn as_oid(&'static self) -> gss_OID {
        core::ptr::addr_of!(self.0).cast_mut()
    }
}

pub(crate) static NTLMSSP_OID: StaticOid = StaticOid::new(crate::oids::NTLMSSP);
static NT_USER_NAME_OID: StaticOid = StaticOid::new(crate::oids::NT_USER_NAME);
static NT_HOSTBASED_SERVICE_OID: StaticOid = StaticOid::new(crate::oids::NT_HOSTBASED_SERVICE);
static NT_ANONYMOUS_OID: StaticOid = StaticOid::new(crate::oids::NT_ANONYMOUS);
static NT_EXPORT_NAME_OID: StaticOid = StaticOid::new(crate::oids::NT_EXPORT_NAME);

static ALL_STATIC: [&StaticOid; 5] = [
    &NTLMSSP_OID,
    &NT_USER_NAME_OID,
    &NT_HOSTBASED_SERVICE_OID,
    &NT_ANONYMOUS_OID,
    &NT_EXPORT_NAME_OID,
];

/// Our static OID for these bytes (the name types and the mech OID we report).
pub(crate) fn static_oid(bytes: &[u8]) -> gss_OID {
    ALL_STATIC
        .iter()
        .find(|o| {
            // SAFETY: every StaticOid points to 'static bytes of its length.
            let b = unsafe { oid_bytes(o.as_oid()) };
            b == Some(bytes)
        })
        .map_or(core::ptr::null_mut(), |o| o.as_oid())
}

/// True when `oid` is one of our static OIDs (by address).
pub(crate) fn is_static_oid(oid: gss_OID) -> bool {
    ALL_STATIC.iter().any(|o| o.as_oid() == oid)
}

/// A malloc'd buffer set holding copies of `items` (NULL when empty, i.e. `GSS_C_NO_BUFFER_SET`).
#[allow(dead_code)] // for gss_inquire_sec_context_by_oid, wired with the contexts
pub(crate) fn make_buffer_set(items: &[&[u8]]) -> Result<gss_buffer_set_t, GssError> {
    if items.is_empty() {
        return Ok(core::ptr::null_mut());
    }
    // SAFETY: calloc has no preconditions; results checked.
    let set = unsafe { libc::calloc(1, core::mem::size_of::<gss_buffer_set_desc>()) }
        .cast::<gss_buffer_set_desc>();
    // SAFETY: as above.
    let elems = unsafe { libc::calloc(items.len(), core::mem::size_of::<gss_buffer_desc>()) }
        .cast::<gss_buffer_desc>();
    if set.is_null() || elems.is_null() {
        // SAFETY: free(NULL) is a no-op; both are ours.
        unsafe {
            libc::free(set.cast());
            libc::free(elems.cast());
        }
        return Err(oom());
    }
    // SAFETY: set is a fresh allocation of one gss_buffer_set_desc.
    unsafe {
        set.write(gss_buffer_set_desc {
            count: 0,
            elements: elems,
        })
    };
    for (i, item) in items.iter().enumerate() {
        // SAFETY: elems has items.len() slots, i is in range; each slot is zeroed (a valid empty buffer).
        let r = unsafe { write_buffer(elems.add(i), item) };
        if let Err(e) = r {
            // SAFETY: set and its first i buffers are ours.
            unsafe {
                for j in 0..i {
                    libc::free((*elems.add(j)).value);
                }
                libc::free(elems.cast());
                libc::free(set.cast());
            }
            return Err(e);
        }
        // SAFETY: set is ours.
        unsafe { (*set).count = i + 1 };
    }
    Ok(set)
}
