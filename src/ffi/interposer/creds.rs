//! The interposer's credentials (`gssi_acquire_cred`, `_from`, `_with_password`, `gssi_set_neg_mechs`): a
//! credential holds an optional Kerberos credential of the mechglue (acquired with the krb5 OID, so the call
//! never re-enters this interposer) and an optional NTLM credential of this library. One missing mechanism is
//! no error while the other is there.

use std::sync::{Arc, RwLock};

use super::super::cred::read_store;
use super::super::handles::{borrow, into_raw, release, snapshot, Handled, Kind};
use super::super::mechglue::{input, mechglue, GlueCred, KRB5_OID};
use super::super::sys::{config, LibcSystem};
use super::super::types::*;
use super::super::util::*;
use super::names::iname_ref;
use super::SPNEGO;
use crate::creds::{self, CredUsage, Credential};
use crate::ntlm::secret::Password;
use crate::spnego::oid::Oid;
use crate::status::*;

/// What an interposer credential handle holds.
#[derive(Clone, Default)]
pub(crate) struct ICred {
    /// The Kerberos credential, when one could be acquired.
    pub(crate) krb: Option<Arc<GlueCred>>,
    /// The NTLM credential, when one could be acquired (shared with the contexts made from it, not copied).
    pub(crate) ntlm: Option<Arc<Credential>>,
    /// The mechanisms `gssi_set_neg_mechs` allowed (`None`: all).
    pub(crate) neg_mechs: Option<Arc<[Oid]>>,
    /// A credential of MIT's SPNEGO (acquired through the concatenated OID) for a NegoEx hand-off, when the
    /// process has a NegoEx mechanism ([`super::negoex`]).
    pub(crate) negoex: Option<Arc<GlueCred>>,
}

impl ICred {
    /// Whether the credential may offer `mech`.
    pub(crate) fn allows(&self, mech: &Oid) -> bool {
        self.neg_mechs.as_ref().map_or(true, |m| {
            m.iter().any(|x| crate::spnego::mech::same_mech(x, mech))
        })
    }
}

pub(crate) struct ICredCell(pub(crate) RwLock<ICred>);

impl Handled for ICredCell {
    const KIND: Kind = Kind::SpnegoCred;
}

fn bad_handle() -> GssError {
    GssError::new(GSS_S_NO_CRED, Minor::InvalidHandle)
}

/// A copy of the credential behind a handle (`None` for `GSS_C_NO_CREDENTIAL`).
///
/// # Safety
/// As [`borrow`].
pub(crate) unsafe fn icred_snapshot(c: gss_cred_id_t) -> Result<Option<ICred>, GssError> {
    // SAFETY: forwarded contract.
    unsafe { snapshot(c, bad_handle(), |cell: &ICredCell| &cell.0) }
}

/// Hands a credential out as a new handle.
pub(crate) fn icred_handle(c: ICred) -> gss_cred_id_t {
    into_raw::<ICredCell, gss_cred_id_struct>(ICredCell(RwLock::new(c)))
}

/// Acquires a Kerberos credential through the mechglue: with `password`, or from `store`.
///
/// # Safety
/// `name` is NULL or a mechglue name; `store` is NULL or a valid cred store.
pub(crate) unsafe fn acquire_krb(
    name: gss_name_t,
    usage: gss_cred_usage_t,
    store: gss_const_key_value_set_t,
    password: Option<&[u8]>,
) -> Result<GlueCred, String> {
    // SAFETY: forwarded under this function's contract.
    unsafe { acquire_glue(&KRB5_OID, name, usage, store, password) }?
        .ok_or_else(|| "no Kerberos credential".into())
}

/// Acquires a mechglue credential for the one mechanism `mech` (DER contents; Kerberos, or the concatenated OID of
/// MIT's SPNEGO for a NegoEx hand-off): with `password`, or from `store`. `Ok(None)`: the mechglue reported
/// success without a credential.
///
/// # Safety
/// `name` is NULL or a mechglue name; `store` is NULL or a valid cred store.
pub(crate) unsafe fn acquire_glue(
    mech: &[u8],
    name: gss_name_t,
    usage: gss_cred_usage_t,
    store: gss_const_key_value_set_t,
    password: Option<&[u8]>,
) -> Result<Option<GlueCred>, String> {
    let g = mechglue().map_err(|e| e.to_string())?;
    let mut m = gss_OID_desc {
        length: mech.len() as OM_uint32,
        elements: mech.as_ptr() as *mut core::ffi::c_void,
    };
    let mut set = gss_OID_set_desc {
        count: 1,
        elements: &mut m,
    };
    let (mut minor, mut out) = (0, core::ptr::null_mut());
    // SAFETY: every pointer is a live local or the caller's valid argument; out receives a new credential.
    let major = unsafe {
        match password {
            Some(p) => {
                let mut pw = input(p);
                (g.acquire_cred_with_password)(
                    &mut minor,
                    name,
                    &mut pw,
                    0,
                    &mut set,
                    usage,
                    &mut out,
                    core::ptr::null_mut(),
                    core::ptr::null_mut(),
                )
            }
            None => (g.acquire_cred_from)(
                &mut minor,
                name,
                0,
                &mut set,
                usage,
                store,
                &mut out,
                core::ptr::null_mut(),
                core::ptr::null_mut(),
            ),
        }
    };
    let cred = GlueCred::from_raw(out);
    if major != 0 {
        return Err(super::super::mechglue::classify(g, major, minor).to_string());
    }
    Ok(cred)
}

