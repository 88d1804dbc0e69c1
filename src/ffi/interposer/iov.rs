//! The IOV forms of the per-message calls on an established interposer context, as MIT's SPNEGO forwards them:
//! `gss_wrap_iov`, `gss_unwrap_iov`, `gss_wrap_iov_length` (NTLM in-process with the NTLM plugin's own IOV code,
//! [`crate::ffi::iov`]; Kerberos through the mechglue) and `gss_get_mic_iov`, `gss_verify_mic_iov`,
//! `gss_get_mic_iov_length` (Kerberos; NTLM has none, `GSS_S_UNAVAILABLE` as under MIT's SPNEGO).
//!
//! `gss_wrap_aead` / `gss_unwrap_aead` are not exported: the mechglue then builds them from these IOV calls
//! (`g_wrap_aead.c`, `g_unwrap_aead.c`), as it does for the krb5 mechanism itself, which has no AEAD entry points.
//! The caller's IOV array goes to Kerberos as it is (the mechglue allocates what the caller flags ALLOCATE).

use super::super::iov::{iov_slice, unwrap_iov_on, wrap_iov_length_on, wrap_iov_on};
use super::super::mechglue::Mechglue;
use super::super::types::*;
use super::super::util::*;
use super::context::{krb_error, with_inner};
use super::established::Inner;
use super::ext::{glue_call, unavailable};
use crate::context::SecContext;
use crate::status::*;
use core::ffi::c_int;

/// One call on the negotiated mechanism: `ntlm` on the NTLM context (its answer is whether the message is, or
/// would be, sealed, for `conf_state`), or `krb` with the mechglue and the Kerberos context (which writes the
/// caller's outputs itself). `None` for `ntlm`: the call does not exist for NTLM.
///
/// # Safety
/// `conf_state` is NULL or writable; the closures' pointers are the caller's, valid per its contract.
unsafe fn on_mech(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    conf_state: *mut c_int,
    ntlm: Result<impl FnOnce(&mut SecContext) -> Result<bool, GssError>, &str>,
    krb: impl FnOnce(&Mechglue, *mut OM_uint32, gss_ctx_id_t) -> OM_uint32,
) -> OM_uint32 {
    // SAFETY: per the contract; the handle is checked by the registry.
    guard(minor_status, || unsafe {
        put(conf_state, 0);
        with_inner(context_handle, |i| match i {
            Inner::Ntlm(sc) => {
                let sealed = ntlm.map_err(unavailable)?(sc)?;
                put(conf_state, c_int::from(sealed));
                Ok(GSS_S_COMPLETE)
            }
            Inner::Krb(k) => {
                let ctx = k.raw_ctx().map_err(krb_error)?;
                glue_call(|g, m| krb(g, m, ctx))
            }
        })
    })
}

/// The `ntlm` argument of [`on_mech`] for a call NTLM does not have.
type NoNtlm = fn(&mut SecContext) -> Result<bool, GssError>;

/// `gssi_wrap_iov`.
///
/// # Safety
/// Pointers are NULL or valid; `iov` is valid for `iov_count` elements.
#[no_mangle]
pub unsafe extern "C" fn gssi_wrap_iov(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    conf_req_flag: c_int,
    qop_req: gss_qop_t,
    conf_state: *mut c_int,
    iov: gss_iov_buffer_t,
    iov_count: c_int,
) -> OM_uint32 {
    // SAFETY: per the contract.
    unsafe {
        on_mech(
            minor_status,
            context_handle,
            conf_state,
            Ok(|sc: &mut SecContext| wrap_iov_on(sc, qop_req, iov_slice(iov, iov_count)?)),
            |g, m, ctx| (g.wrap_iov)(m, ctx, conf_req_flag, qop_req, conf_state, iov, iov_count),
        )
    }
}

