//! Credential exports (RFC 2744 §5.2, 5.27, 5.21, 5.22; MIT `gss_acquire_cred_from`, `gss_export_cred`,
//! `gssspi_*` SPIs). A credential handle holds an `RwLock<Credential>` so `gssspi_set_cred_option` can change
//! it while contexts only read.

use super::handles::{borrow, into_raw, release, snapshot, Handled, Kind};
use super::name::{name_handle, name_ref};
use super::sys::{config, LibcSystem};
use super::types::*;
use super::util::*;
use crate::creds::{self, CredStore, CredUsage, Credential};
use crate::ntlm::secret::Password;
use crate::oids;
use crate::status::*;
use std::sync::RwLock;

/// What a credential handle points to.
pub(crate) struct CredCell(pub(crate) RwLock<Credential>);

impl Handled for CredCell {
    const KIND: Kind = Kind::Cred;
}

fn bad_handle() -> GssError {
    GssError::new(GSS_S_NO_CRED, Minor::InvalidHandle)
}

/// A copy of the credential behind a handle (`None` for `GSS_C_NO_CREDENTIAL`).
///
/// # Safety
/// As [`borrow`].
pub(crate) unsafe fn cred_snapshot(c: gss_cred_id_t) -> Result<Option<Credential>, GssError> {
    // SAFETY: forwarded contract.
    unsafe { snapshot(c, bad_handle(), |cell: &CredCell| &cell.0) }
}

fn cred_handle(c: Credential) -> gss_cred_id_t {
    into_raw::<CredCell, gss_cred_id_struct>(CredCell(RwLock::new(c)))
}

fn usage_of(v: gss_cred_usage_t) -> Result<CredUsage, GssError> {
    CredUsage::from_c(v).ok_or(GssError::with_detail(
        GSS_S_FAILURE,
        Minor::BadCredUsage,
        format!("usage {v}"),
    ))
}

/// Common tail of the acquire calls: store the handle, the actual mechs and the lifetime.
unsafe fn finish_acquire(
    cred: Credential,
    out: *mut gss_cred_id_t,
    actual_mechs: *mut gss_OID_set,
    time_rec: *mut OM_uint32,
) -> Result<u32, GssError> {
    // SAFETY: the outputs are NULL or writable (out was checked non-NULL by the caller).
    unsafe {
        put_oid_set(actual_mechs, &[oids::NTLMSSP])?;
        put(time_rec, GSS_C_INDEFINITE);
        out.write(cred_handle(cred));
    }
    Ok(GSS_S_COMPLETE)
}

#[allow(clippy::too_many_arguments)]
unsafe fn acquire_from(
    desired_name: gss_name_t,
    desired_mechs: gss_OID_set,
    cred_usage: gss_cred_usage_t,
    cred_store: gss_const_key_value_set_t,
    out: *mut gss_cred_id_t,
    actual_mechs: *mut gss_OID_set,
    time_rec: *mut OM_uint32,
) -> Result<u32, GssError> {
    if out.is_null() {
        return Err(null_write());
    }
    // SAFETY: all pointers are NULL or valid per RFC 2744 / MIT; handles are checked by the registry.
    unsafe {
        out.write(core::ptr::null_mut());
        put(actual_mechs, core::ptr::null_mut());
        if !set_is_null_or_contains(desired_mechs, oids::NTLMSSP) {
            return Err(GssError::new(GSS_S_BAD_MECH, Minor::WrongMech));
        }
        let name = if desired_name.is_null() {
            None
        } else {
            Some(name_ref(desired_name)?.clone())
        };
        let store = read_store(cred_store)?;
        let cfg = config();
        let cred = creds::acquire(
            name.as_ref(),
            usage_of(cred_usage)?,
            store.as_ref(),
            &cfg,
            &LibcSystem,
        )?;
        finish_acquire(cred, out, actual_mechs, time_rec)
    }
}

pub(crate) unsafe fn read_store(
    cs: gss_const_key_value_set_t,
) -> Result<Option<CredStore>, GssError> {
    if cs.is_null() {
        return Ok(None);
    }
    // SAFETY: cs is non-NULL and valid: `count` elements of NUL-terminated key/value strings.
    // Values may be passwords: each copy is wiped when freed.
    let pairs: Vec<(String, zeroize::Zeroizing<String>)> = unsafe {
        let set = &*cs;
        if set.elements.is_null() {
            Vec::new()
        } else {
            core::slice::from_raw_parts(set.elements, set.count as usize)
                .iter()
                .filter_map(|e| Some((c_str(e.key)?, zeroize::Zeroizing::new(c_str(e.value)?))))
                .collect()
        }
    };
    CredStore::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map(Some)
}

