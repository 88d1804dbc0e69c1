//! Context-level extensions on an established interposer context, as MIT's SPNEGO offers them (its method
//! table in `spnego_mech.c` forwards each to the negotiated mechanism): `gss_inquire_sec_context_by_oid` (the
//! session key `GSS_C_INQ_SSPI_SESSION_KEY` Samba/SSSD-like callers ask for, the SASL SSF, …),
//! `gss_set_sec_context_option`, `gss_pseudo_random` (RFC 4401) and `gss_process_context_token`.
//!
//! NTLM answers in-process (the same code as the NTLM plugin's own exports); Kerberos is forwarded to the krb5
//! context through the mechglue ([`glue_call`]), whose answer (buffers allocated by the mechglue, freed by the
//! caller with the mechglue's release functions) goes back as it is.

use super::super::mechglue::{classify, mechglue, Mechglue};
use super::super::types::*;
use super::super::util::*;
use super::context::{krb_error, with_inner};
use super::established::Inner;
use super::glue_error;
use crate::status::*;
use core::ffi::c_int;

/// Calls the mechglue (`f` gets it and a minor status to write); a GSS error becomes this library's error with
/// the mechglue's text, any other major (with its supplementary bits) is returned as it is.
pub(super) fn glue_call(
    f: impl FnOnce(&Mechglue, *mut OM_uint32) -> OM_uint32,
) -> Result<u32, GssError> {
    let g = mechglue().map_err(glue_error)?;
    let mut minor = 0;
    let major = f(g, &mut minor);
    if is_error(major) {
        let detail = classify(g, major, minor).to_string();
        return Err(GssError::with_detail(major, Minor::None, detail));
    }
    Ok(major)
}

/// The error for a call the negotiated mechanism does not provide (as the mechglue answers when a mechanism
/// lacks the entry point).
pub(super) fn unavailable(what: &str) -> GssError {
    GssError::with_detail(
        GSS_S_UNAVAILABLE,
        Minor::NotImplemented,
        format!("{what} is not available for NTLM"),
    )
}

/// `gssi_inquire_sec_context_by_oid` (MIT extension).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_inquire_sec_context_by_oid(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    desired_object: gss_OID,
    data_set: *mut gss_buffer_set_t,
) -> OM_uint32 {
    // SAFETY: pointers are NULL or valid; the handle is checked by the registry.
    guard(minor_status, || unsafe {
        let oid = by_oid_args(desired_object, data_set)?;
        with_inner(context_handle, |i| match i {
            Inner::Ntlm(sc) => {
                let items = sc.inquire_by_oid(oid)?;
                let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
                data_set.write(make_buffer_set(&refs)?);
                Ok(GSS_S_COMPLETE)
            }
            Inner::Krb(k) => {
                let ctx = k.raw_ctx().map_err(krb_error)?;
                glue_call(|g, m| (g.inquire_sec_context_by_oid)(m, ctx, desired_object, data_set))
            }
        })
    })
}

/// `gssi_set_sec_context_option` (MIT extension).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_set_sec_context_option(
    minor_status: *mut OM_uint32,
    context_handle: *mut gss_ctx_id_t,
    desired_object: gss_OID,
    value: gss_buffer_t,
) -> OM_uint32 {
    // SAFETY: pointers are NULL or valid; the handle is checked by the registry.
    guard(minor_status, || unsafe {
        if context_handle.is_null() {
            return Err(null_read());
        }
        let oid = oid_bytes(desired_object).ok_or_else(null_read)?;
        with_inner(*context_handle, |i| match i {
            Inner::Ntlm(sc) => {
                sc.set_option(oid, buffer_bytes(value))?;
                Ok(GSS_S_COMPLETE)
            }
            Inner::Krb(k) => {
                // The krb5 mechanism keeps its handle; a copy is passed so ours cannot change.
                let mut ctx = k.raw_ctx().map_err(krb_error)?;
                glue_call(|g, m| (g.set_sec_context_option)(m, &mut ctx, desired_object, value))
            }
        })
    })
}

/// `gssi_pseudo_random` (RFC 4401): Kerberos's PRF; NTLM has none (`GSS_S_UNAVAILABLE`, as the mechglue answers
/// under MIT's SPNEGO for an NTLM mechanism without `gss_pseudo_random`).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_pseudo_random(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    prf_key: c_int,
    prf_in: gss_buffer_t,
    desired_output_len: isize,
    prf_out: gss_buffer_t,
) -> OM_uint32 {
    // SAFETY: pointers are NULL or valid; the handle is checked by the registry.
    guard(minor_status, || unsafe {
        clear_buffer(prf_out);
        if prf_out.is_null() {
            return Err(null_write());
        }
        with_inner(context_handle, |i| match i {
            Inner::Ntlm(_) => Err(unavailable("gss_pseudo_random")),
            Inner::Krb(k) => {
                let ctx = k.raw_ctx().map_err(krb_error)?;
                glue_call(|g, m| {
                    (g.pseudo_random)(m, ctx, prf_key, prf_in, desired_output_len, prf_out)
                })
            }
        })
    })
}

/// `gssi_process_context_token` (RFC 2744 §5.25): Kerberos's (a deletion or error token). NTLM defines none:
/// `GSS_S_UNAVAILABLE`, the answer every SPNEGO context gets from MIT's SPNEGO, which lacks this call.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_process_context_token(
    minor_status: *mut OM_uint32,
    context_handle: gss_ctx_id_t,
    token_buffer: gss_buffer_t,
) -> OM_uint32 {
    // SAFETY: pointers are NULL or valid; the handle is checked by the registry.
    guard(minor_status, || unsafe {
        if token_buffer.is_null() {
            return Err(null_read());
        }
        with_inner(context_handle, |i| match i {
            Inner::Ntlm(_) => Err(unavailable("gss_process_context_token")),
            Inner::Krb(k) => {
                let ctx = k.raw_ctx().map_err(krb_error)?;
                glue_call(|g, m| (g.process_context_token)(m, ctx, token_buffer))
            }
        })
    })
}
