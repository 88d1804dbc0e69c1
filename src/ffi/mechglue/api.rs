//! The mechglue's public functions, resolved by `dlsym` on `dlopen("libgssapi_krb5.so.2", RTLD_NOLOAD)`
//! (ARCHITECTURE.md §7: a plain call could bind to this library's own `gss_*` exports), and the owned
//! wrappers of the mechglue objects the interposer keeps: [`GlueName`], [`GlueCred`], [`GlueBindings`].

use core::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

use super::super::types::{
    gss_OID, gss_OID_desc, gss_OID_set, gss_buffer_desc, gss_buffer_set_t, gss_buffer_t,
    gss_channel_bindings_struct, gss_channel_bindings_t, gss_const_OID, gss_const_key_value_set_t,
    gss_cred_id_t, gss_cred_usage_t, gss_ctx_id_t, gss_iov_buffer_t, gss_name_t, gss_qop_t,
    OM_uint32,
};
use crate::spnego::mech::{MechError, MechFailure};

type Minor = *mut OM_uint32;

macro_rules! glue {
    ($($field:ident = $sym:literal : fn($($arg:ty),*);)*) => {
        /// The mechglue functions the Kerberos binding and the interposer call.
        pub(crate) struct Mechglue {
            $(pub(crate) $field: unsafe extern "C" fn($($arg),*) -> OM_uint32,)*
        }

        fn resolve(
            sym: impl Fn(&CStr) -> Result<*mut c_void, String>,
        ) -> Result<Mechglue, String> {
            Ok(Mechglue {
                $(
                    // SAFETY: the symbol is the MIT function of that name, whose C prototype in
                    // <gssapi/gssapi.h> / <gssapi/gssapi_ext.h> is this function pointer type.
                    $field: unsafe {
                        std::mem::transmute::<*mut c_void, unsafe extern "C" fn($($arg),*) -> OM_uint32>(
                            sym($sym)?,
                        )
                    },
                )*
            })
        }
    };
}