/// `gssi_unwrap_iov`.
///
/// # Safety
/// Pointers are NULL or valid; `iov` is valid for `iov_count` elements.
#[no_mangle]
pub unsafe extern "C" fn gssi_unwrap_iov(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    conf_state: *mut c_int,
    qop_state: *mut gss_qop_t,
    iov: gss_iov_buffer_t,
    iov_count: c_int,
) -> OM_uint32 {
    // SAFETY: per the contract.
    unsafe {
        put(qop_state, 0);
        on_mech(
            minor_status,
            context_handle,
            conf_state,
            Ok(|sc: &mut SecContext| unwrap_iov_on(sc, iov_slice(iov, iov_count)?)),
            |g, m, ctx| (g.unwrap_iov)(m, ctx, conf_state, qop_state, iov, iov_count),
        )
    }
}

/// `gssi_wrap_iov_length`.
///
/// # Safety
/// Pointers are NULL or valid; `iov` is valid for `iov_count` elements.
#[no_mangle]
pub unsafe extern "C" fn gssi_wrap_iov_length(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    conf_req_flag: c_int,
    qop_req: gss_qop_t,
    conf_state: *mut c_int,
    iov: gss_iov_buffer_t,
    iov_count: c_int,
) -> OM_uint32 {
    // SAFETY: per the contract.
    unsafe {
        on_mech(
            minor_status,
            context_handle,
            conf_state,
            Ok(|sc: &mut SecContext| wrap_iov_length_on(sc, qop_req, iov_slice(iov, iov_count)?)),
            |g, m, ctx| {
                (g.wrap_iov_length)(m, ctx, conf_req_flag, qop_req, conf_state, iov, iov_count)
            },
        )
    }
}

/// `gssi_get_mic_iov` (Kerberos only).
///
/// # Safety
/// Pointers are NULL or valid; `iov` is valid for `iov_count` elements.
#[no_mangle]
pub unsafe extern "C" fn gssi_get_mic_iov(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    qop_req: gss_qop_t,
    iov: gss_iov_buffer_t,
    iov_count: c_int,
) -> OM_uint32 {
    // SAFETY: per the contract.
    unsafe {
        on_mech(
            minor_status,
            context_handle,
            core::ptr::null_mut(),
            Err::<NoNtlm, _>("gss_get_mic_iov"),
            |g, m, ctx| (g.get_mic_iov)(m, ctx, qop_req, iov, iov_count),
        )
    }
}

/// `gssi_verify_mic_iov` (Kerberos only).
///
/// # Safety
/// Pointers are NULL or valid; `iov` is valid for `iov_count` elements.
#[no_mangle]
pub unsafe extern "C" fn gssi_verify_mic_iov(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    qop_state: *mut gss_qop_t,
    iov: gss_iov_buffer_t,
    iov_count: c_int,
) -> OM_uint32 {
    // SAFETY: per the contract.
    unsafe {
        put(qop_state, 0);
        on_mech(
            minor_status,
            context_handle,
            core::ptr::null_mut(),
            Err::<NoNtlm, _>("gss_verify_mic_iov"),
            |g, m, ctx| (g.verify_mic_iov)(m, ctx, qop_state, iov, iov_count),
        )
    }
}

/// `gssi_get_mic_iov_length` (Kerberos only).
///
/// # Safety
/// Pointers are NULL or valid; `iov` is valid for `iov_count` elements.
#[no_mangle]
pub unsafe extern "C" fn gssi_get_mic_iov_length(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    qop_req: gss_qop_t,
    iov: gss_iov_buffer_t,
    iov_count: c_int,
) -> OM_uint32 {
    // SAFETY: per the contract.
    unsafe {
        on_mech(
            minor_status,
            context_handle,
            core::ptr::null_mut(),
            Err::<NoNtlm, _>("gss_get_mic_iov_length"),
            |g, m, ctx| (g.get_mic_iov_length)(m, ctx, qop_req, iov, iov_count),
        )
    }
}
