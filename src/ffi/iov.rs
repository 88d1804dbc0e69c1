//! The IOV forms of wrap and unwrap (MIT's `gss_wrap_iov`, `gss_unwrap_iov`, `gss_wrap_iov_length`, after
//! RFC 4121's IOV extension): the NTLMSSP signature goes into the HEADER buffer, the DATA buffers are sealed in
//! place, PADDING and TRAILER stay empty; SIGN_ONLY is not supported by NTLM sealing.
//!
//! The work is done on a [`SecContext`] (`wrap_iov_on`, `unwrap_iov_on`, `wrap_iov_length_on`), which the
//! SPNEGO interposer also calls for a negotiated NTLM context.

use super::context::with_ctx;
use super::types::*;
use super::util::*;
use crate::context::SecContext;
use crate::status::*;
use core::ffi::c_int;

const IOV_TYPE_MASK: u32 = 0xffff;
const IOV_EMPTY: u32 = 0;
const IOV_DATA: u32 = 1;
const IOV_HEADER: u32 = 2;
const IOV_TRAILER: u32 = 7;
const IOV_PADDING: u32 = 9;
const IOV_STREAM: u32 = 10;
const IOV_FLAG_ALLOCATE: u32 = 0x1_0000;
const IOV_FLAG_ALLOCATED: u32 = 0x2_0000;
const SIG_LEN: usize = 16;

/// The caller's IOV array.
///
/// # Safety
/// `iov` is NULL (with count 0) or valid for `count` elements.
pub(crate) unsafe fn iov_slice<'a>(
    iov: gss_iov_buffer_t,
    count: c_int,
) -> Result<&'a mut [gss_iov_buffer_desc], GssError> {
    let n = usize::try_from(count)
        .map_err(|_| GssError::new(GSS_S_CALL_BAD_STRUCTURE, Minor::NullArgument))?;
    if n == 0 {
        return Ok(&mut []);
    }
    if iov.is_null() {
        return Err(null_read());
    }
    // SAFETY: iov is non-NULL and valid for n elements per the contract.
    Ok(unsafe { core::slice::from_raw_parts_mut(iov, n) })
}

fn iov_type(b: &gss_iov_buffer_desc) -> u32 {
    b.type_ & IOV_TYPE_MASK
}

fn bad_iov(why: &str) -> GssError {
    GssError::with_detail(GSS_S_FAILURE, Minor::MalformedToken, why)
}

/// Checks the IOV layout: one HEADER, DATA buffers, optional EMPTY / zero-sized PADDING and TRAILER; SIGN_ONLY
/// and other types are not supported by NTLM sealing.
fn check_iov(iov: &[gss_iov_buffer_desc]) -> Result<usize, GssError> {
    let mut header = None;
    for (i, b) in iov.iter().enumerate() {
        match iov_type(b) {
            IOV_HEADER if header.is_none() => header = Some(i),
            IOV_HEADER => return Err(bad_iov("more than one HEADER buffer")),
            IOV_DATA | IOV_EMPTY | IOV_PADDING | IOV_TRAILER => {}
            t => {
                return Err(bad_iov(&format!(
                    "IOV buffer type {t} is not supported by NTLM"
                )))
            }
        }
    }
    header.ok_or_else(|| bad_iov("no HEADER buffer"))
}

/// Sets the sizes of HEADER (16), PADDING and TRAILER (0).
///
/// # Safety
/// The buffers' values are NULL or valid for their lengths.
unsafe fn iov_lengths(iov: &mut [gss_iov_buffer_desc]) {
    for b in iov.iter_mut() {
        match iov_type(b) {
            IOV_HEADER => b.buffer.length = SIG_LEN,
            IOV_PADDING | IOV_TRAILER => b.buffer.length = 0,
            _ => {}
        }
    }
}

/// Gathers the DATA buffers into one vector.
///
/// # Safety
/// DATA buffers are valid for their lengths.
unsafe fn gather(iov: &[gss_iov_buffer_desc]) -> Vec<u8> {
    let mut out = Vec::new();
    for b in iov.iter().filter(|b| iov_type(b) == IOV_DATA) {
        // SAFETY: forwarded contract.
        out.extend_from_slice(unsafe { buffer_bytes(&b.buffer) });
    }
    out
}

/// Scatters `data` back into the DATA buffers (same total length as gathered).
///
/// # Safety
/// DATA buffers are valid for writing their lengths.
unsafe fn scatter(iov: &mut [gss_iov_buffer_desc], data: &[u8]) {
    let mut rest = data;
    for b in iov.iter_mut().filter(|b| iov_type(b) == IOV_DATA) {
        let n = b.buffer.length.min(rest.len());
        if n > 0 && !b.buffer.value.is_null() {
            let (head, tail) = rest.split_at(n);
            // SAFETY: the buffer is valid for writing n <= length bytes.
            unsafe {
                core::ptr::copy_nonoverlapping(head.as_ptr(), b.buffer.value.cast::<u8>(), n)
            };
            rest = tail;
        }
    }
}