#[allow(clippy::too_many_arguments)]
unsafe fn acquire(
    desired_name: gss_name_t,
    cred_usage: gss_cred_usage_t,
    store: gss_const_key_value_set_t,
    password: gss_buffer_t,
    out: *mut gss_cred_id_t,
    actual_mechs: *mut gss_OID_set,
    time_rec: *mut OM_uint32,
) -> Result<u32, GssError> {
    if out.is_null() {
        return Err(null_write());
    }
    // SAFETY: pointers are NULL or valid per RFC 2744 / MIT; handles are checked.
    unsafe {
        out.write(core::ptr::null_mut());
        put(actual_mechs, core::ptr::null_mut());
        put(time_rec, 0);
        let usage = CredUsage::from_c(cred_usage).ok_or(GssError::with_detail(
            GSS_S_FAILURE,
            Minor::BadCredUsage,
            format!("usage {cred_usage}"),
        ))?;
        let name = if desired_name.is_null() {
            None
        } else {
            Some(iname_ref(desired_name)?)
        };
        let pw = if password.is_null() {
            None
        } else {
            let b = buffer_bytes(password);
            Some(zeroize::Zeroizing::new(
                b.strip_suffix(&[0]).unwrap_or(b).to_vec(),
            ))
        };
        // Kerberos: a name that has no Kerberos form (or a failed acquisition) leaves the half out.
        let krb_name = name.and_then(|n| n.krb());
        let krb = match (name, &krb_name) {
            (Some(_), None) => Err("the name has no Kerberos form".to_string()),
            _ => acquire_krb(
                krb_name
                    .as_deref()
                    .map_or(core::ptr::null_mut(), |n| n.raw()),
                cred_usage,
                store,
                pw.as_deref().map(|p| p.as_slice()),
            ),
        };
        let ntlm_name = name.and_then(|n| n.ntlm()).and_then(|n| n.name());
        let ntlm = match (&pw, &ntlm_name) {
            (Some(p), Some(n)) => core::str::from_utf8(p)
                .map_err(|_| GssError::new(GSS_S_FAILURE, Minor::BadOptionValue))
                .and_then(|t| creds::acquire_with_password(n, &Password::new(t), usage)),
            (Some(_), None) => Err(GssError::new(GSS_S_BAD_NAME, Minor::BadName)),
            (None, _) if name.is_some() && ntlm_name.is_none() => {
                Err(GssError::new(GSS_S_BAD_NAME, Minor::BadName))
            }
            (None, _) => read_store(store).and_then(|s| {
                creds::acquire(
                    ntlm_name.as_ref(),
                    usage,
                    s.as_ref(),
                    &config(),
                    &LibcSystem,
                )
            }),
        };
        // MIT's SPNEGO credential for a NegoEx hand-off: same name, usage, store or password.
        let negoex = match (super::negoex::local().negoex, super::concatenated_oid()) {
            (true, Some(mech)) if name.is_none() || krb_name.is_some() => super::negoex::acquire(
                &mech,
                krb_name
                    .as_deref()
                    .map_or(core::ptr::null_mut(), |n| n.raw()),
                cred_usage,
                Some(store),
                pw.as_deref().map(|p| p.as_slice()),
            )
            .ok()
            .map(Arc::new),
            _ => None,
        };
        let cred = match (krb, ntlm) {
            (Err(k), Err(n)) if negoex.is_none() => {
                return Err(n.clone().detail(format!("{n}; Kerberos: {k}")))
            }
            (k, n) => ICred {
                krb: k.ok().map(Arc::new),
                ntlm: n.ok().map(Arc::new),
                neg_mechs: None,
                negoex,
            },
        };
        put_oid_set(actual_mechs, &[SPNEGO])?;
        put(time_rec, GSS_C_INDEFINITE);
        out.write(icred_handle(cred));
    }
    Ok(GSS_S_COMPLETE)
}

/// `gssi_acquire_cred` (RFC 2744 §5.2).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_acquire_cred(
    minor_status: *mut OM_uint32,
    desired_name: gss_name_t,
    _time_req: OM_uint32,
    _desired_mechs: gss_OID_set,
    cred_usage: gss_cred_usage_t,
    output_cred_handle: *mut gss_cred_id_t,
    actual_mechs: *mut gss_OID_set,
    time_rec: *mut OM_uint32,
) -> OM_uint32 {
    // SAFETY: forwarded contract.
    guard(minor_status, || unsafe {
        acquire(
            desired_name,
            cred_usage,
            core::ptr::null(),
            core::ptr::null_mut(),
            output_cred_handle,
            actual_mechs,
            time_rec,
        )
    })
}

