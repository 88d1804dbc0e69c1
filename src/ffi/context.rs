//! Context exports: establishment (RFC 2744 §5.1, §5.19), deletion and queries (§5.9, §5.7, §5.28), the
//! per-message calls (§5.15, §5.33, §5.32, §5.1 of RFC 4121's IOV extension, MIT's `gss_wrap_iov`), export and
//! import (§5.14, §5.17), and MIT's `gss_inquire_sec_context_by_oid` / `gss_set_sec_context_option`.
//!
//! Every export translates pointers and calls [`crate::context::SecContext`]. A failed establishment step
//! releases the context and sets the caller's handle to `GSS_C_NO_CONTEXT`.

use super::cred::cred_snapshot;
use super::handles::{self, borrow, discard, into_raw, Handled, Kind};
use super::name::{name_handle, name_handle_with, name_ref};
use super::sys::{config, LibcSystem};
use super::types::*;
use super::util::*;
use crate::context::{SecContext, Step};
use crate::ntlm::crypto::ChannelBindings;
use crate::oids;
use crate::status::*;
use core::ffi::c_int;
use std::sync::{Mutex, MutexGuard};

/// What a context handle points to. The lock makes a misuse from two threads safe (GSSAPI forbids it anyway).
pub(crate) struct CtxCell(Mutex<SecContext>);

impl Handled for CtxCell {
    const KIND: Kind = Kind::Context;
}

fn bad_handle() -> GssError {
    GssError::new(GSS_S_NO_CONTEXT, Minor::InvalidHandle)
}

fn lock(cell: &CtxCell) -> MutexGuard<'_, SecContext> {
    match cell.0.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Borrows and locks the context behind a handle.
///
/// # Safety
/// As [`borrow`].
pub(super) unsafe fn with_ctx<R>(
    h: gss_ctx_id_t,
    f: impl FnOnce(&mut SecContext) -> Result<R, GssError>,
) -> Result<R, GssError> {
    // SAFETY: forwarded contract; the registry rejects NULL, garbage and released handles.
    let cell = unsafe { borrow::<CtxCell, _>(h, bad_handle())? };
    f(&mut lock(cell))
}

/// Releases the context behind `*h` (if any) and sets `*h` to NULL.
///
/// # Safety
/// `h` is NULL or valid for reading and writing a handle.
unsafe fn release(h: *mut gss_ctx_id_t) {
    // SAFETY: forwarded contract.
    unsafe { discard::<CtxCell, _>(h, bad_handle()) }
}

/// The MD5 hash of the caller's channel bindings (MS-NLMP §2.2.2.1), `None` for `GSS_C_NO_CHANNEL_BINDINGS`.
///
/// # Safety
/// `cb` is NULL or a valid `gss_channel_bindings_struct` whose buffers are valid.
unsafe fn bindings_hash(cb: gss_channel_bindings_t) -> Option<[u8; 16]> {
    if cb.is_null() {
        return None;
    }
    // SAFETY: cb is non-NULL and valid; each buffer is valid for its length.
    let b = unsafe { &*cb };
    // SAFETY: as above.
    let (ia, aa, app) = unsafe {
        (
            buffer_bytes(&b.initiator_address),
            buffer_bytes(&b.acceptor_address),
            buffer_bytes(&b.application_data),
        )
    };
    Some(
        ChannelBindings {
            initiator_addrtype: b.initiator_addrtype,
            initiator_address: ia.to_vec(),
            acceptor_addrtype: b.acceptor_addrtype,
            acceptor_address: aa.to_vec(),
            application_data: app.to_vec(),
        }
        .md5(),
    )
}

fn step_major(step: &Step) -> u32 {
    if step.complete {
        GSS_S_COMPLETE
    } else {
        GSS_S_CONTINUE_NEEDED
    }
}

