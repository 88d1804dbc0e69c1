//! Credential calls beyond acquisition: `gss_inquire_cred_by_oid` (as MIT's SPNEGO, forwarded to the mechanisms'
//! credentials), `gss_acquire_cred_impersonate_name` (Kerberos S4U2Self, as MIT's SPNEGO forwards it),
//! `gss_store_cred` / `gss_store_cred_into`, which MIT's SPNEGO lacks (it stores nothing), and
//! `gss_export_cred` / `gss_import_cred` (both halves, [`crate::spnego::export::encode_cred`]).
//!
//! Except for export and import, only the Kerberos half of an interposer credential takes part: it is a mechglue credential, reached with the
//! krb5 OID. The NTLM half has nothing to answer or keep: the NTLM mechanism defines no credential OIDs, cannot
//! impersonate, and its credentials are not stored — they come from the user file, the cred store or
//! `gss-negotiate login` each time they are acquired. A credential without a Kerberos half therefore gets
//! `GSS_S_UNAVAILABLE` from these calls, with a text that says why.

use std::sync::Arc;

use super::super::mechglue::{empty, input, oid, take, GlueCred, KRB5_OID};
use super::super::types::*;
use super::super::util::*;
use super::creds::{icred_handle, icred_snapshot, ICred};
use super::ext::glue_call;
use super::names::iname_ref;
use super::SPNEGO;
use crate::creds::Credential;
use crate::spnego::export::{decode_cred, encode_cred, CredParts};
use crate::status::*;
use zeroize::Zeroizing;

fn no_kerberos(what: &str) -> GssError {
    GssError::with_detail(
        GSS_S_UNAVAILABLE,
        Minor::NotImplemented,
        format!("{what}: the credential has no Kerberos part (NTLM credentials are acquired afresh, never stored)"),
    )
}

/// The Kerberos half of the credential behind `cred` (`what` names the call for the error).
///
/// # Safety
/// `cred` is NULL or a handle (checked by the registry).
unsafe fn kerberos_half(cred: gss_cred_id_t, what: &str) -> Result<Arc<GlueCred>, GssError> {
    // SAFETY: forwarded contract.
    let c = unsafe { icred_snapshot(cred)? }
        .ok_or(GssError::new(GSS_S_NO_CRED, Minor::NoCredentials))?;
    c.krb.ok_or_else(|| no_kerberos(what))
}

/// `gssi_inquire_cred_by_oid` (MIT extension): the Kerberos credential's answer.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_inquire_cred_by_oid(
    minor_status: *mut OM_uint32,
    cred_handle: gss_cred_id_t,
    desired_object: gss_OID,
    data_set: *mut gss_buffer_set_t,
) -> OM_uint32 {
    // SAFETY: pointers are NULL or valid; the handle is checked by the registry.
    guard(minor_status, || unsafe {
        by_oid_args(desired_object, data_set)?;
        let krb = kerberos_half(cred_handle, "gss_inquire_cred_by_oid")?;
        glue_call(|g, m| (g.inquire_cred_by_oid)(m, krb.raw(), desired_object, data_set))
    })
}

/// `gssi_store_cred` (RFC 5588).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_store_cred(
    minor_status: *mut OM_uint32,
    input_cred_handle: gss_cred_id_t,
    input_usage: gss_cred_usage_t,
    desired_mech: gss_OID,
    overwrite_cred: OM_uint32,
    default_cred: OM_uint32,
    elements_stored: *mut gss_OID_set,
    cred_usage_stored: *mut gss_cred_usage_t,
) -> OM_uint32 {
    // SAFETY: forwarded contract (no cred store: the default one).
    unsafe {
        gssi_store_cred_into(
            minor_status,
            input_cred_handle,
            input_usage,
            desired_mech,
            overwrite_cred,
            default_cred,
            core::ptr::null(),
            elements_stored,
            cred_usage_stored,
        )
    }
}

/// `gssi_store_cred_into` (MIT extension): stores the Kerberos half (into the ccache the store names, or the
/// default one) through the mechglue; `elements_stored` then names SPNEGO, the mechanism the caller stored.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_store_cred_into(
    minor_status: *mut OM_uint32,
    input_cred_handle: gss_cred_id_t,
    input_usage: gss_cred_usage_t,
    _desired_mech: gss_OID,
    overwrite_cred: OM_uint32,
    default_cred: OM_uint32,
    cred_store: gss_const_key_value_set_t,
    elements_stored: *mut gss_OID_set,
    cred_usage_stored: *mut gss_cred_usage_t,
) -> OM_uint32 {
    // SAFETY: pointers are NULL or valid; the handle is checked by the registry.
    guard(minor_status, || unsafe {
        put(elements_stored, core::ptr::null_mut());
        put(cred_usage_stored, 0);
        let krb = kerberos_half(input_cred_handle, "gss_store_cred")?;
        let mut krb5 = oid(&KRB5_OID);
        let mut stored_usage = 0;
        glue_call(|g, m| {
            (g.store_cred_into)(
                m,
                krb.raw(),
                input_usage,
                &mut krb5,
                overwrite_cred,
                default_cred,
                cred_store,
                core::ptr::null_mut(),
                &mut stored_usage,
            )
        })?;
        put_oid_set(elements_stored, &[SPNEGO])?;
        put(cred_usage_stored, stored_usage);
        Ok(GSS_S_COMPLETE)
    })
}

