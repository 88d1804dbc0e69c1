//! The SPNEGO interposer: `gss_mech_interposer` and the `gssi_*` entry points MIT's mechglue resolves when a
//! configuration line `name oid path <interposer>` names this library (krb5 `g_initialize.c`,
//! `build_interMech`; ARCHITECTURE.md §7). `gss_mech_interposer` returns the SPNEGO OID, and from then on every
//! SPNEGO call of the process comes here with this module's own objects: names ([`names`]), credentials
//! ([`creds`]), contexts ([`context`]) and the per-message calls ([`messages`]). The negotiation itself is
//! [`crate::spnego::session::Session`]; Kerberos is reached through the mechglue with the krb5 OID
//! ([`super::mechglue`]), NTLM runs in-process.
//!
//! The interposer's own OID comes from the configuration line (the mechglue passes it to
//! `gss_mech_interposer`): the shipped `mech.d/gss-negotiate-spnego.conf` uses `2.25.` and one 63-bit random
//! arc (every arc fits MIT's 64-bit parser), and an operator may change it there without rebuilding. It never
//! goes on the wire; exported contexts are stamped with the public SPNEGO OID (see [`context`]).
//!
//! NegoEx (MS-NEGOEX): our engine does not carry NegoEx itself. When the process has a mechanism that negotiates
//! through NegoEx, the negotiation is handed to MIT's own SPNEGO through the concatenated OID and the interposer
//! context keeps MIT's context ([`negoex`]): the initiator when its credential may offer such a mechanism, the
//! acceptor when the client's `NegTokenInit` lists the NegoEx OID. Without a NegoEx mechanism nothing changes.

pub mod context;
pub mod cred_ext;
pub mod creds;
pub mod established;
pub mod export;
pub mod ext;
pub mod inquire;
pub mod iov;
pub(crate) mod mechs;
pub mod messages;
pub mod names;
pub mod negoex;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use super::types::*;
use super::util::*;
use crate::spnego::mech::MechError;
use crate::status::*;
use core::ffi::c_int;

/// DER content of the SPNEGO OID 1.3.6.1.5.5.2.
pub(crate) const SPNEGO: &[u8] = b"\x2b\x06\x01\x05\x05\x02";
/// The public SPNEGO OID, static.
pub(crate) static SPNEGO_OID: StaticOid = StaticOid::new(SPNEGO);
/// The krb5 OID, static (reported as the negotiated mechanism).
pub(crate) static KRB5_MECH_OID: StaticOid = StaticOid::new(&super::mechglue::KRB5_OID);
/// GSS_C_MA_MECH_NEGO (RFC 5587, 1.3.6.1.5.5.13.4): without it MIT's SPNEGO would negotiate us.
const MA_MECH_NEGO: [u8; 7] = crate::oids::mech_attr(4);
/// GSS_C_MA_ITOK_FRAMED (1.3.6.1.5.5.13.9), as MIT's SPNEGO asserts.
const MA_ITOK_FRAMED: [u8; 7] = crate::oids::mech_attr(9);

/// The OID this interposer was configured with (DER content), as the mechglue gave it.
static OWN_OID: OnceLock<Vec<u8>> = OnceLock::new();

/// The concatenated OID (our OID's bytes then SPNEGO's) that reaches MIT's own SPNEGO through the mechglue.
pub fn concatenated_oid() -> Option<Vec<u8>> {
    OWN_OID.get().map(|own| [own.as_slice(), SPNEGO].concat())
}

/// A mechglue failure as a GSS error (the Kerberos side is unavailable).
pub(crate) fn glue_error(e: MechError) -> GssError {
    GssError::with_detail(GSS_S_FAILURE, Minor::None, e.to_string())
}

/// `gss_mech_interposer` (MIT): the mechanisms this library interposes — SPNEGO. Called under the mechglue's
/// lock, so it calls nothing of the mechglue; the set is built with `malloc` as MIT's OID-set helpers do.
///
/// # Safety
/// `mech_type` is NULL or a valid OID.
#[no_mangle]
pub unsafe extern "C" fn gss_mech_interposer(mech_type: gss_OID) -> gss_OID_set {
    let r = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: mech_type is NULL or valid.
        if let Some(own) = unsafe { oid_bytes(mech_type) } {
            let _ = OWN_OID.set(own.to_vec());
        }
        make_oid_set(&[SPNEGO]).unwrap_or(core::ptr::null_mut())
    }));
    r.unwrap_or(core::ptr::null_mut())
}

/// `gssi_inquire_attrs_for_mech` (RFC 5587): a negotiation mechanism with framed initial tokens, as MIT's
/// SPNEGO says of itself.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_inquire_attrs_for_mech(
    minor_status: *mut OM_uint32,
    _mech: gss_const_OID,
    mech_attrs: *mut gss_OID_set,
    known_mech_attrs: *mut gss_OID_set,
) -> OM_uint32 {
    // SAFETY: the outputs are NULL or writable.
    guard(minor_status, || unsafe {
        put(known_mech_attrs, core::ptr::null_mut());
        put_oid_set(mech_attrs, &[&MA_MECH_NEGO, &MA_ITOK_FRAMED])?;
        Ok(GSS_S_COMPLETE)
    })
}

/// `gssi_display_status`: the text of this library's minor codes (the mechglue shows major codes itself).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_display_status(
    minor_status: *mut OM_uint32,
    status_value: OM_uint32,
    status_type: c_int,
    _mech_type: gss_OID,
    message_context: *mut OM_uint32,
    status_string: gss_buffer_t,
) -> OM_uint32 {
    // SAFETY: the outputs are NULL or writable.
    guard(minor_status, || unsafe {
        clear_buffer(status_string);
        let ctx = if message_context.is_null() {
            0
        } else {
            message_context.read()
        };
        let (text, next) = match status_type {
            1 => {
                let msgs = major_messages(status_value);
                let i = ctx as usize;
                let m = msgs
                    .get(i)
                    .cloned()
                    .ok_or(GssError::new(GSS_S_BAD_STATUS, Minor::None))?;
                (m, if i + 1 < msgs.len() { ctx + 1 } else { 0 })
            }
            2 if ctx == 0 => (format!("SPNEGO: {}", minor_message(status_value)), 0),
            _ => return Err(GssError::new(GSS_S_BAD_STATUS, Minor::None)),
        };
        write_buffer(status_string, text.as_bytes())?;
        put(message_context, next);
        Ok(GSS_S_COMPLETE)
    })
}

/// `gssi_internal_release_oid` (MIT): the OIDs we hand out are static (ours: the SPNEGO, krb5 and NTLM
/// mechanism OIDs and the name types); the mechglue must not free them.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_internal_release_oid(
    minor_status: *mut OM_uint32,
    oid: *mut gss_OID,
) -> OM_uint32 {
    guard(minor_status, || {
        if oid.is_null() {
            return Err(null_read());
        }
        // SAFETY: oid is non-NULL and valid.
        let o = unsafe { &mut *oid };
        if is_static_oid(*o)
            || *o == SPNEGO_OID.as_oid()
            || *o == KRB5_MECH_OID.as_oid()
            || negoex::is_interned(*o)
        {
            *o = core::ptr::null_mut();
            return Ok(GSS_S_COMPLETE);
        }
        Ok(GSS_S_CONTINUE_NEEDED)
    })
}

#[cfg(test)]
mod tests;