#[allow(clippy::too_many_arguments)]
unsafe fn init(
    cred: gss_cred_id_t,
    ctx: *mut gss_ctx_id_t,
    target: gss_name_t,
    mech: gss_OID,
    req_flags: OM_uint32,
    cb: gss_channel_bindings_t,
    input: gss_buffer_t,
    actual_mech: *mut gss_OID,
    output: gss_buffer_t,
    ret_flags: *mut OM_uint32,
    time_rec: *mut OM_uint32,
) -> Result<u32, GssError> {
    // SAFETY: every pointer is NULL or valid per RFC 2744; handles are checked by the registry.
    unsafe {
        clear_buffer(output);
        put(actual_mech, static_oid(oids::NTLMSSP));
        put(ret_flags, 0);
        put(time_rec, 0);
        if ctx.is_null() {
            return Err(null_write());
        }
        if output.is_null() {
            return Err(null_write());
        }
        if oid_bytes(mech).is_some_and(|m| m != oids::NTLMSSP) {
            return Err(GssError::new(GSS_S_BAD_MECH, Minor::WrongMech));
        }
        let bindings = bindings_hash(cb);
        let token = buffer_bytes(input);
        let (mut step, flags) = if (*ctx).is_null() {
            let target = if target.is_null() {
                None
            } else {
                Some(name_ref(target)?.clone())
            };
            let cred = cred_snapshot(cred)?;
            let (sc, step) = SecContext::initiate(cred, target, req_flags, &config())?;
            let flags = sc.gss_flags();
            ctx.write(into_raw::<CtxCell, gss_ctx_id_struct>(CtxCell(Mutex::new(
                sc,
            ))));
            (step, flags)
        } else {
            with_ctx(*ctx, |sc| {
                let step = sc.init_step(Some(token), bindings)?;
                Ok((step, sc.gss_flags()))
            })?
        };
        give_vec(output, core::mem::take(&mut step.output))?;
        put(ret_flags, flags);
        put(time_rec, GSS_C_INDEFINITE);
        Ok(step_major(&step))
    }
}

/// `gss_init_sec_context` (RFC 2744 §5.19).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_init_sec_context(
    minor_status: *mut OM_uint32,
    claimant_cred_handle: gss_cred_id_t,
    context_handle: *mut gss_ctx_id_t,
    target_name: gss_name_t,
    mech_type: gss_OID,
    req_flags: OM_uint32,
    _time_req: OM_uint32,
    input_chan_bindings: gss_channel_bindings_t,
    input_token: gss_buffer_t,
    actual_mech_type: *mut gss_OID,
    output_token: gss_buffer_t,
    ret_flags: *mut OM_uint32,
    time_rec: *mut OM_uint32,
) -> OM_uint32 {
    let major = guard(minor_status, || {
        // SAFETY: forwarded contract.
        unsafe {
            init(
                claimant_cred_handle,
                context_handle,
                target_name,
                mech_type,
                req_flags,
                input_chan_bindings,
                input_token,
                actual_mech_type,
                output_token,
                ret_flags,
                time_rec,
            )
        }
    });
    if is_error(major) {
        // SAFETY: context_handle is NULL or valid.
        unsafe { release(context_handle) };
    }
    major
}

#[allow(clippy::too_many_arguments)]
unsafe fn accept(
    ctx: *mut gss_ctx_id_t,
    cred: gss_cred_id_t,
    input: gss_buffer_t,
    cb: gss_channel_bindings_t,
    src_name: *mut gss_name_t,
    mech: *mut gss_OID,
    output: gss_buffer_t,
    ret_flags: *mut OM_uint32,
    time_rec: *mut OM_uint32,
    delegated: *mut gss_cred_id_t,
) -> Result<u32, GssError> {
    // SAFETY: every pointer is NULL or valid per RFC 2744; handles are checked by the registry.
    unsafe {
        clear_buffer(output);
        put(src_name, core::ptr::null_mut());
        put(mech, static_oid(oids::NTLMSSP));
        put(ret_flags, 0);
        put(time_rec, 0);
        put(delegated, core::ptr::null_mut());
        if ctx.is_null() || output.is_null() {
            return Err(null_write());
        }
        if input.is_null() {
            return Err(null_read());
        }
        let token = buffer_bytes(input);
        let bindings = bindings_hash(cb);
        if (*ctx).is_null() {
            let sc = SecContext::accept(cred_snapshot(cred)?, &config(), &LibcSystem)?;
            ctx.write(into_raw::<CtxCell, gss_ctx_id_struct>(CtxCell(Mutex::new(
                sc,
            ))));
        }
        let (mut step, flags, name) = with_ctx(*ctx, |sc| {
            let step = sc.accept_step(token, bindings)?;
            // Build the name only when the caller asked for it: a handle nobody receives would leak.
            let name = if step.complete && !src_name.is_null() {
                sc.source_name().map(|n| (n, sc.source_attrs()))
            } else {
                None
            };
            Ok((step, sc.gss_flags(), name))
        })?;
        give_vec(output, core::mem::take(&mut step.output))?;
        if let Some((n, attrs)) = name {
            put(src_name, name_handle_with(n, attrs));
        }
        put(ret_flags, flags);
        put(time_rec, GSS_C_INDEFINITE);
        Ok(step_major(&step))
    }
}