/// `gss_acquire_cred` (RFC 2744 §5.2). Lifetime is `GSS_C_INDEFINITE`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_acquire_cred(
    minor_status: *mut OM_uint32,
    desired_name: gss_name_t,
    _time_req: OM_uint32,
    desired_mechs: gss_OID_set,
    cred_usage: gss_cred_usage_t,
    output_cred_handle: *mut gss_cred_id_t,
    actual_mechs: *mut gss_OID_set,
    time_rec: *mut OM_uint32,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: forwarded contract.
        unsafe {
            acquire_from(
                desired_name,
                desired_mechs,
                cred_usage,
                core::ptr::null(),
                output_cred_handle,
                actual_mechs,
                time_rec,
            )
        }
    })
}

/// `gss_acquire_cred_from` (MIT credential store extension); see [`crate::creds`] for the keys.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_acquire_cred_from(
    minor_status: *mut OM_uint32,
    desired_name: gss_name_t,
    _time_req: OM_uint32,
    desired_mechs: gss_OID_set,
    cred_usage: gss_cred_usage_t,
    cred_store: gss_const_key_value_set_t,
    output_cred_handle: *mut gss_cred_id_t,
    actual_mechs: *mut gss_OID_set,
    time_rec: *mut OM_uint32,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: forwarded contract.
        unsafe {
            acquire_from(
                desired_name,
                desired_mechs,
                cred_usage,
                cred_store,
                output_cred_handle,
                actual_mechs,
                time_rec,
            )
        }
    })
}

/// `gssspi_acquire_cred_with_password` (MIT SPI behind `gss_acquire_cred_with_password`).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssspi_acquire_cred_with_password(
    minor_status: *mut OM_uint32,
    desired_name: gss_name_t,
    password: gss_buffer_t,
    _time_req: OM_uint32,
    desired_mechs: gss_OID_set,
    cred_usage: gss_cred_usage_t,
    output_cred_handle: *mut gss_cred_id_t,
    actual_mechs: *mut gss_OID_set,
    time_rec: *mut OM_uint32,
) -> OM_uint32 {
    guard(minor_status, || {
        if output_cred_handle.is_null() {
            return Err(null_write());
        }
        // SAFETY: pointers are NULL or valid; handles are checked.
        unsafe {
            output_cred_handle.write(core::ptr::null_mut());
            if desired_name.is_null() || password.is_null() {
                return Err(null_read());
            }
            if !set_is_null_or_contains(desired_mechs, oids::NTLMSSP) {
                return Err(GssError::new(GSS_S_BAD_MECH, Minor::WrongMech));
            }
            let name = name_ref(desired_name)?;
            let bytes = buffer_bytes(password);
            let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
            let text = core::str::from_utf8(bytes).map_err(|_| {
                GssError::with_detail(
                    GSS_S_FAILURE,
                    Minor::BadOptionValue,
                    "password is not UTF-8",
                )
            })?;
            let cred =
                creds::acquire_with_password(name, &Password::new(text), usage_of(cred_usage)?)?;
            finish_acquire(cred, output_cred_handle, actual_mechs, time_rec)
        }
    })
}

/// `gss_release_cred`: `GSS_C_NO_CREDENTIAL` is a no-op; a handle that is not ours is `GSS_S_NO_CRED`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_release_cred(
    minor_status: *mut OM_uint32,
    cred_handle: *mut gss_cred_id_t,
) -> OM_uint32 {
    guard(minor_status, || {
        if cred_handle.is_null() {
            return Ok(GSS_S_COMPLETE);
        }
        // SAFETY: cred_handle is non-NULL and valid; the handle is checked by the registry.
        unsafe { release::<CredCell, _>(cred_handle, bad_handle())? };
        Ok(GSS_S_COMPLETE)
    })
}

/// The credential behind a handle, or the default initiator credential for `GSS_C_NO_CREDENTIAL`.
unsafe fn cred_or_default(c: gss_cred_id_t) -> Result<Credential, GssError> {
    // SAFETY: forwarded contract.
    match unsafe { cred_snapshot(c)? } {
        Some(c) => Ok(c),
        None => creds::acquire(None, CredUsage::Initiate, None, &config(), &LibcSystem),
    }
}

unsafe fn put_cred_name(out: *mut gss_name_t, cred: &Credential) {
    if !out.is_null() {
        let h = cred.name().map_or(core::ptr::null_mut(), name_handle);
        // SAFETY: out is non-NULL and writable per the caller's contract.
        unsafe { out.write(h) };
    }
}

