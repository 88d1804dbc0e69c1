//! Export and import of established interposer contexts (RFC 2744 §5.14, §5.17). Export writes
//! `stamp(SPNEGO, stamp(mech, token))` ([`crate::spnego::export`]); the mechglue adds its own stamp (the
//! concatenated OID), so `gss_import_sec_context` goes to MIT's SPNEGO, which imports the inner token with the
//! public SPNEGO OID — back to `gssi_import_sec_context_by_mech` (ARCHITECTURE.md §7). A process without the
//! interposer line does not know the concatenated OID and refuses the token.

use std::sync::Mutex;

use super::super::handles::{into_raw, take};
use super::super::mechglue::{KerberosMech, KRB5_OID};
use super::super::types::*;
use super::super::util::*;
use super::context::{bad_handle, krb_error, with_inner, ICtx, ICtxCell, Phase};
use super::established::{Inner, NtlmInner};
use super::SPNEGO;
use crate::context::SecContext;
use crate::oids;
use crate::spnego::export::{stamp, unstamp};
use crate::status::*;

/// `gssi_export_sec_context` (RFC 2744 §5.14): `stamp(SPNEGO, stamp(mech, mech's export token))`; the context
/// is gone afterwards.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_export_sec_context(
    minor_status: *mut OM_uint32,
    context_handle: *mut gss_ctx_id_t,
    interprocess_token: gss_buffer_t,
) -> OM_uint32 {
    guard(minor_status, || {
        if context_handle.is_null() || interprocess_token.is_null() {
            return Err(null_write());
        }
        // SAFETY: pointers are valid; the handle is checked by the registry and taken out.
        unsafe {
            clear_buffer(interprocess_token);
            with_inner(*context_handle, |_| Ok(()))?;
            let cell = take::<ICtxCell, _>(*context_handle, bad_handle())?;
            context_handle.write(core::ptr::null_mut());
            let ctx = cell.0.into_inner().unwrap_or_else(|p| p.into_inner());
            let Phase::Done(inner) = ctx.phase else {
                return Err(GssError::new(GSS_S_NO_CONTEXT, Minor::ContextIncomplete));
            };
            let token = match inner {
                Inner::Ntlm(sc) => zeroize::Zeroizing::new(stamp(oids::NTLMSSP, &sc.export()?)),
                Inner::Krb(k) => zeroize::Zeroizing::new(k.export().map_err(krb_error)?),
            };
            write_buffer(interprocess_token, &stamp(SPNEGO, &token))?;
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// Builds an established context from an export token: ours (`stamp(SPNEGO, stamp(mech, …))`, the inner part
/// when MIT's SPNEGO hands it on) or MIT's SPNEGO's (the mechanism's stamped token).
fn import(token: &[u8], depth: u8) -> Result<Inner, GssError> {
    let bad = || {
        GssError::with_detail(
            GSS_S_DEFECTIVE_TOKEN,
            Minor::BadContextToken,
            "not a SPNEGO, NTLM or Kerberos context token",
        )
    };
    let (oid, body) = unstamp(token).ok_or_else(bad)?;
    // A context exported again after an import went through MIT's SPNEGO layer, which re-exports our
    // context (stamped by the mechglue with the concatenated OID): unwrap a few layers.
    let spnego = oid == SPNEGO || super::concatenated_oid().is_some_and(|c| c == oid);
    match oid {
        _ if spnego && depth < 4 => import(body, depth + 1),
        o if o == oids::NTLMSSP => Ok(Inner::Ntlm(NtlmInner::imported(SecContext::import(body)?))),
        o if o == KRB5_OID => Ok(Inner::Krb(KerberosMech::import(token).map_err(krb_error)?)),
        _ => Err(bad()),
    }
}

unsafe fn import_into(token: gss_buffer_t, out: *mut gss_ctx_id_t) -> Result<u32, GssError> {
    // SAFETY: out is NULL or writable; token is NULL or valid.
    unsafe {
        let inner = import(import_token(token, out)?, 0)?;
        out.write(into_raw::<ICtxCell, gss_ctx_id_struct>(ICtxCell(
            Mutex::new(ICtx {
                initiator: inner.is_initiator(),
                phase: Phase::Done(inner),
            }),
        )));
    }
    Ok(GSS_S_COMPLETE)
}

/// `gssi_import_sec_context_by_mech` (MIT): called with the public SPNEGO OID.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_import_sec_context_by_mech(
    minor_status: *mut OM_uint32,
    _mech_type: gss_OID,
    interprocess_token: gss_buffer_t,
    context_handle: *mut gss_ctx_id_t,
) -> OM_uint32 {
    // SAFETY: forwarded contract.
    guard(minor_status, || unsafe {
        import_into(interprocess_token, context_handle)
    })
}

/// `gssi_import_sec_context` (RFC 2744 §5.17).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_import_sec_context(
    minor_status: *mut OM_uint32,
    interprocess_token: gss_buffer_t,
    context_handle: *mut gss_ctx_id_t,
) -> OM_uint32 {
    // SAFETY: forwarded contract.
    guard(minor_status, || unsafe {
        import_into(interprocess_token, context_handle)
    })
}