/// `gss_accept_sec_context` (RFC 2744 §5.1).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_accept_sec_context(
    minor_status: *mut OM_uint32,
    context_handle: *mut gss_ctx_id_t,
    acceptor_cred_handle: gss_cred_id_t,
    input_token_buffer: gss_buffer_t,
    input_chan_bindings: gss_channel_bindings_t,
    src_name: *mut gss_name_t,
    mech_type: *mut gss_OID,
    output_token: gss_buffer_t,
    ret_flags: *mut OM_uint32,
    time_rec: *mut OM_uint32,
    delegated_cred_handle: *mut gss_cred_id_t,
) -> OM_uint32 {
    let major = guard(minor_status, || {
        // SAFETY: forwarded contract.
        unsafe {
            accept(
                context_handle,
                acceptor_cred_handle,
                input_token_buffer,
                input_chan_bindings,
                src_name,
                mech_type,
                output_token,
                ret_flags,
                time_rec,
                delegated_cred_handle,
            )
        }
    });
    if is_error(major) {
        // SAFETY: context_handle is NULL or valid.
        unsafe { release(context_handle) };
    }
    major
}

/// `gss_delete_sec_context` (RFC 2744 §5.9). NTLM has no context-deletion token.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_delete_sec_context(
    minor_status: *mut OM_uint32,
    context_handle: *mut gss_ctx_id_t,
    output_token: gss_buffer_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: pointers are NULL or valid; the handle is checked by the registry.
        unsafe {
            clear_buffer(output_token);
            if context_handle.is_null() {
                return Err(null_write());
            }
            if (*context_handle).is_null() {
                return Err(GssError::new(GSS_S_NO_CONTEXT, Minor::InvalidHandle));
            }
            handles::release::<CtxCell, _>(context_handle, bad_handle())?;
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_process_context_token` (RFC 2744 §5.25): NTLM defines no such token.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_process_context_token(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    _token_buffer: gss_buffer_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: the handle is checked by the registry.
        unsafe { with_ctx(context_handle, |_| Ok(())) }?;
        Err(GssError::with_detail(
            GSS_S_DEFECTIVE_TOKEN,
            Minor::MalformedToken,
            "NTLM has no context-level tokens",
        ))
    })
}

/// `gss_context_time` (RFC 2744 §5.7): NTLM contexts do not expire.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_context_time(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    time_rec: *mut OM_uint32,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: the handle is checked by the registry; time_rec is NULL or writable.
        unsafe {
            with_ctx(context_handle, |sc| sc.established().map(|_| ()))?;
            put(time_rec, GSS_C_INDEFINITE);
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_inquire_context` (RFC 2744 §5.28).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_inquire_context(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    src_name: *mut gss_name_t,
    targ_name: *mut gss_name_t,
    lifetime_rec: *mut OM_uint32,
    mech_type: *mut gss_OID,
    ctx_flags: *mut OM_uint32,
    locally_initiated: *mut c_int,
    open: *mut c_int,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: outputs are NULL or writable; the handle is checked by the registry.
        unsafe {
            put(src_name, core::ptr::null_mut());
            put(targ_name, core::ptr::null_mut());
            let (src, targ, flags, initiator, is_open) = with_ctx(context_handle, |sc| {
                Ok((
                    sc.source_name().map(|n| (n, sc.source_attrs())),
                    sc.target_name(),
                    sc.gss_flags(),
                    sc.is_initiator(),
                    sc.is_open(),
                ))
            })?;
            if !src_name.is_null() {
                src_name.write(src.map_or(core::ptr::null_mut(), |(n, a)| name_handle_with(n, a)));
            }
            if !targ_name.is_null() {
                targ_name.write(targ.map_or(core::ptr::null_mut(), name_handle));
            }
            put(lifetime_rec, if is_open { GSS_C_INDEFINITE } else { 0 });
            put(mech_type, static_oid(oids::NTLMSSP));
            put(ctx_flags, flags);
            put(locally_initiated, c_int::from(initiator));
            put(open, c_int::from(is_open));
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_get_mic` (RFC 2744 §5.15): the 16-byte NTLMSSP signature.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_get_mic(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    qop_req: gss_qop_t,
    message_buffer: gss_buffer_t,
    message_token: gss_buffer_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: buffers are NULL or valid; the handle is checked by the registry.
        unsafe {
            clear_buffer(message_token);
            if message_token.is_null() {
                return Err(null_write());
            }
            let msg = buffer_bytes(message_buffer);
            let mic = with_ctx(context_handle, |sc| sc.get_mic(qop_req, msg))?;
            write_buffer(message_token, &mic)?;
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_verify_mic` (RFC 2744 §5.32).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_verify_mic(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    message_buffer: gss_buffer_t,
    token_buffer: gss_buffer_t,
    qop_state: *mut gss_qop_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: buffers are NULL or valid; the handle is checked by the registry.
        unsafe {
            put(qop_state, 0);
            if token_buffer.is_null() {
                return Err(null_read());
            }
            let (msg, token) = (buffer_bytes(message_buffer), buffer_bytes(token_buffer));
            with_ctx(context_handle, |sc| sc.verify_mic(msg, token))?;
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_wrap` (RFC 2744 §5.33): signature || message, sealed when confidentiality was negotiated (NTLM cannot
/// tell a sealed from a signed-only token, so the negotiated flags decide, as in gss-ntlmssp).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_wrap(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    _conf_req_flag: c_int,
    qop_req: gss_qop_t,
    input_message_buffer: gss_buffer_t,
    conf_state: *mut c_int,
    output_message_buffer: gss_buffer_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: buffers are NULL or valid; the handle is checked by the registry.
        unsafe {
            clear_buffer(output_message_buffer);
            put(conf_state, 0);
            if output_message_buffer.is_null() {
                return Err(null_write());
            }
            let msg = buffer_bytes(input_message_buffer);
            let (token, sealed) = with_ctx(context_handle, |sc| {
                sc.wrap_with(qop_req, msg, MallocBuf::new)
            })?;
            token.give(output_message_buffer);
            put(conf_state, c_int::from(sealed));
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_unwrap` (RFC 2744 §5.31).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_unwrap(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    input_message_buffer: gss_buffer_t,
    output_message_buffer: gss_buffer_t,
    conf_state: *mut c_int,
    qop_state: *mut gss_qop_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: buffers are NULL or valid; the handle is checked by the registry.
        unsafe {
            clear_buffer(output_message_buffer);
            put(conf_state, 0);
            put(qop_state, 0);
            if output_message_buffer.is_null() {
                return Err(null_write());
            }
            if input_message_buffer.is_null() {
                return Err(null_read());
            }
            let token = buffer_bytes(input_message_buffer);
            let (msg, sealed) =
                with_ctx(context_handle, |sc| sc.unwrap_with(token, MallocBuf::new))?;
            msg.give(output_message_buffer);
            put(conf_state, c_int::from(sealed));
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_wrap_size_limit` (RFC 2744 §5.34): the token is the message plus a 16-byte signature.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_wrap_size_limit(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    _conf_req_flag: c_int,
    qop_req: gss_qop_t,
    req_output_size: OM_uint32,
    max_input_size: *mut OM_uint32,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: max_input_size is NULL or writable; the handle is checked by the registry.
        unsafe {
            put(max_input_size, 0);
            if max_input_size.is_null() {
                return Err(null_write());
            }
            let limit = with_ctx(context_handle, |sc| {
                sc.wrap_size_limit(qop_req, req_output_size)
            })?;
            max_input_size.write(limit);
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_export_sec_context` (RFC 2744 §5.14): the context is released and its handle set to NULL.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_export_sec_context(
    minor_status: *mut OM_uint32,
    context_handle: *mut gss_ctx_id_t,
    interprocess_token: gss_buffer_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: pointers are NULL or valid; the handle is checked by the registry.
        unsafe {
            clear_buffer(interprocess_token);
            if context_handle.is_null() || interprocess_token.is_null() {
                return Err(null_write());
            }
            let token = with_ctx(*context_handle, |sc| sc.export())?;
            write_buffer(interprocess_token, &token)?;
            release(context_handle);
        }
        Ok(GSS_S_COMPLETE)
    })
}

unsafe fn import(token: gss_buffer_t, out: *mut gss_ctx_id_t) -> Result<u32, GssError> {
    // SAFETY: pointers are NULL or valid per the caller's contract.
    unsafe {
        let sc = SecContext::import(import_token(token, out)?)?;
        out.write(into_raw::<CtxCell, gss_ctx_id_struct>(CtxCell(Mutex::new(
            sc,
        ))));
    }
    Ok(GSS_S_COMPLETE)
}

/// `gss_import_sec_context` (RFC 2744 §5.17).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_import_sec_context(
    minor_status: *mut OM_uint32,
    interprocess_token: gss_buffer_t,
    context_handle: *mut gss_ctx_id_t,
) -> OM_uint32 {
    // SAFETY: forwarded contract.
    guard(minor_status, || unsafe {
        import(interprocess_token, context_handle)
    })
}

/// `gssspi_import_sec_context_by_mech` (MIT SPI).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssspi_import_sec_context_by_mech(
    minor_status: *mut OM_uint32,
    mech_type: gss_OID,
    interprocess_token: gss_buffer_t,
    context_handle: *mut gss_ctx_id_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: mech_type is NULL or a valid OID.
        if unsafe { oid_bytes(mech_type) }.is_some_and(|m| m != oids::NTLMSSP) {
            return Err(GssError::new(GSS_S_BAD_MECH, Minor::WrongMech));
        }
        // SAFETY: forwarded contract.
        unsafe { import(interprocess_token, context_handle) }
    })
}

/// `gss_inquire_sec_context_by_oid` (MIT extension): the session key (`GSS_C_INQ_SSPI_SESSION_KEY`), the SASL
/// SSF, and MIT SPNEGO's "does the mech require a mechListMIC" (gss-ntlmssp's private OID `.2`).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_inquire_sec_context_by_oid(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    desired_object: gss_OID,
    data_set: *mut gss_buffer_set_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: pointers are NULL or valid; the handle is checked by the registry.
        unsafe {
            let oid = by_oid_args(desired_object, data_set)?;
            let items = with_ctx(context_handle, |sc| sc.inquire_by_oid(oid))?;
            let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
            data_set.write(make_buffer_set(&refs)?);
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_set_sec_context_option` (MIT extension): gss-ntlmssp's private OIDs `.1` (sequence number) and `.3`
/// (reset the RC4 state, as MIT SPNEGO asks after each mechListMIC).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_set_sec_context_option(
    minor_status: *mut OM_uint32,
    context_handle: *mut gss_ctx_id_t,
    desired_object: gss_OID,
    value: gss_buffer_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: pointers are NULL or valid; the handle is checked by the registry.
        unsafe {
            if context_handle.is_null() {
                return Err(null_read());
            }
            let oid = oid_bytes(desired_object).ok_or_else(null_read)?;
            let value = buffer_bytes(value);
            with_ctx(*context_handle, |sc| sc.set_option(oid, value))?;
        }
        Ok(GSS_S_COMPLETE)
    })
}