glue! {
    import_name = c"gss_import_name": fn(Minor, gss_buffer_t, gss_OID, *mut gss_name_t);
    release_name = c"gss_release_name": fn(Minor, *mut gss_name_t);
    display_name = c"gss_display_name": fn(Minor, gss_name_t, gss_buffer_t, *mut gss_OID);
    export_name = c"gss_export_name": fn(Minor, gss_name_t, gss_buffer_t);
    localname = c"gss_localname": fn(Minor, gss_name_t, gss_const_OID, gss_buffer_t);
    inquire_name = c"gss_inquire_name": fn(Minor, gss_name_t, *mut c_int, *mut gss_OID, *mut gss_buffer_set_t);
    get_name_attribute = c"gss_get_name_attribute": fn(
        Minor, gss_name_t, gss_buffer_t, *mut c_int, *mut c_int, gss_buffer_t, gss_buffer_t, *mut c_int);
    acquire_cred_from = c"gss_acquire_cred_from": fn(
        Minor, gss_name_t, OM_uint32, gss_OID_set, c_int, gss_const_key_value_set_t, *mut gss_cred_id_t,
        *mut gss_OID_set, *mut OM_uint32);
    acquire_cred_with_password = c"gss_acquire_cred_with_password": fn(
        Minor, gss_name_t, gss_buffer_t, OM_uint32, gss_OID_set, c_int, *mut gss_cred_id_t, *mut gss_OID_set,
        *mut OM_uint32);
    release_cred = c"gss_release_cred": fn(Minor, *mut gss_cred_id_t);
    init_sec_context = c"gss_init_sec_context": fn(
        Minor, gss_cred_id_t, *mut gss_ctx_id_t, gss_name_t, gss_OID, OM_uint32, OM_uint32,
        gss_channel_bindings_t, gss_buffer_t, *mut gss_OID, gss_buffer_t, *mut OM_uint32, *mut OM_uint32);
    accept_sec_context = c"gss_accept_sec_context": fn(
        Minor, *mut gss_ctx_id_t, gss_cred_id_t, gss_buffer_t, gss_channel_bindings_t, *mut gss_name_t,
        *mut gss_OID, gss_buffer_t, *mut OM_uint32, *mut OM_uint32, *mut gss_cred_id_t);
    delete_sec_context = c"gss_delete_sec_context": fn(Minor, *mut gss_ctx_id_t, gss_buffer_t);
    get_mic = c"gss_get_mic": fn(Minor, gss_ctx_id_t, gss_qop_t, gss_buffer_t, gss_buffer_t);
    verify_mic = c"gss_verify_mic": fn(Minor, gss_ctx_id_t, gss_buffer_t, gss_buffer_t, *mut gss_qop_t);
    wrap = c"gss_wrap": fn(Minor, gss_ctx_id_t, c_int, gss_qop_t, gss_buffer_t, *mut c_int, gss_buffer_t);
    unwrap = c"gss_unwrap": fn(Minor, gss_ctx_id_t, gss_buffer_t, gss_buffer_t, *mut c_int, *mut gss_qop_t);
    wrap_size_limit = c"gss_wrap_size_limit": fn(Minor, gss_ctx_id_t, c_int, gss_qop_t, OM_uint32, *mut OM_uint32);
    context_time = c"gss_context_time": fn(Minor, gss_ctx_id_t, *mut OM_uint32);
    export_sec_context = c"gss_export_sec_context": fn(Minor, *mut gss_ctx_id_t, gss_buffer_t);
    import_sec_context = c"gss_import_sec_context": fn(Minor, gss_buffer_t, *mut gss_ctx_id_t);
    inquire_context = c"gss_inquire_context": fn(
        Minor, gss_ctx_id_t, *mut gss_name_t, *mut gss_name_t, *mut OM_uint32, *mut gss_OID, *mut OM_uint32,
        *mut c_int, *mut c_int);
    release_buffer = c"gss_release_buffer": fn(Minor, gss_buffer_t);
    display_status = c"gss_display_status": fn(Minor, OM_uint32, c_int, gss_OID, *mut OM_uint32, gss_buffer_t);
    // For the NegoEx hand-off (interposer::negoex): which mechanisms the process has, and MIT's SPNEGO creds.
    indicate_mechs = c"gss_indicate_mechs": fn(Minor, *mut gss_OID_set);
    inquire_attrs_for_mech = c"gss_inquire_attrs_for_mech": fn(Minor, gss_const_OID, *mut gss_OID_set, *mut gss_OID_set);
    release_oid_set = c"gss_release_oid_set": fn(Minor, *mut gss_OID_set);
    set_neg_mechs = c"gss_set_neg_mechs": fn(Minor, gss_cred_id_t, gss_OID_set);
    // Forwarded by the interposer's per-context extensions (super::super::interposer::ext) to the krb5 context.
    inquire_sec_context_by_oid = c"gss_inquire_sec_context_by_oid": fn(
        Minor, gss_ctx_id_t, gss_OID, *mut gss_buffer_set_t);
    set_sec_context_option = c"gss_set_sec_context_option": fn(Minor, *mut gss_ctx_id_t, gss_OID, gss_buffer_t);
    pseudo_random = c"gss_pseudo_random": fn(Minor, gss_ctx_id_t, c_int, gss_buffer_t, isize, gss_buffer_t);
    process_context_token = c"gss_process_context_token": fn(Minor, gss_ctx_id_t, gss_buffer_t);
    wrap_iov = c"gss_wrap_iov": fn(Minor, gss_ctx_id_t, c_int, gss_qop_t, *mut c_int, gss_iov_buffer_t, c_int);
    unwrap_iov = c"gss_unwrap_iov": fn(Minor, gss_ctx_id_t, *mut c_int, *mut gss_qop_t, gss_iov_buffer_t, c_int);
    wrap_iov_length = c"gss_wrap_iov_length": fn(
        Minor, gss_ctx_id_t, c_int, gss_qop_t, *mut c_int, gss_iov_buffer_t, c_int);
    get_mic_iov = c"gss_get_mic_iov": fn(Minor, gss_ctx_id_t, gss_qop_t, gss_iov_buffer_t, c_int);
    verify_mic_iov = c"gss_verify_mic_iov": fn(Minor, gss_ctx_id_t, *mut gss_qop_t, gss_iov_buffer_t, c_int);
    compare_name = c"gss_compare_name": fn(Minor, gss_name_t, gss_name_t, *mut c_int);
    export_cred = c"gss_export_cred": fn(Minor, gss_cred_id_t, gss_buffer_t);
    import_cred = c"gss_import_cred": fn(Minor, gss_buffer_t, *mut gss_cred_id_t);
    inquire_cred_by_oid = c"gss_inquire_cred_by_oid": fn(Minor, gss_cred_id_t, gss_OID, *mut gss_buffer_set_t);
    store_cred_into = c"gss_store_cred_into": fn(
        Minor, gss_cred_id_t, gss_cred_usage_t, gss_OID, OM_uint32, OM_uint32, gss_const_key_value_set_t,
        *mut gss_OID_set, *mut gss_cred_usage_t);
    acquire_cred_impersonate_name = c"gss_acquire_cred_impersonate_name": fn(
        Minor, gss_cred_id_t, gss_name_t, OM_uint32, gss_OID_set, gss_cred_usage_t, *mut gss_cred_id_t,
        *mut gss_OID_set, *mut OM_uint32);
    get_mic_iov_length = c"gss_get_mic_iov_length": fn(Minor, gss_ctx_id_t, gss_qop_t, gss_iov_buffer_t, c_int);
}