/// Makes the HEADER buffer hold `sig`, allocating it when the caller asked for that.
///
/// # Safety
/// The HEADER buffer is valid for its length, or flagged ALLOCATE.
unsafe fn fill_header(h: &mut gss_iov_buffer_desc, sig: &[u8]) -> Result<(), GssError> {
    if h.type_ & IOV_FLAG_ALLOCATE != 0 {
        // SAFETY: write_buffer mallocs a copy; the caller frees ALLOCATED buffers with gss_release_iov_buffer.
        unsafe { write_buffer(&mut h.buffer, sig)? };
        h.type_ |= IOV_FLAG_ALLOCATED;
        return Ok(());
    }
    if h.buffer.length < sig.len() || h.buffer.value.is_null() {
        return Err(GssError::with_detail(
            GSS_S_FAILURE,
            Minor::MalformedToken,
            "HEADER buffer smaller than 16 bytes",
        ));
    }
    // SAFETY: the header buffer is valid for at least 16 bytes (checked).
    unsafe { core::ptr::copy_nonoverlapping(sig.as_ptr(), h.buffer.value.cast::<u8>(), sig.len()) };
    h.buffer.length = sig.len();
    Ok(())
}

/// `gss_wrap_iov` (MIT/RFC 4121 IOV extension).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_wrap_iov(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    _conf_req_flag: c_int,
    qop_req: gss_qop_t,
    conf_state: *mut c_int,
    iov: gss_iov_buffer_t,
    iov_count: c_int,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: iov is valid for iov_count elements; the handle is checked by the registry.
        unsafe {
            put(conf_state, 0);
            let bufs = iov_slice(iov, iov_count)?;
            let sealed = with_ctx(context_handle, |sc| wrap_iov_on(sc, qop_req, bufs))?;
            put(conf_state, c_int::from(sealed));
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_wrap_iov` on `sc`: whether the DATA buffers were sealed.
///
/// # Safety
/// The buffers are valid for their lengths (HEADER writable, or flagged ALLOCATE).
pub(crate) unsafe fn wrap_iov_on(
    sc: &mut SecContext,
    qop_req: gss_qop_t,
    bufs: &mut [gss_iov_buffer_desc],
) -> Result<bool, GssError> {
    let h = check_iov(bufs)?;
    // SAFETY: forwarded contract.
    let mut data = unsafe { gather(bufs) };
    let mut sig = [0u8; SIG_LEN];
    let sealed = sc.wrap_parts(qop_req, &mut data, &mut sig)?;
    // SAFETY: forwarded contract.
    unsafe { scatter(bufs, &data) };
    for b in bufs.iter_mut() {
        if matches!(iov_type(b), IOV_PADDING | IOV_TRAILER) {
            b.buffer.length = 0;
        }
    }
    let header = bufs.get_mut(h).ok_or_else(|| bad_iov("no HEADER buffer"))?;
    // SAFETY: forwarded contract.
    unsafe { fill_header(header, &sig)? };
    Ok(sealed)
}

/// `gss_unwrap_iov`: HEADER + DATA, or one STREAM buffer (signature || message) whose message is returned in a
/// DATA buffer pointing into it.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_unwrap_iov(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    conf_state: *mut c_int,
    qop_state: *mut gss_qop_t,
    iov: gss_iov_buffer_t,
    iov_count: c_int,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: iov is valid for iov_count elements; the handle is checked by the registry.
        unsafe {
            put(conf_state, 0);
            put(qop_state, 0);
            let bufs = iov_slice(iov, iov_count)?;
            let sealed = with_ctx(context_handle, |sc| unwrap_iov_on(sc, bufs))?;
            put(conf_state, c_int::from(sealed));
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_unwrap_iov` on `sc`: whether the message was sealed.
///
/// # Safety
/// The buffers are valid for reading and writing their lengths.
pub(crate) unsafe fn unwrap_iov_on(
    sc: &mut SecContext,
    bufs: &mut [gss_iov_buffer_desc],
) -> Result<bool, GssError> {
    if let Some(s) = bufs.iter().position(|b| iov_type(b) == IOV_STREAM) {
        // SAFETY: forwarded contract.
        return unsafe { unwrap_stream(sc, bufs, s) };
    }
    let h = check_iov(bufs)?;
    // SAFETY: forwarded contract.
    unsafe {
        let header = bufs.get(h).ok_or_else(|| bad_iov("no HEADER buffer"))?;
        let sig = buffer_bytes(&header.buffer).to_vec();
        let mut data = gather(bufs);
        let sealed = sc.unwrap_parts(&mut data, &sig)?;
        scatter(bufs, &data);
        Ok(sealed)
    }
}

/// The STREAM form of `gss_unwrap_iov`. The message goes to the DATA buffer: a `malloc`ed copy when the caller
/// flags it ALLOCATE (the mechglue's `gss_unwrap_aead` does, and hands that buffer to the program, which frees
/// it — the STREAM, the program's input token, is then left as it was), else a pointer into the STREAM buffer,
/// unsealed in place.
///
/// # Safety
/// `bufs` are valid; the STREAM buffer is writable for its length.
unsafe fn unwrap_stream(
    sc: &mut SecContext,
    bufs: &mut [gss_iov_buffer_desc],
    s: usize,
) -> Result<bool, GssError> {
    if let Some(b) = bufs.iter().find(|b| {
        !matches!(
            iov_type(b),
            IOV_STREAM | IOV_DATA | IOV_EMPTY | IOV_PADDING | IOV_TRAILER
        )
    }) {
        return Err(bad_iov(&format!(
            "IOV buffer type {} is not supported by NTLM",
            iov_type(b)
        )));
    }
    let stream = bufs.get(s).ok_or_else(|| bad_iov("no STREAM buffer"))?;
    let (ptr, len) = (stream.buffer.value.cast::<u8>(), stream.buffer.length);
    if len < SIG_LEN || ptr.is_null() {
        return Err(GssError::with_detail(
            GSS_S_DEFECTIVE_TOKEN,
            Minor::MalformedToken,
            "STREAM shorter than 16 bytes",
        ));
    }
    let d = bufs
        .iter()
        .position(|b| iov_type(b) == IOV_DATA)
        .ok_or_else(|| bad_iov("STREAM unwrap needs a DATA buffer for the result"))?;
    let data = &mut bufs[d];
    if data.type_ & IOV_FLAG_ALLOCATE != 0 {
        // SAFETY: the STREAM buffer is valid for reading len bytes.
        let whole = unsafe { core::slice::from_raw_parts(ptr, len) };
        let (sig, body) = whole.split_at(SIG_LEN);
        let mut msg = zeroize::Zeroizing::new(body.to_vec());
        let sealed = sc.unwrap_parts(&mut msg, sig)?;
        // SAFETY: write_buffer mallocs the copy; the caller frees ALLOCATED buffers (gss_release_iov_buffer).
        unsafe { write_buffer(&mut data.buffer, &msg)? };
        data.type_ |= IOV_FLAG_ALLOCATED;
        return Ok(sealed);
    }
    // SAFETY: the STREAM buffer is valid for reading and writing len bytes.
    let whole = unsafe { core::slice::from_raw_parts_mut(ptr, len) };
    let (sig, body) = whole.split_at_mut(SIG_LEN);
    let sealed = sc.unwrap_parts(body, sig)?;
    // SAFETY: ptr + 16 is inside the STREAM buffer (len >= 16).
    data.buffer.value = unsafe { ptr.add(SIG_LEN) }.cast();
    data.buffer.length = len - SIG_LEN;
    Ok(sealed)
}

/// `gss_wrap_iov_length`: HEADER 16 bytes, no PADDING or TRAILER.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_wrap_iov_length(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    _conf_req_flag: c_int,
    qop_req: gss_qop_t,
    conf_state: *mut c_int,
    iov: gss_iov_buffer_t,
    iov_count: c_int,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: iov is valid for iov_count elements; the handle is checked by the registry.
        unsafe {
            put(conf_state, 0);
            let bufs = iov_slice(iov, iov_count)?;
            let sealed = with_ctx(context_handle, |sc| wrap_iov_length_on(sc, qop_req, bufs))?;
            put(conf_state, c_int::from(sealed));
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_wrap_iov_length` on `sc`: sets the HEADER, PADDING and TRAILER sizes; whether wrap would seal.
///
/// # Safety
/// The buffers are valid descriptors.
pub(crate) unsafe fn wrap_iov_length_on(
    sc: &mut SecContext,
    qop_req: gss_qop_t,
    bufs: &mut [gss_iov_buffer_desc],
) -> Result<bool, GssError> {
    sc.wrap_size_limit(qop_req, u32::MAX)?;
    check_iov(bufs)?;
    // SAFETY: forwarded contract.
    unsafe { iov_lengths(bufs) };
    // gss_wrap seals whenever signing or sealing was negotiated (context::message::seals).
    Ok(sc.gss_flags() & (crate::context::flags::CONF | crate::context::flags::INTEG) != 0)
}
