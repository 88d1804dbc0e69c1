//! Per-message calls on an established interposer context (RFC 2744 §5.15, §5.32, §5.33, §5.31, §5.34): they go
//! to the negotiated mechanism — NTLM's own session security, or the Kerberos context through the mechglue.

use super::super::types::*;
use super::super::util::*;
use super::context::{krb_error, with_inner};
use super::established::Inner;
use crate::spnego::mech::Mechanism;
use crate::status::*;
use core::ffi::c_int;

/// `gssi_get_mic` (RFC 2744 §5.15).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_get_mic(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    qop_req: gss_qop_t,
    message_buffer: gss_buffer_t,
    message_token: gss_buffer_t,
) -> OM_uint32 {
    // SAFETY: buffers are NULL or valid; the handle is checked by the registry.
    guard(minor_status, || unsafe {
        clear_buffer(message_token);
        if message_token.is_null() {
            return Err(null_write());
        }
        let msg = buffer_bytes(message_buffer);
        let mic = with_inner(context_handle, |i| match i {
            Inner::Ntlm(sc) => Ok(sc.get_mic(qop_req, msg)?.to_vec()),
            Inner::Krb(k) => k.get_mic(msg).map_err(krb_error),
        })?;
        write_buffer(message_token, &mic)?;
        Ok(GSS_S_COMPLETE)
    })
}

/// `gssi_verify_mic` (RFC 2744 §5.32).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_verify_mic(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    message_buffer: gss_buffer_t,
    token_buffer: gss_buffer_t,
    qop_state: *mut gss_qop_t,
) -> OM_uint32 {
    // SAFETY: buffers are NULL or valid; the handle is checked by the registry.
    guard(minor_status, || unsafe {
        put(qop_state, 0);
        let (msg, tok) = (buffer_bytes(message_buffer), buffer_bytes(token_buffer));
        with_inner(context_handle, |i| match i {
            Inner::Ntlm(sc) => sc.verify_mic(msg, tok),
            Inner::Krb(k) => k.verify_mic(msg, tok).map_err(krb_error),
        })?;
        Ok(GSS_S_COMPLETE)
    })
}

/// `gssi_wrap` (RFC 2744 §5.33).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_wrap(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    conf_req_flag: c_int,
    qop_req: gss_qop_t,
    input_message_buffer: gss_buffer_t,
    conf_state: *mut c_int,
    output_message_buffer: gss_buffer_t,
) -> OM_uint32 {
    // SAFETY: buffers are NULL or valid; the handle is checked by the registry.
    guard(minor_status, || unsafe {
        clear_buffer(output_message_buffer);
        put(conf_state, 0);
        if output_message_buffer.is_null() {
            return Err(null_write());
        }
        let msg = buffer_bytes(input_message_buffer);
        let (token, sealed) = with_inner(context_handle, |i| match i {
            Inner::Ntlm(sc) => sc.wrap(qop_req, msg),
            Inner::Krb(k) => k.wrap(msg, conf_req_flag != 0).map_err(krb_error),
        })?;
        let token = zeroize::Zeroizing::new(token);
        write_buffer(output_message_buffer, &token)?;
        put(conf_state, c_int::from(sealed));
        Ok(GSS_S_COMPLETE)
    })
}

/// `gssi_unwrap` (RFC 2744 §5.31).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_unwrap(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    input_message_buffer: gss_buffer_t,
    output_message_buffer: gss_buffer_t,
    conf_state: *mut c_int,
    qop_state: *mut gss_qop_t,
) -> OM_uint32 {
    // SAFETY: buffers are NULL or valid; the handle is checked by the registry.
    guard(minor_status, || unsafe {
        clear_buffer(output_message_buffer);
        put(conf_state, 0);
        put(qop_state, 0);
        if output_message_buffer.is_null() {
            return Err(null_write());
        }
        let tok = buffer_bytes(input_message_buffer);
        let (msg, sealed) = with_inner(context_handle, |i| match i {
            Inner::Ntlm(sc) => sc.unwrap(tok),
            Inner::Krb(k) => k.unwrap(tok).map_err(krb_error),
        })?;
        let msg = zeroize::Zeroizing::new(msg);
        write_buffer(output_message_buffer, &msg)?;
        put(conf_state, c_int::from(sealed));
        Ok(GSS_S_COMPLETE)
    })
}

/// `gssi_wrap_size_limit` (RFC 2744 §5.34).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_wrap_size_limit(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    conf_req_flag: c_int,
    qop_req: gss_qop_t,
    req_output_size: OM_uint32,
    max_input_size: *mut OM_uint32,
) -> OM_uint32 {
    // SAFETY: the handle is checked; max_input_size is NULL or writable.
    guard(minor_status, || unsafe {
        put(max_input_size, 0);
        let max = with_inner(context_handle, |i| match i {
            Inner::Ntlm(sc) => sc.wrap_size_limit(qop_req, req_output_size),
            Inner::Krb(k) => k
                .wrap_size_limit(conf_req_flag != 0, req_output_size)
                .map_err(krb_error),
        })?;
        put(max_input_size, max);
        Ok(GSS_S_COMPLETE)
    })
}