/// DER contents of the krb5 mechanism OID 1.2.840.113554.1.2.2.
pub(crate) static KRB5_OID: [u8; 9] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x12, 0x01, 0x02, 0x02];
/// DER contents of GSS_C_NT_HOSTBASED_SERVICE, 1.2.840.113554.1.2.1.4.
pub(crate) static HOSTBASED_OID: [u8; 10] =
    [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x12, 0x01, 0x02, 0x01, 0x04];

pub(crate) const GSS_S_COMPLETE: OM_uint32 = 0;
pub(crate) const GSS_S_CONTINUE_NEEDED: OM_uint32 = 1;
pub(crate) const GSS_C_MUTUAL_FLAG: OM_uint32 = 2;
pub(crate) const GSS_C_REPLAY_FLAG: OM_uint32 = 4;
pub(crate) const GSS_C_SEQUENCE_FLAG: OM_uint32 = 8;
pub(crate) const GSS_C_CONF_FLAG: OM_uint32 = 16;
pub(crate) const GSS_C_INTEG_FLAG: OM_uint32 = 32;
const GSS_C_GSS_CODE: c_int = 1;
const GSS_C_MECH_CODE: c_int = 2;
const ROUTINE_ERROR_MASK: OM_uint32 = 0xFF << 16;
pub(crate) const GSS_S_UNSEQ_TOKEN: OM_uint32 = 1 << 3;
pub(crate) const GSS_S_GAP_TOKEN: OM_uint32 = 1 << 4;
const GSS_S_NO_CRED: OM_uint32 = 7 << 16;
const GSS_S_DEFECTIVE_TOKEN: OM_uint32 = 9 << 16;

// krb5 error codes (com_err table "krb5", <krb5/krb5.h>), as the minor status carries them.
const KRB5_FCC_NOFILE: i32 = -1_765_328_189;
const KRB5_CC_NOTFOUND: i32 = -1_765_328_243;
const KRB5_KDC_UNREACH: i32 = -1_765_328_228;
const KRB5_REALM_CANT_RESOLVE: i32 = -1_765_328_164;
const KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN: i32 = -1_765_328_377;

fn load() -> Result<Mechglue, String> {
    let name = c"libgssapi_krb5.so.2";
    // SAFETY: dlopen with a NUL-terminated name; RTLD_NOLOAD only returns a library that is already loaded.
    let mut handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD) };
    if handle.is_null() {
        // SAFETY: as above; loads the mechglue privately (never reached inside a mechglue process).
        handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    }
    if handle.is_null() {
        return Err("libgssapi_krb5.so.2 cannot be loaded".into());
    }
    resolve(|s: &CStr| {
        // SAFETY: handle is a live dlopen handle (never closed); s is NUL-terminated.
        let p = unsafe { libc::dlsym(handle, s.as_ptr()) };
        if p.is_null() {
            Err(format!("libgssapi_krb5 lacks {}", s.to_string_lossy()))
        } else {
            Ok(p)
        }
    })
}

/// The resolved mechglue (resolved once per process).
pub(crate) fn mechglue() -> Result<&'static Mechglue, MechError> {
    static G: OnceLock<Result<Mechglue, String>> = OnceLock::new();
    G.get_or_init(load)
        .as_ref()
        .map_err(|e| MechError::new(MechFailure::Other, e.clone()))
}

