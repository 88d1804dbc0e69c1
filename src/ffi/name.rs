//! Name exports (RFC 2744 §5.16, 5.10, 5.3, 5.13, 5.20; RFC 6680 §7; MIT `gss_localname`).

use super::handles::{borrow, into_raw, release, Handled, Kind};
use super::sys::{local_account, LibcSystem};
use super::types::*;
use super::util::*;
use crate::name_attrs::NameAttrs;
use crate::names::{self, Name, NameType};
use crate::oids;
use crate::status::*;
use core::ffi::c_int;

/// What a name handle holds: the name and, for an authenticated peer, its attributes (RFC 6680).
#[derive(Clone)]
pub(crate) struct NameObj {
    name: Name,
    attrs: NameAttrs,
}

impl Handled for NameObj {
    const KIND: Kind = Kind::Name;
}

fn bad_handle() -> GssError {
    GssError::new(GSS_S_BAD_NAME, Minor::InvalidHandle)
}

/// Borrows a name handle.
///
/// # Safety
/// As [`borrow`].
pub(crate) unsafe fn name_ref<'a>(n: gss_const_name_t) -> Result<&'a Name, GssError> {
    // SAFETY: forwarded contract.
    unsafe { name_obj(n) }.map(|o| &o.name)
}

/// Borrows a name handle with its attributes.
///
/// # Safety
/// As [`borrow`].
unsafe fn name_obj<'a>(n: gss_const_name_t) -> Result<&'a NameObj, GssError> {
    // SAFETY: forwarded contract.
    unsafe { borrow::<NameObj, _>(n, bad_handle()) }
}

/// Hands a name out as a new handle.
pub(crate) fn name_handle(n: Name) -> gss_name_t {
    name_handle_with(n, NameAttrs::default())
}

/// Hands a name with its attributes out as a new handle.
pub(crate) fn name_handle_with(name: Name, attrs: NameAttrs) -> gss_name_t {
    into_raw::<NameObj, gss_name_struct>(NameObj { name, attrs })
}

unsafe fn import(
    mech: Option<&[u8]>,
    buf: gss_buffer_t,
    name_type: gss_OID,
    out: *mut gss_name_t,
) -> Result<u32, GssError> {
    if out.is_null() {
        return Err(null_write());
    }
    // SAFETY: out is non-NULL and writable.
    unsafe { out.write(core::ptr::null_mut()) };
    if buf.is_null() {
        return Err(null_read());
    }
    if mech.is_some_and(|m| m != oids::NTLMSSP) {
        return Err(GssError::new(GSS_S_BAD_MECH, Minor::WrongMech));
    }
    // SAFETY: name_type is NULL or a valid OID; buf is non-NULL and valid.
    let (ty, bytes) = unsafe { (oid_bytes(name_type), buffer_bytes(buf)) };
    let ty = NameType::from_oid(ty).ok_or(GssError::new(
        GSS_S_BAD_NAMETYPE,
        Minor::UnsupportedNameType,
    ))?;
    let name = names::import(bytes, ty, &LibcSystem)?;
    // SAFETY: out is non-NULL and writable.
    unsafe { out.write(name_handle(name)) };
    Ok(GSS_S_COMPLETE)
}

/// `gss_import_name`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_import_name(
    minor_status: *mut OM_uint32,
    input_name_buffer: gss_buffer_t,
    input_name_type: gss_OID,
    output_name: *mut gss_name_t,
) -> OM_uint32 {
    // SAFETY: forwarded contract.
    guard(minor_status, || unsafe {
        import(None, input_name_buffer, input_name_type, output_name)
    })
}

/// `gssspi_import_name_by_mech` (MIT SPI; the mechglue passes the mech OID).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssspi_import_name_by_mech(
    minor_status: *mut OM_uint32,
    mech_type: gss_OID,
    input_name_buffer: gss_buffer_t,
    input_name_type: gss_OID,
    output_name: *mut gss_name_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: mech_type is NULL or valid; the rest is forwarded.
        unsafe {
            import(
                oid_bytes(mech_type),
                input_name_buffer,
                input_name_type,
                output_name,
            )
        }
    })
}