/// `gssi_acquire_cred_impersonate_name` (MIT extension, Kerberos S4U2Self): a credential for `desired_name`
/// from the impersonator's Kerberos credential; the result has a Kerberos half only.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_acquire_cred_impersonate_name(
    minor_status: *mut OM_uint32,
    impersonator_cred_handle: gss_cred_id_t,
    desired_name: gss_name_t,
    time_req: OM_uint32,
    _desired_mechs: gss_OID_set,
    cred_usage: gss_cred_usage_t,
    output_cred_handle: *mut gss_cred_id_t,
    actual_mechs: *mut gss_OID_set,
    time_rec: *mut OM_uint32,
) -> OM_uint32 {
    // SAFETY: pointers are NULL or valid; handles are checked by the registries.
    guard(minor_status, || unsafe {
        put(output_cred_handle, core::ptr::null_mut());
        put(actual_mechs, core::ptr::null_mut());
        put(time_rec, 0);
        if output_cred_handle.is_null() {
            return Err(null_write());
        }
        if desired_name.is_null() {
            return Err(null_read());
        }
        let imp = kerberos_half(
            impersonator_cred_handle,
            "gss_acquire_cred_impersonate_name",
        )?;
        let name = iname_ref(desired_name)?.krb().ok_or_else(|| {
            GssError::with_detail(
                GSS_S_BAD_NAME,
                Minor::BadName,
                "the name has no Kerberos form",
            )
        })?;
        let mut krb5 = oid(&KRB5_OID);
        let mut mechs = gss_OID_set_desc {
            count: 1,
            elements: &mut krb5,
        };
        let (mut out, mut secs) = (core::ptr::null_mut(), 0);
        let r = glue_call(|g, m| {
            (g.acquire_cred_impersonate_name)(
                m,
                imp.raw(),
                name.raw(),
                time_req,
                &mut mechs,
                cred_usage,
                &mut out,
                core::ptr::null_mut(),
                &mut secs,
            )
        });
        let cred = GlueCred::from_raw(out);
        r?;
        let cred = cred.ok_or_else(|| no_kerberos("gss_acquire_cred_impersonate_name"))?;
        put_oid_set(actual_mechs, &[SPNEGO])?;
        put(time_rec, secs);
        output_cred_handle.write(icred_handle(ICred {
            krb: Some(Arc::new(cred)),
            ..ICred::default()
        }));
        Ok(GSS_S_COMPLETE)
    })
}

/// `gssi_export_cred` (MIT extension): the Kerberos part as the mechglue exports it and the NTLM part as the NTLM
/// mechanism does — the token holds the NT hash and the Kerberos session keys: as secret as a password.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_export_cred(
    minor_status: *mut OM_uint32,
    cred_handle: gss_cred_id_t,
    token: gss_buffer_t,
) -> OM_uint32 {
    // SAFETY: pointers are NULL or valid; the handle is checked by the registry.
    guard(minor_status, || unsafe {
        clear_buffer(token);
        if token.is_null() {
            return Err(null_write());
        }
        let cred = icred_snapshot(cred_handle)?
            .ok_or(GssError::new(GSS_S_NO_CRED, Minor::NoCredentials))?;
        let krb5 = match &cred.krb {
            Some(k) => {
                let mut bytes = Zeroizing::new(Vec::new());
                glue_call(|g, m| {
                    let mut out = empty();
                    let major = (g.export_cred)(m, k.raw(), &mut out);
                    *bytes = take(g, &mut out);
                    major
                })?;
                Some(bytes)
            }
            None => None,
        };
        let ntlm = cred.ntlm.as_deref().map(Credential::export);
        let t = encode_cred(&CredParts {
            krb5: krb5.as_deref().map(Vec::as_slice),
            ntlm: ntlm.as_deref().map(Vec::as_slice),
        });
        write_buffer(token, &t)?;
        Ok(GSS_S_COMPLETE)
    })
}

/// Rebuilds a credential from [`gssi_export_cred`]'s token.
///
/// # Safety
/// `token` is NULL or valid; `out` is NULL or writable.
unsafe fn import_cred(token: gss_buffer_t, out: *mut gss_cred_id_t) -> Result<u32, GssError> {
    // SAFETY: out is NULL or writable; token is NULL or valid.
    unsafe {
        let parts = decode_cred(import_token(token, out)?).ok_or_else(|| {
            GssError::with_detail(
                GSS_S_DEFECTIVE_TOKEN,
                Minor::BadCredToken,
                "not an exported SPNEGO credential",
            )
        })?;
        let krb = match parts.krb5 {
            Some(t) => {
                let mut inp = input(t);
                let mut c = core::ptr::null_mut();
                let r = glue_call(|g, m| (g.import_cred)(m, &mut inp, &mut c));
                let c = GlueCred::from_raw(c);
                r?;
                c.map(Arc::new)
            }
            None => None,
        };
        let ntlm = parts
            .ntlm
            .map(Credential::import)
            .transpose()?
            .map(Arc::new);
        out.write(icred_handle(ICred {
            krb,
            ntlm,
            neg_mechs: None,
            // An exported credential does not carry the NegoEx hand-off credential: negotiations with the
            // imported one go through our engine (interposer::negoex needs `negoex` to hand one off).
            negoex: None,
        }));
    }
    Ok(GSS_S_COMPLETE)
}

/// `gssi_import_cred` (MIT extension).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_import_cred(
    minor_status: *mut OM_uint32,
    token: gss_buffer_t,
    cred_handle: *mut gss_cred_id_t,
) -> OM_uint32 {
    // SAFETY: forwarded contract.
    guard(minor_status, || unsafe { import_cred(token, cred_handle) })
}

/// `gssi_import_cred_by_mech` (MIT SPI; the mechglue passes the public SPNEGO OID).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_import_cred_by_mech(
    minor_status: *mut OM_uint32,
    _mech_type: gss_OID,
    token: gss_buffer_t,
    cred_handle: *mut gss_cred_id_t,
) -> OM_uint32 {
    // SAFETY: forwarded contract.
    guard(minor_status, || unsafe { import_cred(token, cred_handle) })
}
