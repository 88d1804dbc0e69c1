//! Name calls MIT's SPNEGO offers beyond the ones in [`super::names`]: `gss_compare_name` and
//! `gss_inquire_names_for_mech`.

use super::super::types::*;
use super::super::util::*;
use super::ext::glue_call;
use super::names::{iname_ref, IName};
use crate::oids;
use crate::status::*;
use core::ffi::c_int;

/// Whether two interposer names name the same principal: through the mechglue when both have a Kerberos form
/// (as MIT's SPNEGO compares its union names), else as the NTLM mechanism compares (case-insensitive); a
/// Kerberos-only name never equals an NTLM-only one.
fn same_name(a: &IName, b: &IName) -> Result<bool, GssError> {
    let kerberos_side = |n: &IName| !matches!(n, IName::Ntlm(_));
    if kerberos_side(a) && kerberos_side(b) {
        if let (Some(ka), Some(kb)) = (a.krb(), b.krb()) {
            let mut equal: c_int = 0;
            // SAFETY: both names are live mechglue names owned by the Arcs; equal is a live local.
            glue_call(|g, m| unsafe { (g.compare_name)(m, ka.raw(), kb.raw(), &mut equal) })?;
            return Ok(equal != 0);
        }
    }
    match (
        a.ntlm().and_then(|n| n.name()),
        b.ntlm().and_then(|n| n.name()),
    ) {
        (Some(na), Some(nb)) => Ok(na.matches(&nb)),
        _ => Ok(false),
    }
}

/// `gssi_compare_name` (RFC 2744 §5.6).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_compare_name(
    minor_status: *mut OM_uint32,
    name1: gss_name_t,
    name2: gss_name_t,
    name_equal: *mut c_int,
) -> OM_uint32 {
    // SAFETY: the handles are checked by the registry; name_equal is NULL or writable.
    guard(minor_status, || unsafe {
        put(name_equal, 0);
        if name_equal.is_null() {
            return Err(null_write());
        }
        let equal = same_name(iname_ref(name1)?, iname_ref(name2)?)?;
        name_equal.write(c_int::from(equal));
        Ok(GSS_S_COMPLETE)
    })
}

/// `gssi_inquire_names_for_mech` (RFC 2744 §5.29): the name types MIT's SPNEGO lists (user, machine UID,
/// string UID, host-based service).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_inquire_names_for_mech(
    minor_status: *mut OM_uint32,
    _mechanism: gss_OID,
    name_types: *mut gss_OID_set,
) -> OM_uint32 {
    // SAFETY: name_types is NULL or writable.
    guard(minor_status, || unsafe {
        if name_types.is_null() {
            return Err(null_write());
        }
        put_oid_set(
            name_types,
            &[
                oids::NT_USER_NAME,
                oids::NT_MACHINE_UID_NAME,
                oids::NT_STRING_UID_NAME,
                oids::NT_HOSTBASED_SERVICE,
            ],
        )?;
        Ok(GSS_S_COMPLETE)
    })
}