/// `gss_display_name`: `DOMAIN\user` (no trailing NUL); the name type OID is static.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_display_name(
    minor_status: *mut OM_uint32,
    input_name: gss_name_t,
    output_name_buffer: gss_buffer_t,
    output_name_type: *mut gss_OID,
) -> OM_uint32 {
    // SAFETY: forwarded contract.
    unsafe {
        display_name_impl(
            minor_status,
            input_name,
            output_name_buffer,
            output_name_type,
        )
    }
}

/// The body of [`gss_display_name`], for callers inside this library: a call to the exported name could bind to
/// the mechglue's function of the same name (ARCHITECTURE.md §7).
///
/// # Safety
/// As [`gss_display_name`].
pub(crate) unsafe fn display_name_impl(
    minor_status: *mut OM_uint32,
    input_name: gss_name_t,
    output_name_buffer: gss_buffer_t,
    output_name_type: *mut gss_OID,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: outputs are NULL or writable; input_name is checked by the registry.
        unsafe {
            clear_buffer(output_name_buffer);
            put(output_name_type, core::ptr::null_mut());
            if output_name_buffer.is_null() {
                return Err(null_write());
            }
            let name = name_ref(input_name)?;
            write_buffer(output_name_buffer, name.display().as_bytes())?;
            put(output_name_type, static_oid(name.name_type_oid()));
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_compare_name`: case-insensitive.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_compare_name(
    minor_status: *mut OM_uint32,
    name1: gss_name_t,
    name2: gss_name_t,
    name_equal: *mut c_int,
) -> OM_uint32 {
    guard(minor_status, || {
        if name_equal.is_null() {
            return Err(null_write());
        }
        // SAFETY: handles are checked by the registry; name_equal is non-NULL and writable.
        unsafe {
            let equal = name_ref(name1)?.matches(name_ref(name2)?);
            name_equal.write(c_int::from(equal));
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_duplicate_name`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_duplicate_name(
    minor_status: *mut OM_uint32,
    input_name: gss_name_t,
    dest_name: *mut gss_name_t,
) -> OM_uint32 {
    guard(minor_status, || {
        if dest_name.is_null() {
            return Err(null_write());
        }
        // SAFETY: the handle is checked; dest_name is non-NULL and writable.
        unsafe {
            dest_name.write(core::ptr::null_mut());
            let copy = name_obj(input_name)?.clone();
            dest_name.write(into_raw::<NameObj, gss_name_struct>(copy));
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_export_name`: the RFC 2743 §3.2 token with the NTLMSSP OID.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_export_name(
    minor_status: *mut OM_uint32,
    input_name: gss_name_t,
    exported_name: gss_buffer_t,
) -> OM_uint32 {
    // SAFETY: forwarded contract.
    unsafe { export_name_impl(minor_status, input_name, exported_name) }
}

/// The body of [`gss_export_name`], for callers inside this library: a call to the exported name could bind to
/// the mechglue's function of the same name (ARCHITECTURE.md §7).
///
/// # Safety
/// As [`gss_export_name`].
pub(crate) unsafe fn export_name_impl(
    minor_status: *mut OM_uint32,
    input_name: gss_name_t,
    exported_name: gss_buffer_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: exported_name is NULL or writable; the handle is checked.
        unsafe {
            clear_buffer(exported_name);
            if exported_name.is_null() {
                return Err(null_write());
            }
            let token = name_ref(input_name)?.export()?;
            write_buffer(exported_name, &token)?;
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_release_name`: releasing `GSS_C_NO_NAME` is a no-op; a handle that is not ours is `GSS_S_BAD_NAME`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_release_name(
    minor_status: *mut OM_uint32,
    input_name: *mut gss_name_t,
) -> OM_uint32 {
    // SAFETY: forwarded contract.
    unsafe { release_name_impl(minor_status, input_name) }
}

/// The body of [`gss_release_name`], for callers inside this library: a call to the exported name could bind to
/// the mechglue's function of the same name (ARCHITECTURE.md §7).
///
/// # Safety
/// As [`gss_release_name`].
pub(crate) unsafe fn release_name_impl(
    minor_status: *mut OM_uint32,
    input_name: *mut gss_name_t,
) -> OM_uint32 {
    guard(minor_status, || {
        if input_name.is_null() {
            return Err(null_read());
        }
        // SAFETY: input_name is non-NULL and valid; the handle itself is checked by the registry.
        unsafe { release::<NameObj, _>(input_name, bad_handle())? };
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_inquire_name` (RFC 6680 §7.4): always an MN of NTLMSSP; the attributes a domain controller vouched for
/// (`urn:gssntlmssp:sids`, `urn:gss-negotiate:groups`; see [`crate::name_attrs`]), `GSS_C_NO_BUFFER_SET` when none.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_inquire_name(
    minor_status: *mut OM_uint32,
    name: gss_name_t,
    name_is_mn: *mut c_int,
    mn_mech: *mut gss_OID,
    attrs: *mut gss_buffer_set_t,
) -> OM_uint32 {
    // SAFETY: forwarded contract.
    unsafe { inquire_name_impl(minor_status, name, name_is_mn, mn_mech, attrs) }
}

/// The body of [`gss_inquire_name`], for callers inside this library: a call to the exported name could bind to
/// the mechglue's function of the same name (ARCHITECTURE.md §7).
///
/// # Safety
/// As [`gss_inquire_name`].
pub(crate) unsafe fn inquire_name_impl(
    minor_status: *mut OM_uint32,
    name: gss_name_t,
    name_is_mn: *mut c_int,
    mn_mech: *mut gss_OID,
    attrs: *mut gss_buffer_set_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: outputs are NULL or writable; the handle is checked.
        unsafe {
            put(attrs, core::ptr::null_mut());
            let obj = name_obj(name)?;
            if !attrs.is_null() {
                let names = obj.attrs.names();
                let refs: Vec<&[u8]> = names.iter().map(|n| n.as_bytes()).collect();
                attrs.write(make_buffer_set(&refs)?);
            }
            put(name_is_mn, 1);
            put(mn_mech, NTLMSSP_OID.as_oid());
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_get_name_attribute` (RFC 6680 §7.5): each attribute has one value (`*more` -1 or 0 on input asks for
/// it; `*more` is 0 on output); authenticated, and complete unless winbind could not name every group. An
/// attribute the name does not have → `GSS_S_UNAVAILABLE`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_get_name_attribute(
    minor_status: *mut OM_uint32,
    name: gss_name_t,
    attr: gss_buffer_t,
    authenticated: *mut c_int,
    complete: *mut c_int,
    value: gss_buffer_t,
    display_value: gss_buffer_t,
    more: *mut c_int,
) -> OM_uint32 {
    // SAFETY: forwarded contract.
    unsafe {
        get_name_attribute_impl(
            minor_status,
            name,
            attr,
            authenticated,
            complete,
            value,
            display_value,
            more,
        )
    }
}

/// The body of [`gss_get_name_attribute`], for callers inside this library: a call to the exported name could bind to
/// the mechglue's function of the same name (ARCHITECTURE.md §7).
///
/// # Safety
/// As [`gss_get_name_attribute`].
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn get_name_attribute_impl(
    minor_status: *mut OM_uint32,
    name: gss_name_t,
    attr: gss_buffer_t,
    authenticated: *mut c_int,
    complete: *mut c_int,
    value: gss_buffer_t,
    display_value: gss_buffer_t,
    more: *mut c_int,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: outputs are NULL or writable; attr is NULL or valid; the handle is checked.
        unsafe {
            let index = if more.is_null() { -1 } else { more.read() };
            put(authenticated, 0);
            put(complete, 0);
            put(more, 0);
            clear_buffer(value);
            clear_buffer(display_value);
            let obj = name_obj(name)?;
            if attr.is_null() {
                return Err(null_read());
            }
            let attr_bytes = buffer_bytes(attr);
            let found = obj.attrs.get(attr_bytes).filter(|_| index <= 0);
            let Some(v) = found else {
                return Err(GssError::with_detail(
                    GSS_S_UNAVAILABLE,
                    Minor::NoSuchAttribute,
                    crate::ntlm::error::escape(&String::from_utf8_lossy(attr_bytes)).into_owned(),
                ));
            };
            if !value.is_null() {
                write_buffer(value, &v.value)?;
            }
            if !display_value.is_null() {
                if let Err(e) = write_buffer(display_value, v.display.as_bytes()) {
                    if !value.is_null() {
                        // SAFETY: value was just filled with a malloc'd copy (or NULL), ours to free.
                        libc::free((*value).value);
                        clear_buffer(value);
                    }
                    return Err(e);
                }
            }
            put(authenticated, c_int::from(v.authenticated));
            put(complete, c_int::from(v.complete));
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gss_localname` (MIT): for a name a domain controller vouched for, the account winbind maps its SID to
/// (`wbcCtxGetpwsid`, one winbindd request); otherwise, or when winbind has no mapping, `DOMAIN\user` if such an account exists, else `user` (via `getpwnam_r`) — the bare user
/// only for a name without a domain or in this machine's own NetBIOS domain or computer name
/// ([`Name::localname_candidates`]).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gss_localname(
    minor_status: *mut OM_uint32,
    name: gss_name_t,
    mech_type: gss_const_OID,
    localname: gss_buffer_t,
) -> OM_uint32 {
    // SAFETY: forwarded contract.
    unsafe { localname_impl(minor_status, name, mech_type, localname) }
}

/// The body of [`gss_localname`], for callers inside this library: a call to the exported name could bind to
/// the mechglue's function of the same name (ARCHITECTURE.md §7).
///
/// # Safety
/// As [`gss_localname`].
pub(crate) unsafe fn localname_impl(
    minor_status: *mut OM_uint32,
    name: gss_name_t,
    mech_type: gss_const_OID,
    localname: gss_buffer_t,
) -> OM_uint32 {
    guard(minor_status, || {
        // SAFETY: localname is NULL or writable; mech_type NULL or valid; the handle is checked.
        unsafe {
            clear_buffer(localname);
            if localname.is_null() {
                return Err(null_write());
            }
            if oid_bytes(mech_type).is_some_and(|m| m != oids::NTLMSSP) {
                return Err(GssError::new(GSS_S_BAD_MECH, Minor::WrongMech));
            }
            let obj = name_obj(name)?;
            let n = &obj.name;
            let mut winbind_error = None;
            if obj.attrs.from_directory {
                if let Some(sid) = obj.attrs.sids.first() {
                    match crate::creds::winbind::local_account_of_sid(sid) {
                        Ok(account) => {
                            write_buffer(localname, account.as_bytes())?;
                            return Ok(GSS_S_COMPLETE);
                        }
                        Err(why) => winbind_error = Some(why),
                    }
                }
            }
            let cfg = crate::ffi::sys::config();
            let local = [
                cfg.netbios_domain_name.as_str(),
                cfg.netbios_computer_name.as_str(),
            ];
            let found = n
                .localname_candidates(&local)?
                .iter()
                .find_map(|c| local_account(c));
            let account = found.ok_or_else(|| {
                let detail = match &winbind_error {
                    Some(why) => format!("{} (winbind: {why})", n.display()),
                    None => n.display(),
                };
                GssError::with_detail(GSS_S_UNAVAILABLE, Minor::NoLocalName, detail)
            })?;
            write_buffer(localname, account.as_bytes())?;
        }
        Ok(GSS_S_COMPLETE)
    })
}
