//! The interposer's names (`gssi_import_name_by_mech`, `gssi_display_name`, …; RFC 2744 §5.16, §5.10, RFC 6680).
//!
//! An imported name keeps the caller's text and name type; the NTLM name (a handle of this library's NTLM
//! mechanism) and the Kerberos name (a mechglue name, imported through the resolved `gss_import_name`) are made
//! from it when a credential or context first needs them. A name a context authenticated is one or the other,
//! and every query goes to that mechanism: NTLM to this library's own name functions, Kerberos to the
//! mechglue's.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use super::super::handles::{borrow, into_raw, release, Handled, Kind, Spare};
use super::super::mechglue::{mechglue, GlueName};
use super::super::name as ntlm;
use super::super::types::*;
use super::super::util::*;
use super::{glue_error, SPNEGO_OID};
use crate::name_attrs::NameAttrs;
use crate::names::{Name, NameType};
use crate::status::*;
use core::ffi::c_int;

/// A name handle of the NTLM mechanism, owned (released on drop).
pub(crate) struct NtlmName(gss_name_t);

// SAFETY: an NTLM name handle is an immutable value in this library's registry; only read through it.
unsafe impl Send for NtlmName {}
// SAFETY: as above.
unsafe impl Sync for NtlmName {}

impl NtlmName {
    pub(crate) fn new(name: Name, attrs: NameAttrs) -> NtlmName {
        NtlmName(ntlm::name_handle_with(name, attrs))
    }

    /// The NTLM name.
    pub(crate) fn name(&self) -> Option<Name> {
        // SAFETY: self.0 is a live handle owned by this value.
        unsafe { ntlm::name_ref(self.0) }.ok().cloned()
    }
}

impl Drop for NtlmName {
    fn drop(&mut self) {
        let mut minor = 0;
        // SAFETY: self.0 is this value's own handle.
        unsafe { ntlm::release_name_impl(&mut minor, &mut self.0) };
    }
}

/// The longest imported name text kept inside the handle (longer ones get their own allocation).
const INLINE_TEXT: usize = 80;

/// An imported name's text: inline when short (the mechglue imports the target name again on every
/// `gss_init_sec_context` call, so this saves an allocation per call), else on the heap.
pub(crate) type NameText = crate::inline_bytes::InlineBytes<INLINE_TEXT>;

/// What an interposer name handle holds.
pub(crate) enum IName {
    /// Imported by the program: the text, its name type, and the per-mechanism names made from them.
    Imported {
        text: NameText,
        /// The name types RFC 2744 defines are kept as references to our constants (no allocation).
        name_type: Option<Cow<'static, [u8]>>,
        ntlm: OnceLock<Option<Arc<NtlmName>>>,
        krb: OnceLock<Option<Arc<GlueName>>>,
    },
    /// An NTLM name (the peer an NTLM negotiation authenticated, or an NTLM context's own name).
    Ntlm(Arc<NtlmName>),
    /// A Kerberos name of the mechglue.
    Krb(Arc<GlueName>),
}

impl Handled for IName {
    const KIND: Kind = Kind::SpnegoName;

    /// The mechglue imports the target name and releases it on every `gss_init_sec_context` call.
    fn spare() -> Option<&'static Spare<IName>> {
        static SPARE: Spare<IName> = Spare::new();
        Some(&SPARE)
    }
}

fn bad_handle() -> GssError {
    GssError::new(GSS_S_BAD_NAME, Minor::InvalidHandle)
}

impl IName {
    /// The NTLM name, when this name has (or can be turned into) one.
    pub(crate) fn ntlm(&self) -> Option<Arc<NtlmName>> {
        match self {
            IName::Imported {
                text,
                name_type,
                ntlm,
                ..
            } => ntlm
                .get_or_init(|| {
                    let ty = NameType::from_oid(name_type.as_deref())?;
                    let name =
                        crate::names::import(text, ty, &super::super::sys::LibcSystem).ok()?;
                    Some(Arc::new(NtlmName::new(name, NameAttrs::default())))
                })
                .clone(),
            IName::Ntlm(n) => Some(n.clone()),
            IName::Krb(_) => None,
        }
    }

    /// The NTLM name itself, for a context that only reads it: an imported name's text is parsed as
    /// [`IName::ntlm`] parses it, without registering an NTLM name handle (the mechglue imports the target
    /// afresh for each `gss_init_sec_context` call, so a handle made here would be made and released per
    /// handshake); a name made from an NTLM handle is read from it.
    pub(crate) fn ntlm_name(&self) -> Option<Name> {
        match self {
            IName::Imported {
                text,
                name_type,
                ntlm,
                ..
            } => match ntlm.get() {
                Some(made) => made.as_deref().and_then(NtlmName::name),
                None => {
                    let ty = NameType::from_oid(name_type.as_deref())?;
                    crate::names::import(text, ty, &super::super::sys::LibcSystem).ok()
                }
            },
            IName::Ntlm(n) => n.name(),
            IName::Krb(_) => None,
        }
    }