/// `gssi_acquire_cred_from` (MIT): the cred store goes to both mechanisms (each reads its own keys).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_acquire_cred_from(
    minor_status: *mut OM_uint32,
    desired_name: gss_name_t,
    _time_req: OM_uint32,
    _desired_mechs: gss_OID_set,
    cred_usage: gss_cred_usage_t,
    cred_store: gss_const_key_value_set_t,
    output_cred_handle: *mut gss_cred_id_t,
    actual_mechs: *mut gss_OID_set,
    time_rec: *mut OM_uint32,
) -> OM_uint32 {
    // SAFETY: forwarded contract.
    guard(minor_status, || unsafe {
        acquire(
            desired_name,
            cred_usage,
            cred_store,
            core::ptr::null_mut(),
            output_cred_handle,
            actual_mechs,
            time_rec,
        )
    })
}

/// `gssi_acquire_cred_with_password` (MIT): Kerberos asks the KDC with the password; NTLM hashes it.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_acquire_cred_with_password(
    minor_status: *mut OM_uint32,
    desired_name: gss_name_t,
    password: gss_buffer_t,
    _time_req: OM_uint32,
    _desired_mechs: gss_OID_set,
    cred_usage: gss_cred_usage_t,
    output_cred_handle: *mut gss_cred_id_t,
    actual_mechs: *mut gss_OID_set,
    time_rec: *mut OM_uint32,
) -> OM_uint32 {
    guard(minor_status, || {
        if desired_name.is_null() || password.is_null() {
            return Err(null_read());
        }
        // SAFETY: forwarded contract.
        unsafe {
            acquire(
                desired_name,
                cred_usage,
                core::ptr::null(),
                password,
                output_cred_handle,
                actual_mechs,
                time_rec,
            )
        }
    })
}

/// `gssi_release_cred`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_release_cred(
    minor_status: *mut OM_uint32,
    cred_handle: *mut gss_cred_id_t,
) -> OM_uint32 {
    guard(minor_status, || {
        if cred_handle.is_null() {
            return Err(null_read());
        }
        // SAFETY: cred_handle is non-NULL and valid; the handle is checked by the registry.
        unsafe { release::<ICredCell, _>(cred_handle, bad_handle())? };
        Ok(GSS_S_COMPLETE)
    })
}

/// `gssi_set_neg_mechs` (RFC 4178 §6, MIT): the mechanisms this credential offers or accepts.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_set_neg_mechs(
    minor_status: *mut OM_uint32,
    cred_handle: gss_cred_id_t,
    mech_set: gss_OID_set,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: the handle is checked; mech_set is NULL or a valid set.
        unsafe {
            let cell = borrow::<ICredCell, _>(cred_handle, bad_handle())?;
            let mechs = if mech_set.is_null() {
                None
            } else {
                let s = &*mech_set;
                let mut v = Vec::new();
                for i in 0..s.count.min(64) {
                    if let Some(b) = oid_bytes(s.elements.add(i)) {
                        v.push(
                            Oid::from_der_content(b)
                                .map_err(|_| GssError::new(GSS_S_BAD_MECH, Minor::WrongMech))?,
                        );
                    }
                }
                Some(Arc::from(v))
            };
            let mut c = cell.0.write().unwrap_or_else(|p| p.into_inner());
            c.neg_mechs = mechs;
            if let Some(n) = &c.negoex {
                super::negoex::set_neg_mechs(n, mech_set);
            }
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gssi_inquire_cred` (RFC 2744 §5.21): the NTLM half's name and usage when there is one (else the Kerberos
/// half's name and the usage asked of it is unknown: both), an unlimited lifetime, and SPNEGO as the mechanism.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_inquire_cred(
    minor_status: *mut OM_uint32,
    cred_handle: gss_cred_id_t,
    name: *mut gss_name_t,
    lifetime: *mut OM_uint32,
    cred_usage: *mut gss_cred_usage_t,
    mechanisms: *mut gss_OID_set,
) -> OM_uint32 {
    // SAFETY: outputs are NULL or writable; the handle is checked (NO_CREDENTIAL has nothing to inquire).
    guard(minor_status, || unsafe {
        put(name, core::ptr::null_mut());
        put(mechanisms, core::ptr::null_mut());
        let cred = icred_snapshot(cred_handle)?
            .ok_or(GssError::new(GSS_S_NO_CRED, Minor::NoCredentials))?;
        let usage = cred.ntlm.as_ref().map_or(CredUsage::Both, |c| c.usage());
        let n = match (&cred.ntlm, &cred.krb) {
            (Some(c), _) if c.name().is_some() => c.name().map(|n| {
                super::names::IName::Ntlm(Arc::new(super::names::NtlmName::new(
                    n,
                    Default::default(),
                )))
            }),
            _ => None,
        };
        put_oid_set(mechanisms, &[SPNEGO])?;
        put(lifetime, GSS_C_INDEFINITE);
        put(cred_usage, usage.to_c());
        if let (Some(n), false) = (n, name.is_null()) {
            name.write(super::names::iname_handle(n));
        }
        Ok(GSS_S_COMPLETE)
    })
}