/// A descriptor of static OID bytes, for arguments the mechglue only reads.
pub(crate) fn oid(bytes: &'static [u8]) -> gss_OID_desc {
    gss_OID_desc {
        length: bytes.len() as OM_uint32,
        elements: bytes.as_ptr() as *mut c_void,
    }
}

/// A buffer descriptor over `data`, for input arguments the mechglue only reads.
pub(crate) fn input(data: &[u8]) -> gss_buffer_desc {
    gss_buffer_desc {
        length: data.len(),
        value: data.as_ptr() as *mut c_void,
    }
}

/// An empty output buffer.
pub(crate) fn empty() -> gss_buffer_desc {
    gss_buffer_desc {
        length: 0,
        value: std::ptr::null_mut(),
    }
}

/// Copies a buffer the mechglue returned and releases it.
pub(crate) fn take(g: &Mechglue, buf: &mut gss_buffer_desc) -> Vec<u8> {
    let out = if buf.value.is_null() || buf.length == 0 {
        Vec::new()
    } else {
        // SAFETY: the mechglue returned `length` readable bytes at `value`.
        unsafe { std::slice::from_raw_parts(buf.value as *const u8, buf.length) }.to_vec()
    };
    let mut minor = 0;
    // SAFETY: buf was filled by the mechglue (or is empty); release_buffer accepts both.
    unsafe { (g.release_buffer)(&mut minor, buf) };
    out
}

fn status_text(g: &Mechglue, code: OM_uint32, kind: c_int) -> String {
    let mut text = String::new();
    let mut ctx: OM_uint32 = 0;
    let mut mech = oid(&KRB5_OID);
    for _ in 0..8 {
        let (mut minor, mut buf) = (0, empty());
        // SAFETY: all pointers are live locals; the returned buffer is released by `take`.
        let major =
            unsafe { (g.display_status)(&mut minor, code, kind, &mut mech, &mut ctx, &mut buf) };
        if major != GSS_S_COMPLETE {
            break;
        }
        let part = take(g, &mut buf);
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.push_str(&String::from_utf8_lossy(&part));
        if ctx == 0 {
            break;
        }
    }
    text
}

/// The error of a failed mechglue call, in the categories the SPNEGO fallback and the audit need.
pub(crate) fn classify(g: &Mechglue, major: OM_uint32, minor: OM_uint32) -> MechError {
    let routine = major & ROUTINE_ERROR_MASK;
    let kind = match minor as i32 {
        KRB5_FCC_NOFILE | KRB5_CC_NOTFOUND => MechFailure::NoCredentials,
        KRB5_KDC_UNREACH | KRB5_REALM_CANT_RESOLVE => MechFailure::Unreachable,
        KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN => MechFailure::UnknownPrincipal,
        _ if routine == GSS_S_NO_CRED => MechFailure::NoCredentials,
        _ if routine == GSS_S_DEFECTIVE_TOKEN => MechFailure::Defective,
        _ => MechFailure::Rejected,
    };
    let detail = format!(
        "Kerberos: {} ({})",
        status_text(g, major, GSS_C_GSS_CODE),
        status_text(g, minor, GSS_C_MECH_CODE)
    );
    MechError {
        major: Some(major),
        ..MechError::new(kind, detail)
    }
}

/// A name of the mechglue (a union name), released on drop.
#[derive(Debug)]
pub struct GlueName(gss_name_t);

// SAFETY: an MIT union name is a heap object without thread affinity; GlueName owns it, and the mechglue's
// name functions only read it (concurrent reads are what MIT's own threads do with shared names).
unsafe impl Send for GlueName {}
// SAFETY: as above.
unsafe impl Sync for GlueName {}

impl GlueName {
    /// Imports `text` of the name type `name_type` (DER content; `None`: the mechglue's default).
    pub fn import(text: &[u8], name_type: Option<&[u8]>) -> Result<GlueName, MechError> {
        let g = mechglue()?;
        let mut name: gss_name_t = std::ptr::null_mut();
        let mut buf = input(text);
        let mut ty = name_type.map(|t| gss_OID_desc {
            length: t.len() as OM_uint32,
            elements: t.as_ptr() as *mut c_void,
        });
        let ty_ptr: gss_OID = ty.as_mut().map_or(std::ptr::null_mut(), |t| t);
        let mut minor = 0;
        // SAFETY: buf and ty describe live memory the call only reads; name receives a new name.
        let major = unsafe { (g.import_name)(&mut minor, &mut buf, ty_ptr, &mut name) };
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        Ok(GlueName(name))
    }