    /// The Kerberos (mechglue) name, when this name has (or can be turned into) one.
    pub(crate) fn krb(&self) -> Option<Arc<GlueName>> {
        match self {
            IName::Imported {
                text,
                name_type,
                krb,
                ..
            } => krb
                .get_or_init(|| {
                    let text = text.strip_suffix(&[0]).unwrap_or(text);
                    GlueName::import(text, name_type.as_deref())
                        .ok()
                        .map(Arc::new)
                })
                .clone(),
            IName::Krb(n) => Some(n.clone()),
            IName::Ntlm(_) => None,
        }
    }

    /// The text for the policy and the audit record (`service@host`, `DOMAIN\user`, a principal).
    pub(crate) fn text(&self) -> Option<String> {
        match self {
            IName::Imported { text, .. } => {
                let t = text.strip_suffix(&[0]).unwrap_or(text);
                Some(String::from_utf8_lossy(t).into_owned())
            }
            IName::Ntlm(n) => n.name().map(|n| n.display()),
            IName::Krb(n) => n
                .display()
                .ok()
                .map(|(t, _)| String::from_utf8_lossy(&t).into_owned()),
        }
    }

    fn duplicate(&self) -> IName {
        match self {
            IName::Imported {
                text, name_type, ..
            } => IName::Imported {
                text: text.clone(),
                name_type: name_type.clone(),
                ntlm: OnceLock::new(),
                krb: OnceLock::new(),
            },
            IName::Ntlm(n) => IName::Ntlm(n.clone()),
            IName::Krb(n) => IName::Krb(n.clone()),
        }
    }
}

/// Hands a name out as a new interposer handle.
pub(crate) fn iname_handle(n: IName) -> gss_name_t {
    into_raw::<IName, gss_name_struct>(n)
}

/// Borrows an interposer name handle.
///
/// # Safety
/// As [`borrow`].
pub(crate) unsafe fn iname_ref<'a>(n: gss_const_name_t) -> Result<&'a IName, GssError> {
    // SAFETY: forwarded contract.
    unsafe { borrow::<IName, _>(n, bad_handle()) }
}

/// `gssi_import_name_by_mech`: the mechglue passes the public SPNEGO OID.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_import_name_by_mech(
    minor_status: *mut OM_uint32,
    _mech_type: gss_OID,
    input_name_buffer: gss_buffer_t,
    input_name_type: gss_OID,
    output_name: *mut gss_name_t,
) -> OM_uint32 {
    // SAFETY: forwarded contract.
    guard(minor_status, || unsafe {
        import(input_name_buffer, input_name_type, output_name)
    })
}

/// `gssi_import_name`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_import_name(
    minor_status: *mut OM_uint32,
    input_name_buffer: gss_buffer_t,
    input_name_type: gss_OID,
    output_name: *mut gss_name_t,
) -> OM_uint32 {
    // SAFETY: forwarded contract.
    guard(minor_status, || unsafe {
        import(input_name_buffer, input_name_type, output_name)
    })
}

unsafe fn import(buf: gss_buffer_t, ty: gss_OID, out: *mut gss_name_t) -> Result<u32, GssError> {
    if out.is_null() {
        return Err(null_write());
    }
    // SAFETY: out is non-NULL and writable; buf and ty are NULL or valid.
    unsafe {
        out.write(core::ptr::null_mut());
        if buf.is_null() {
            return Err(null_read());
        }
        let text = buffer_bytes(buf);
        if text.len() > 4096 {
            return Err(GssError::new(GSS_S_BAD_NAME, Minor::NameTooLong));
        }
        let text = NameText::new(text);
        let name_type = oid_bytes(ty).map(known_name_type);
        out.write(iname_handle(IName::Imported {
            text,
            name_type,
            ntlm: OnceLock::new(),
            krb: OnceLock::new(),
        }));
    }
    Ok(GSS_S_COMPLETE)
}

/// A name type: one of the constants when it is one of them, else a copy.
fn known_name_type(oid: &[u8]) -> Cow<'static, [u8]> {
    use crate::oids::*;
    [
        NT_HOSTBASED_SERVICE,
        NT_USER_NAME,
        NT_HOSTBASED_SERVICE_X,
        NT_MACHINE_UID_NAME,
        NT_STRING_UID_NAME,
        NT_ANONYMOUS,
        NT_EXPORT_NAME,
    ]
    .into_iter()
    .find(|k| *k == oid)
    .map_or_else(|| Cow::Owned(oid.to_vec()), Cow::Borrowed)
}