/// `gss_inquire_cred` (RFC 2744 §5.21).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_inquire_cred(
    minor_status: *mut OM_uint32,
    cred_handle: gss_cred_id_t,
    name: *mut gss_name_t,
    lifetime: *mut OM_uint32,
    cred_usage: *mut gss_cred_usage_t,
    mechanisms: *mut gss_OID_set,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: outputs are NULL or writable; the handle is checked.
        unsafe {
            put(name, core::ptr::null_mut());
            put(mechanisms, core::ptr::null_mut());
            let cred = cred_or_default(cred_handle)?;
            put_oid_set(mechanisms, &[oids::NTLMSSP])?;
            put(lifetime, GSS_C_INDEFINITE);
            put(cred_usage, cred.usage().to_c());
            put_cred_name(name, &cred);
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_inquire_cred_by_mech` (RFC 2744 §5.22).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_inquire_cred_by_mech(
    minor_status: *mut OM_uint32,
    cred_handle: gss_cred_id_t,
    mech_type: gss_OID,
    name: *mut gss_name_t,
    initiator_lifetime: *mut OM_uint32,
    acceptor_lifetime: *mut OM_uint32,
    cred_usage: *mut gss_cred_usage_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: outputs are NULL or writable; mech_type NULL or valid; the handle is checked.
        unsafe {
            put(name, core::ptr::null_mut());
            if oid_bytes(mech_type).is_some_and(|m| m != oids::NTLMSSP) {
                return Err(GssError::new(GSS_S_BAD_MECH, Minor::WrongMech));
            }
            let cred = cred_or_default(cred_handle)?;
            let usage = cred.usage();
            let life = |on: bool| if on { GSS_C_INDEFINITE } else { 0 };
            put(initiator_lifetime, life(usage != CredUsage::Accept));
            put(acceptor_lifetime, life(usage != CredUsage::Initiate));
            put(cred_usage, usage.to_c());
            put_cred_name(name, &cred);
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_export_cred` (MIT): the token carries the NT/LM hashes (as gss-ntlmssp's does) — protect it like the
/// password. The mechglue adds the mech OID around it.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_export_cred(
    minor_status: *mut OM_uint32,
    cred_handle: gss_cred_id_t,
    token: gss_buffer_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: token is NULL or writable; the handle is checked.
        unsafe {
            clear_buffer(token);
            if token.is_null() {
                return Err(null_write());
            }
            let cred = cred_snapshot(cred_handle)?
                .ok_or(GssError::new(GSS_S_NO_CRED, Minor::NullArgument))?;
            write_buffer(token, &cred.export())?;
        }
        Ok(GSS_S_COMPLETE)
    })
}

unsafe fn import_cred(
    mech: Option<&[u8]>,
    token: gss_buffer_t,
    out: *mut gss_cred_id_t,
) -> Result<u32, GssError> {
    if out.is_null() {
        return Err(null_write());
    }
    if mech.is_some_and(|m| m != oids::NTLMSSP) {
        return Err(GssError::new(GSS_S_BAD_MECH, Minor::WrongMech));
    }
    // SAFETY: out is non-NULL and writable; token is NULL (checked) or valid.
    unsafe {
        out.write(core::ptr::null_mut());
        if token.is_null() {
            return Err(null_read());
        }
        let cred = Credential::import(buffer_bytes(token))?;
        out.write(cred_handle(cred));
    }
    Ok(GSS_S_COMPLETE)
}

/// `gss_import_cred` (MIT).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_import_cred(
    minor_status: *mut OM_uint32,
    token: gss_buffer_t,
    cred_handle: *mut gss_cred_id_t,
) -> OM_uint32 {
    // SAFETY: forwarded contract.
    guard(minor_status, || unsafe {
        import_cred(None, token, cred_handle)
    })
}

/// `gssspi_import_cred_by_mech` (MIT SPI).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssspi_import_cred_by_mech(
    minor_status: *mut OM_uint32,
    mech_type: gss_OID,
    token: gss_buffer_t,
    cred_handle: *mut gss_cred_id_t,
) -> OM_uint32 {
    // SAFETY: forwarded contract; mech_type is NULL or valid.
    guard(minor_status, || unsafe {
        import_cred(oid_bytes(mech_type), token, cred_handle)
    })
}

/// `gssspi_set_cred_option` (MIT SPI; exported so the mechglue never binds its own wrapper, gss-ntlmssp #75).
/// Supports the private OID `1.3.6.1.4.1.7165.655.1.5` (default NEGOTIATE flags, 4 bytes host order, empty =
/// defaults); any other OID is `GSS_S_UNAVAILABLE`. `GSS_C_NO_CREDENTIAL` is `GSS_S_NO_CRED`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssspi_set_cred_option(
    minor_status: *mut OM_uint32,
    cred_handle: *mut gss_cred_id_t,
    desired_object: gss_OID,
    value: gss_buffer_t,
) -> OM_uint32 {
    guard(minor_status, || {
        if cred_handle.is_null() {
            return Err(null_write());
        }
        // SAFETY: pointers are NULL or valid; the handle is checked by the registry.
        unsafe {
            let obj = oid_bytes(desired_object).ok_or_else(null_read)?;
            if obj != oids::NEG_FLAGS {
                let what = oids::to_dotted(obj).unwrap_or_else(|| "malformed OID".into());
                return Err(GssError::with_detail(
                    GSS_S_UNAVAILABLE,
                    Minor::UnknownOption,
                    what,
                ));
            }
            let cell = borrow::<CredCell, _>(*cred_handle, bad_handle())?;
            let mut cred = match cell.0.write() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            creds::set_neg_flags(&mut cred, buffer_bytes(value))?;
        }
        Ok(GSS_S_COMPLETE)
    })
}