    /// Takes ownership of a name the mechglue returned (NULL: `None`).
    pub(crate) fn from_raw(name: gss_name_t) -> Option<GlueName> {
        (!name.is_null()).then_some(GlueName(name))
    }

    /// The handle, for calls that only read it.
    pub(crate) fn raw(&self) -> gss_name_t {
        self.0
    }

    /// `gss_display_name`: the text and the name type's DER content.
    pub fn display(&self) -> Result<(Vec<u8>, Option<Vec<u8>>), MechError> {
        let g = mechglue()?;
        let (mut minor, mut buf, mut ty) = (0, empty(), std::ptr::null_mut::<gss_OID_desc>());
        // SAFETY: self.0 is a live name; buf is released by take; ty points to mechglue-owned static OIDs.
        let major = unsafe { (g.display_name)(&mut minor, self.0, &mut buf, &mut ty) };
        let text = take(g, &mut buf);
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        let ty = if ty.is_null() {
            None
        } else {
            // SAFETY: the mechglue returned a valid OID (static, not ours to free).
            let d = unsafe { &*ty };
            // SAFETY: elements is valid for length bytes.
            Some(
                unsafe { std::slice::from_raw_parts(d.elements as *const u8, d.length as usize) }
                    .to_vec(),
            )
        };
        Ok((text, ty))
    }
}

impl Drop for GlueName {
    fn drop(&mut self) {
        if let Ok(g) = mechglue() {
            let mut minor = 0;
            // SAFETY: self.0 is this value's own name.
            unsafe { (g.release_name)(&mut minor, &mut self.0) };
        }
    }
}

/// A credential of the mechglue (a union credential), released on drop.
#[derive(Debug)]
pub struct GlueCred(gss_cred_id_t);

// SAFETY: as for GlueName: MIT credentials are shared read-only between contexts and threads.
unsafe impl Send for GlueCred {}
// SAFETY: as above.
unsafe impl Sync for GlueCred {}

impl GlueCred {
    /// Takes ownership of a credential the mechglue returned (NULL: `None`).
    pub(crate) fn from_raw(cred: gss_cred_id_t) -> Option<GlueCred> {
        (!cred.is_null()).then_some(GlueCred(cred))
    }

    /// The handle, for calls that only read it.
    pub(crate) fn raw(&self) -> gss_cred_id_t {
        self.0
    }

    /// Gives the credential away (the receiver releases it with the mechglue's `gss_release_cred`).
    pub(crate) fn into_raw(self) -> gss_cred_id_t {
        let me = std::mem::ManuallyDrop::new(self);
        me.0
    }
}

impl Drop for GlueCred {
    fn drop(&mut self) {
        if let Ok(g) = mechglue() {
            let mut minor = 0;
            // SAFETY: self.0 is this value's own credential.
            unsafe { (g.release_cred)(&mut minor, &mut self.0) };
        }
    }
}

/// A copy of the application's channel bindings, to hand to the mechglue on every step.
#[derive(Debug, Clone, Default)]
pub struct GlueBindings {
    /// Initiator address type.
    pub initiator_addrtype: OM_uint32,
    /// Initiator address.
    pub initiator_address: Vec<u8>,
    /// Acceptor address type.
    pub acceptor_addrtype: OM_uint32,
    /// Acceptor address.
    pub acceptor_address: Vec<u8>,
    /// Application data.
    pub application_data: Vec<u8>,
}

impl GlueBindings {
    /// The C structure over this value's bytes (valid while `self` lives and is not changed).
    pub(crate) fn as_c(&self) -> gss_channel_bindings_struct {
        gss_channel_bindings_struct {
            initiator_addrtype: self.initiator_addrtype,
            initiator_address: input(&self.initiator_address),
            acceptor_addrtype: self.acceptor_addrtype,
            acceptor_address: input(&self.acceptor_address),
            application_data: input(&self.application_data),
        }
    }
}
