//! Mechanism-level exports: status display (RFC 2744 §5.11), mechanism and name-type listings (§5.24, §5.29),
//! RFC 5587 attributes, RFC 5801 SASL names, and the extension doors that have no context.

use super::types::*;
use super::util::*;
use crate::oids;
use crate::status::*;
use core::ffi::c_int;

fn check_mech(mech: Option<&[u8]>) -> Result<(), GssError> {
    match mech {
        None => Ok(()),
        Some(m) if m == oids::NTLMSSP => Ok(()),
        Some(_) => Err(GssError::new(GSS_S_BAD_MECH, Minor::WrongMech)),
    }
}

fn display_status(
    value: u32,
    status_type: c_int,
    mech: Option<&[u8]>,
    context: &mut OM_uint32,
) -> Result<(String, OM_uint32), GssError> {
    match status_type {
        GSS_C_GSS_CODE => {
            let msgs = major_messages(value);
            let idx = *context as usize;
            let msg = msgs
                .get(idx)
                .cloned()
                .ok_or(GssError::new(GSS_S_BAD_STATUS, Minor::None))?;
            let next = if idx + 1 < msgs.len() {
                (idx + 1) as OM_uint32
            } else {
                0
            };
            Ok((msg, next))
        }
        GSS_C_MECH_CODE => {
            check_mech(mech)?;
            if *context != 0 {
                return Err(GssError::new(GSS_S_BAD_STATUS, Minor::None));
            }
            Ok((minor_message(value), 0))
        }
        _ => Err(GssError::new(GSS_S_BAD_STATUS, Minor::None)),
    }
}