/// `gssi_release_name`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_release_name(
    minor_status: *mut OM_uint32,
    input_name: *mut gss_name_t,
) -> OM_uint32 {
    guard(minor_status, || {
        if input_name.is_null() {
            return Err(null_read());
        }
        // SAFETY: input_name is non-NULL and valid; the handle is checked by the registry.
        unsafe { release::<IName, _>(input_name, bad_handle())? };
        Ok(GSS_S_COMPLETE)
    })
}

/// `gssi_duplicate_name`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_duplicate_name(
    minor_status: *mut OM_uint32,
    src_name: gss_name_t,
    dest_name: *mut gss_name_t,
) -> OM_uint32 {
    guard(minor_status, || {
        if dest_name.is_null() {
            return Err(null_write());
        }
        // SAFETY: dest_name is writable; the handle is checked.
        unsafe {
            dest_name.write(core::ptr::null_mut());
            let copy = iname_ref(src_name)?.duplicate();
            dest_name.write(iname_handle(copy));
        }
        Ok(GSS_S_COMPLETE)
    })
}

/// `gssi_display_name`: an imported name as given; an authenticated one as its mechanism displays it.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_display_name(
    minor_status: *mut OM_uint32,
    input_name: gss_name_t,
    output_name_buffer: gss_buffer_t,
    output_name_type: *mut gss_OID,
) -> OM_uint32 {
    // SAFETY: outputs are NULL or writable; the handle is checked.
    guard(minor_status, || unsafe {
        clear_buffer(output_name_buffer);
        put(output_name_type, core::ptr::null_mut());
        match iname_ref(input_name)? {
            IName::Imported {
                text, name_type, ..
            } => {
                let t = text.strip_suffix(&[0]).unwrap_or(text);
                write_buffer(output_name_buffer, t)?;
                put(
                    output_name_type,
                    name_type
                        .as_deref()
                        .map_or(core::ptr::null_mut(), static_oid),
                );
                Ok(GSS_S_COMPLETE)
            }
            IName::Ntlm(n) => {
                forward(|m| ntlm::display_name_impl(m, n.0, output_name_buffer, output_name_type))
            }
            IName::Krb(n) => {
                let g = mechglue().map_err(glue_error)?;
                forward(|m| (g.display_name)(m, n.raw(), output_name_buffer, output_name_type))
            }
        }
    })
}

/// Runs a call of another layer (our NTLM mechanism or the mechglue) and turns its status into ours. The
/// mechanism's minor code is kept in the detail (its own `display_status` knows the text).
pub(crate) fn forward(f: impl FnOnce(*mut OM_uint32) -> OM_uint32) -> Result<u32, GssError> {
    let mut minor = 0;
    let major = f(&mut minor);
    if major & 0xFFFF_0000 == 0 {
        Ok(major)
    } else {
        let detail = crate::status::minor_message(minor);
        Err(GssError::with_detail(major, Minor::None, detail))
    }
}

/// `gssi_inquire_name` (RFC 6680 §7.4): the mechanism that authenticated the name answers.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_inquire_name(
    minor_status: *mut OM_uint32,
    name: gss_name_t,
    name_is_mn: *mut c_int,
    mn_mech: *mut gss_OID,
    attrs: *mut gss_buffer_set_t,
) -> OM_uint32 {
    // SAFETY: outputs are NULL or writable; the handle is checked.
    guard(minor_status, || unsafe {
        match iname_ref(name)? {
            IName::Imported { .. } => {
                put(name_is_mn, 0);
                put(mn_mech, SPNEGO_OID.as_oid());
                put(attrs, core::ptr::null_mut());
                Ok(GSS_S_COMPLETE)
            }
            IName::Ntlm(n) => {
                forward(|m| ntlm::inquire_name_impl(m, n.0, name_is_mn, mn_mech, attrs))
            }
            IName::Krb(n) => {
                let g = mechglue().map_err(glue_error)?;
                forward(|m| (g.inquire_name)(m, n.raw(), name_is_mn, mn_mech, attrs))
            }
        }
    })
}

/// `gssi_get_name_attribute` (RFC 6680 §7.5).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_get_name_attribute(
    minor_status: *mut OM_uint32,
    name: gss_name_t,
    attr: gss_buffer_t,
    authenticated: *mut c_int,
    complete: *mut c_int,
    value: gss_buffer_t,
    display_value: gss_buffer_t,
    more: *mut c_int,
) -> OM_uint32 {
    // SAFETY: pointers are NULL or valid; the handle is checked.
    guard(minor_status, || unsafe {
        match iname_ref(name)? {
            IName::Imported { .. } => Err(GssError::new(GSS_S_UNAVAILABLE, Minor::NoSuchAttribute)),
            IName::Ntlm(n) => forward(|m| {
                ntlm::get_name_attribute_impl(
                    m,
                    n.0,
                    attr,
                    authenticated,
                    complete,
                    value,
                    display_value,
                    more,
                )
            }),
            IName::Krb(n) => {
                let g = mechglue().map_err(glue_error)?;
                forward(|m| {
                    (g.get_name_attribute)(
                        m,
                        n.raw(),
                        attr,
                        authenticated,
                        complete,
                        value,
                        display_value,
                        more,
                    )
                })
            }
        }
    })
}