/// `gss_display_status` (RFC 2744 §5.11): iterates with `message_context` over the major code's parts; a minor
/// code gives its text plus the detail of the last error of this thread.
///
/// # Safety
/// Pointers are NULL or valid as in RFC 2744.
#[no_mangle]
pub unsafe extern "C" fn gss_display_status(
    minor_status: *mut OM_uint32,
    status_value: OM_uint32,
    status_type: c_int,
    mech_type: gss_OID,
    message_context: *mut OM_uint32,
    status_string: gss_buffer_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: status_string is NULL or writable.
        unsafe { clear_buffer(status_string) };
        if message_context.is_null() || status_string.is_null() {
            return Err(null_write());
        }
        // SAFETY: mech_type is NULL or a valid OID; message_context is non-NULL and valid.
        let (mech, ctx) = unsafe { (oid_bytes(mech_type), &mut *message_context) };
        let (text, next) = display_status(status_value, status_type, mech, ctx)?;
        // SAFETY: status_string is non-NULL and writable.
        unsafe { write_buffer(status_string, text.as_bytes())? };
        *ctx = next;
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_indicate_mechs` (RFC 2744 §5.24): the set {NTLMSSP}.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_indicate_mechs(
    minor_status: *mut OM_uint32,
    mech_set: *mut gss_OID_set,
) -> OM_uint32 {
    guard(minor_status, || {
        if mech_set.is_null() {
            return Err(null_write());
        }
        // SAFETY: mech_set is non-NULL and writable.
        unsafe { put_oid_set(mech_set, &[oids::NTLMSSP])? };
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_inquire_names_for_mech` (RFC 2744 §5.29).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_inquire_names_for_mech(
    minor_status: *mut OM_uint32,
    mechanism: gss_OID,
    name_types: *mut gss_OID_set,
) -> OM_uint32 {
    guard(minor_status, || {
        if name_types.is_null() {
            return Err(null_write());
        }
        // SAFETY: mechanism is NULL or a valid OID.
        check_mech(unsafe { oid_bytes(mechanism) })?;
        // SAFETY: name_types is non-NULL and writable.
        unsafe { put_oid_set(name_types, &oids::NAME_TYPES)? };
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_inquire_attrs_for_mech` (RFC 5587 §3.4.3). `known_mech_attrs` is left as `GSS_C_NO_OID_SET`: the
/// mechglue then substitutes its full list of known attributes.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_inquire_attrs_for_mech(
    minor_status: *mut OM_uint32,
    mech: gss_const_OID,
    mech_attrs: *mut gss_OID_set,
    known_mech_attrs: *mut gss_OID_set,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: the outputs are NULL or writable.
        unsafe {
            put(mech_attrs, core::ptr::null_mut());
            put(known_mech_attrs, core::ptr::null_mut());
        }
        // SAFETY: mech is NULL or a valid OID.
        check_mech(unsafe { oid_bytes(mech) })?;
        let attrs: Vec<&[u8]> = oids::MECH_ATTRS.iter().map(|a| a.as_slice()).collect();
        // SAFETY: mech_attrs is NULL or writable.
        unsafe { put_oid_set(mech_attrs, &attrs)? };
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_inquire_saslname_for_mech` (RFC 5801 §10): "GS2-NTLM", "NTLM", a description.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_inquire_saslname_for_mech(
    minor_status: *mut OM_uint32,
    desired_mech: gss_OID,
    sasl_mech_name: gss_buffer_t,
    mech_name: gss_buffer_t,
    mech_description: gss_buffer_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: desired_mech is NULL or a valid OID; the buffers are NULL or writable.
        unsafe {
            check_mech(oid_bytes(desired_mech))?;
            for (out, text) in [
                (sasl_mech_name, oids::SASL_NAME),
                (mech_name, oids::MECH_NAME),
                (mech_description, oids::MECH_DESCRIPTION),
            ] {
                if !out.is_null() {
                    write_buffer(out, text.as_bytes())?;
                }
            }
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_inquire_mech_for_saslname` (RFC 5801 §10): "GS2-NTLM" → the NTLMSSP OID (static, not to be freed).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_inquire_mech_for_saslname(
    minor_status: *mut OM_uint32,
    sasl_mech_name: gss_buffer_t,
    mech_type: *mut gss_OID,
) -> OM_uint32 {
    guard(minor_status, || {
        if sasl_mech_name.is_null() {
            return Err(null_read());
        }
        // SAFETY: sasl_mech_name is non-NULL and valid.
        if unsafe { buffer_bytes(sasl_mech_name) } != oids::SASL_NAME.as_bytes() {
            return Err(GssError::new(GSS_S_BAD_MECH, Minor::WrongMech));
        }
        // SAFETY: mech_type is NULL or writable.
        unsafe { put(mech_type, NTLMSSP_OID.as_oid()) };
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_internal_release_oid` (MIT mechglue hook): claims our static OIDs so `gss_release_oid` never `free`s
/// them; any other OID is not ours (`GSS_S_CONTINUE_NEEDED` tells the mechglue to try elsewhere).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_internal_release_oid(
    minor_status: *mut OM_uint32,
    oid: *mut gss_OID,
) -> OM_uint32 {
    guard(minor_status, || {
        if oid.is_null() {
            return Err(null_read());
        }
        // SAFETY: oid is non-NULL and valid.
        let o = unsafe { &mut *oid };
        if is_static_oid(*o) {
            *o = core::ptr::null_mut();
            return Ok(GSS_S_COMPLETE);
        }
        Ok(GSS_S_CONTINUE_NEEDED)
    })
}

/// `gssspi_mech_invoke` (MIT extension): no mechanism-level operation is offered yet, so every OID is
/// `GSS_S_UNAVAILABLE` (the debug OID `.4` of gss-ntlmssp included; use `GSS_NEGOTIATE_DEBUG`).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssspi_mech_invoke(
    minor_status: *mut OM_uint32,
    desired_mech: gss_OID,
    desired_object: gss_OID,
    _value: gss_buffer_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: the OIDs are NULL or valid.
        let (mech, obj) = unsafe { (oid_bytes(desired_mech), oid_bytes(desired_object)) };
        check_mech(mech)?;
        let obj = obj.ok_or_else(null_read)?;
        Err(GssError::with_detail(
            GSS_S_UNAVAILABLE,
            Minor::UnknownOption,
            oids::to_dotted(obj).unwrap_or_else(|| "malformed OID".into()),
        ))
    })
}