/// `gssi_localname` (MIT).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_localname(
    minor_status: *mut OM_uint32,
    name: gss_name_t,
    _mech_type: gss_const_OID,
    localname: gss_buffer_t,
) -> OM_uint32 {
    // SAFETY: pointers are NULL or valid; the handle is checked.
    guard(minor_status, || unsafe {
        let n = iname_ref(name)?;
        if let Some(k) = n.krb().filter(|_| !matches!(n, IName::Ntlm(_))) {
            let g = mechglue().map_err(glue_error)?;
            return forward(|m| (g.localname)(m, k.raw(), core::ptr::null(), localname));
        }
        match n.ntlm() {
            Some(x) => forward(|m| ntlm::localname_impl(m, x.0, core::ptr::null(), localname)),
            None => Err(GssError::new(GSS_S_UNAVAILABLE, Minor::NoLocalName)),
        }
    })
}

/// `gssi_export_name`: the exported name of the mechanism that authenticated the name (its token carries that
/// mechanism's OID, so `gss_import_name` of it goes to that mechanism directly).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn gssi_export_name(
    minor_status: *mut OM_uint32,
    input_name: gss_name_t,
    exported_name: gss_buffer_t,
) -> OM_uint32 {
    // SAFETY: pointers are NULL or valid; the handle is checked.
    guard(minor_status, || unsafe {
        clear_buffer(exported_name);
        match iname_ref(input_name)? {
            IName::Ntlm(n) => forward(|m| ntlm::export_name_impl(m, n.0, exported_name)),
            IName::Krb(n) => {
                let g = mechglue().map_err(glue_error)?;
                forward(|m| (g.export_name)(m, n.raw(), exported_name))
            }
            IName::Imported { .. } => Err(GssError::new(GSS_S_NAME_NOT_MN, Minor::WrongNameKind)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_name_types_are_not_copied_and_others_are_kept_whole() {
        let hostbased = crate::oids::NT_HOSTBASED_SERVICE.to_vec();
        assert!(matches!(known_name_type(&hostbased), Cow::Borrowed(b) if b == &hostbased[..]));
        let krb_principal = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01";
        assert!(matches!(known_name_type(krb_principal), Cow::Owned(v) if v == krb_principal));
    }

    fn imported(text: &[u8], name_type: Option<&[u8]>) -> IName {
        IName::Imported {
            text: NameText::new(text),
            name_type: name_type.map(known_name_type),
            ntlm: OnceLock::new(),
            krb: OnceLock::new(),
        }
    }

    #[test]
    fn the_ntlm_name_without_a_handle_is_the_handles_name() {
        let hostbased = Some(crate::oids::NT_HOSTBASED_SERVICE);
        let user = Some(crate::oids::NT_USER_NAME);
        for (text, ty) in [
            (&b"HTTP@web.example.com"[..], hostbased),
            (b"HTTP@web.example.com\0", hostbased),
            (b"EXAMPLE\\alice", user),
            (b"alice@EXAMPLE.COM", user),
            (b"not a hostbased name", hostbased),
            (b"", hostbased),
        ] {
            // Parsed directly, before and after the handle exists, as the handle's own name.
            let n = imported(text, ty);
            let direct = n.ntlm_name();
            let via_handle = n.ntlm().and_then(|h| h.name());
            assert_eq!(direct, via_handle, "{text:?}");
            assert_eq!(n.ntlm_name(), via_handle, "{text:?}");
            // A name made from an NTLM handle reads it; a Kerberos-only name has none.
            if let Some(h) = n.ntlm() {
                assert_eq!(IName::Ntlm(h).ntlm_name(), via_handle);
            }
        }
    }

    #[test]
    fn name_text_is_inline_up_to_the_limit_and_kept_whole_beyond() {
        for n in [
            0,
            1,
            17,
            INLINE_TEXT - 1,
            INLINE_TEXT,
            INLINE_TEXT + 1,
            4096,
        ] {
            let text: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            let t = NameText::new(&text);
            assert_eq!(&t[..], &text[..], "length {n}");
            assert_eq!(&t.clone()[..], &text[..]);
            assert_eq!(t.is_inline(), n <= INLINE_TEXT);
        }
    }
}
