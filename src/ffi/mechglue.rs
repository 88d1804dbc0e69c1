//! Kerberos for the SPNEGO engine, reached through MIT's mechglue by function pointers (ARCHITECTURE.md §7):
//! `dlopen("libgssapi_krb5.so.2", RTLD_NOLOAD)` — the mechglue that loaded us — and `dlsym` of the public
//! `gss_*` functions, so that no call can bind to this library's own exported `gss_*` symbols. (Outside a
//! mechglue process, e.g. in tests, the library is loaded with `RTLD_LOCAL`.)
//!
//! [`KerberosMech`] is a [`Mechanism`] over those pointers with the krb5 OID (RFC 4121): one mechglue context,
//! its target name, and the error classification the SPNEGO fallback and the audit need (no ticket, KDC
//! unreachable, unknown principal, rejected).

use core::ffi::{c_int, c_void};
use std::any::Any;
use std::sync::OnceLock;

use super::dl::Library;
use super::types::{
    gss_OID, gss_OID_desc, gss_buffer_desc, gss_buffer_t, gss_channel_bindings_t, gss_cred_id_t,
    gss_ctx_id_t, gss_name_t, gss_qop_t, OM_uint32,
};
use crate::spnego::mech::{MechError, MechFailure, MechStep, Mechanism};

type ImportName =
    unsafe extern "C" fn(*mut OM_uint32, gss_buffer_t, gss_OID, *mut gss_name_t) -> OM_uint32;
type ReleaseName = unsafe extern "C" fn(*mut OM_uint32, *mut gss_name_t) -> OM_uint32;
type DisplayName =
    unsafe extern "C" fn(*mut OM_uint32, gss_name_t, gss_buffer_t, *mut gss_OID) -> OM_uint32;
type InitSecContext = unsafe extern "C" fn(
    *mut OM_uint32,
    gss_cred_id_t,
    *mut gss_ctx_id_t,
    gss_name_t,
    gss_OID,
    OM_uint32,
    OM_uint32,
    gss_channel_bindings_t,
    gss_buffer_t,
    *mut gss_OID,
    gss_buffer_t,
    *mut OM_uint32,
    *mut OM_uint32,
) -> OM_uint32;
type AcceptSecContext = unsafe extern "C" fn(
    *mut OM_uint32,
    *mut gss_ctx_id_t,
    gss_cred_id_t,
    gss_buffer_t,
    gss_channel_bindings_t,
    *mut gss_name_t,
    *mut gss_OID,
    gss_buffer_t,
    *mut OM_uint32,
    *mut OM_uint32,
    *mut gss_cred_id_t,
) -> OM_uint32;
type DeleteSecContext =
    unsafe extern "C" fn(*mut OM_uint32, *mut gss_ctx_id_t, gss_buffer_t) -> OM_uint32;
type GetMic = unsafe extern "C" fn(
    *mut OM_uint32,
    gss_ctx_id_t,
    gss_qop_t,
    gss_buffer_t,
    gss_buffer_t,
) -> OM_uint32;
type VerifyMic = unsafe extern "C" fn(
    *mut OM_uint32,
    gss_ctx_id_t,
    gss_buffer_t,
    gss_buffer_t,
    *mut gss_qop_t,
) -> OM_uint32;
type Wrap = unsafe extern "C" fn(
    *mut OM_uint32,
    gss_ctx_id_t,
    c_int,
    gss_qop_t,
    gss_buffer_t,
    *mut c_int,
    gss_buffer_t,
) -> OM_uint32;
type Unwrap = unsafe extern "C" fn(
    *mut OM_uint32,
    gss_ctx_id_t,
    gss_buffer_t,
    gss_buffer_t,
    *mut c_int,
    *mut gss_qop_t,
) -> OM_uint32;
type ContextTime = unsafe extern "C" fn(*mut OM_uint32, gss_ctx_id_t, *mut OM_uint32) -> OM_uint32;
type ExportSecContext =
    unsafe extern "C" fn(*mut OM_uint32, *mut gss_ctx_id_t, gss_buffer_t) -> OM_uint32;
type ImportSecContext =
    unsafe extern "C" fn(*mut OM_uint32, gss_buffer_t, *mut gss_ctx_id_t) -> OM_uint32;
type InquireContext = unsafe extern "C" fn(
    *mut OM_uint32,
    gss_ctx_id_t,
    *mut gss_name_t,
    *mut gss_name_t,
    *mut OM_uint32,
    *mut gss_OID,
    *mut OM_uint32,
    *mut c_int,
    *mut c_int,
) -> OM_uint32;
type ReleaseBuffer = unsafe extern "C" fn(*mut OM_uint32, gss_buffer_t) -> OM_uint32;
type DisplayStatus = unsafe extern "C" fn(
    *mut OM_uint32,
    OM_uint32,
    c_int,
    gss_OID,
    *mut OM_uint32,
    gss_buffer_t,
) -> OM_uint32;

/// The mechglue functions the Kerberos binding calls.
struct Mechglue {
    import_name: ImportName,
    release_name: ReleaseName,
    display_name: DisplayName,
    init_sec_context: InitSecContext,
    accept_sec_context: AcceptSecContext,
    delete_sec_context: DeleteSecContext,
    get_mic: GetMic,
    verify_mic: VerifyMic,
    wrap: Wrap,
    unwrap: Unwrap,
    context_time: ContextTime,
    export_sec_context: ExportSecContext,
    import_sec_context: ImportSecContext,
    inquire_context: InquireContext,
    release_buffer: ReleaseBuffer,
    display_status: DisplayStatus,
}

/// DER contents of the krb5 mechanism OID 1.2.840.113554.1.2.2.
static KRB5_OID: [u8; 9] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x12, 0x01, 0x02, 0x02];
/// DER contents of GSS_C_NT_HOSTBASED_SERVICE, 1.2.840.113554.1.2.1.4.
static HOSTBASED_OID: [u8; 10] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x12, 0x01, 0x02, 0x01, 0x04];

const GSS_S_COMPLETE: OM_uint32 = 0;
const GSS_S_CONTINUE_NEEDED: OM_uint32 = 1;
const GSS_C_MUTUAL_FLAG: OM_uint32 = 2;
const GSS_C_REPLAY_FLAG: OM_uint32 = 4;
const GSS_C_SEQUENCE_FLAG: OM_uint32 = 8;
const GSS_C_CONF_FLAG: OM_uint32 = 16;
const GSS_C_INTEG_FLAG: OM_uint32 = 32;
const GSS_C_GSS_CODE: c_int = 1;
const GSS_C_MECH_CODE: c_int = 2;
const ROUTINE_ERROR_MASK: OM_uint32 = 0xFF << 16;
const GSS_S_UNSEQ_TOKEN: OM_uint32 = 1 << 3;
const GSS_S_GAP_TOKEN: OM_uint32 = 1 << 4;
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
    // RTLD_NOLOAD only returns the mechglue already loaded; else it is loaded privately (never reached inside
    // a mechglue process).
    let lib = Library::open(name, libc::RTLD_NOW | libc::RTLD_NOLOAD)
        .or_else(|_| Library::open(name, libc::RTLD_NOW | libc::RTLD_LOCAL))
        .map_err(|_| "libgssapi_krb5.so.2 cannot be loaded".to_string())?;
    let sym = |s: &core::ffi::CStr| -> Result<*mut c_void, String> {
        lib.symbol(s)
            .ok_or_else(|| format!("libgssapi_krb5 lacks {}", s.to_string_lossy()))
    };
    // SAFETY: each symbol is the MIT function of that name, whose C prototype in <gssapi/gssapi.h> is the
    // function pointer type it is transmuted into.
    unsafe {
        Ok(Mechglue {
            import_name: std::mem::transmute::<*mut c_void, ImportName>(sym(c"gss_import_name")?),
            release_name: std::mem::transmute::<*mut c_void, ReleaseName>(sym(
                c"gss_release_name",
            )?),
            display_name: std::mem::transmute::<*mut c_void, DisplayName>(sym(
                c"gss_display_name",
            )?),
            init_sec_context: std::mem::transmute::<*mut c_void, InitSecContext>(sym(
                c"gss_init_sec_context",
            )?),
            accept_sec_context: std::mem::transmute::<*mut c_void, AcceptSecContext>(sym(
                c"gss_accept_sec_context",
            )?),
            delete_sec_context: std::mem::transmute::<*mut c_void, DeleteSecContext>(sym(
                c"gss_delete_sec_context",
            )?),
            get_mic: std::mem::transmute::<*mut c_void, GetMic>(sym(c"gss_get_mic")?),
            verify_mic: std::mem::transmute::<*mut c_void, VerifyMic>(sym(c"gss_verify_mic")?),
            wrap: std::mem::transmute::<*mut c_void, Wrap>(sym(c"gss_wrap")?),
            unwrap: std::mem::transmute::<*mut c_void, Unwrap>(sym(c"gss_unwrap")?),
            context_time: std::mem::transmute::<*mut c_void, ContextTime>(sym(
                c"gss_context_time",
            )?),
            export_sec_context: std::mem::transmute::<*mut c_void, ExportSecContext>(sym(
                c"gss_export_sec_context",
            )?),
            import_sec_context: std::mem::transmute::<*mut c_void, ImportSecContext>(sym(
                c"gss_import_sec_context",
            )?),
            inquire_context: std::mem::transmute::<*mut c_void, InquireContext>(sym(
                c"gss_inquire_context",
            )?),
            release_buffer: std::mem::transmute::<*mut c_void, ReleaseBuffer>(sym(
                c"gss_release_buffer",
            )?),
            display_status: std::mem::transmute::<*mut c_void, DisplayStatus>(sym(
                c"gss_display_status",
            )?),
        })
    }
}

fn mechglue() -> Result<&'static Mechglue, MechError> {
    static G: OnceLock<Result<Mechglue, String>> = OnceLock::new();
    G.get_or_init(load)
        .as_ref()
        .map_err(|e| MechError::new(MechFailure::Other, e.clone()))
}

fn oid(bytes: &'static [u8]) -> gss_OID_desc {
    gss_OID_desc {
        length: bytes.len() as OM_uint32,
        elements: bytes.as_ptr() as *mut c_void,
    }
}

/// A buffer descriptor over `data`, for input arguments the mechglue only reads.
fn input(data: &[u8]) -> gss_buffer_desc {
    gss_buffer_desc {
        length: data.len(),
        value: data.as_ptr() as *mut c_void,
    }
}

fn empty() -> gss_buffer_desc {
    gss_buffer_desc {
        length: 0,
        value: std::ptr::null_mut(),
    }
}

/// Copies a buffer the mechglue returned and releases it.
fn take(g: &Mechglue, buf: &mut gss_buffer_desc) -> Vec<u8> {
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

fn classify(g: &Mechglue, major: OM_uint32, minor: OM_uint32) -> MechError {
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
    MechError::new(kind, detail)
}

/// A Kerberos context of the mechglue, as a SPNEGO [`Mechanism`].
#[derive(Debug)]
pub struct KerberosMech {
    initiator: bool,
    ctx: gss_ctx_id_t,
    target: gss_name_t,
    peer: Option<String>,
    flags: OM_uint32,
    complete: bool,
}

// SAFETY: an MIT context and name are plain heap objects without thread affinity; KerberosMech owns them
// exclusively and the engine uses it from one thread at a time.
unsafe impl Send for KerberosMech {}

impl KerberosMech {
    /// An initiator for the host-based service `target` (`HTTP@host`), with the default credentials.
    pub fn initiator(target: &str) -> Result<KerberosMech, MechError> {
        let g = mechglue()?;
        let mut name: gss_name_t = std::ptr::null_mut();
        let (mut minor, mut buf, mut ty) = (0, input(target.as_bytes()), oid(&HOSTBASED_OID));
        // SAFETY: buf and ty describe live memory that the call only reads; name receives a new name.
        let major = unsafe { (g.import_name)(&mut minor, &mut buf, &mut ty, &mut name) };
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        Ok(KerberosMech {
            initiator: true,
            ctx: std::ptr::null_mut(),
            target: name,
            peer: None,
            flags: 0,
            complete: false,
        })
    }

    /// An acceptor with the default acceptor credentials (the keytab).
    pub fn acceptor() -> Result<KerberosMech, MechError> {
        mechglue()?;
        Ok(KerberosMech {
            initiator: false,
            ctx: std::ptr::null_mut(),
            target: std::ptr::null_mut(),
            peer: None,
            flags: 0,
            complete: false,
        })
    }

    /// Per-message protection after establishment (RFC 2743 §2.3.3): `msg` wrapped by the Kerberos context,
    /// sealed when `conf` is asked for; returns the token and whether it is sealed.
    pub fn wrap(&mut self, msg: &[u8], conf: bool) -> Result<(Vec<u8>, bool), MechError> {
        let g = mechglue()?;
        self.established()?;
        let (mut minor, mut inp, mut out, mut state) = (0, input(msg), empty(), 0);
        // SAFETY: ctx is this value's established context; inp is only read; out is released by take.
        let major = unsafe {
            (g.wrap)(
                &mut minor,
                self.ctx,
                c_int::from(conf),
                0,
                &mut inp,
                &mut state,
                &mut out,
            )
        };
        let token = take(g, &mut out);
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        Ok((token, state != 0))
    }

    /// The message in a token from the peer's `wrap` and whether it was sealed; a token that fails the
    /// integrity check or replay/sequence checks is an error.
    pub fn unwrap(&mut self, token: &[u8]) -> Result<(Vec<u8>, bool), MechError> {
        let g = mechglue()?;
        self.established()?;
        let (mut minor, mut inp, mut out, mut state, mut qop) = (0, input(token), empty(), 0, 0);
        // SAFETY: as in wrap.
        let major = unsafe {
            (g.unwrap)(
                &mut minor, self.ctx, &mut inp, &mut out, &mut state, &mut qop,
            )
        };
        let msg = take(g, &mut out);
        // A gap or an out-of-order token is informational (the message is good); a duplicate or an old
        // token is a replay and refused.
        if major & !(GSS_S_GAP_TOKEN | GSS_S_UNSEQ_TOKEN) != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        Ok((msg, state != 0))
    }

    /// Seconds the established context stays valid (the ticket's remaining lifetime).
    pub fn context_time(&self) -> Result<u32, MechError> {
        let g = mechglue()?;
        self.established()?;
        let (mut minor, mut secs) = (0, 0);
        // SAFETY: ctx is this value's established context; secs is a live local.
        let major = unsafe { (g.context_time)(&mut minor, self.ctx, &mut secs) };
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        Ok(secs)
    }

    /// Exports the established context (`gss_export_sec_context`, RFC 2743 §2.2.8): the mechglue's token,
    /// stamped with the krb5 OID; this value no longer holds a context afterwards.
    pub fn export(mut self) -> Result<Vec<u8>, MechError> {
        let g = mechglue()?;
        self.established()?;
        let (mut minor, mut out) = (0, empty());
        // SAFETY: ctx is this value's established context; on success the mechglue frees it and sets it NULL.
        let major = unsafe { (g.export_sec_context)(&mut minor, &mut self.ctx, &mut out) };
        let token = take(g, &mut out);
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        Ok(token)
    }

    /// Imports a context from [`KerberosMech::export`]'s token (in this or another process).
    pub fn import(token: &[u8]) -> Result<KerberosMech, MechError> {
        let g = mechglue()?;
        let (mut minor, mut inp, mut ctx) = (0, input(token), std::ptr::null_mut());
        // SAFETY: inp is only read; ctx receives a new context owned by the value built below.
        let major = unsafe { (g.import_sec_context)(&mut minor, &mut inp, &mut ctx) };
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        let mut mech = KerberosMech {
            initiator: false,
            ctx,
            target: std::ptr::null_mut(),
            peer: None,
            flags: 0,
            complete: true,
        };
        let (mut flags, mut local, mut open) = (0, 0, 0);
        // SAFETY: ctx is the live context just imported; the outputs are live locals, names not asked for.
        let major = unsafe {
            (g.inquire_context)(
                &mut minor,
                mech.ctx,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut flags,
                &mut local,
                &mut open,
            )
        };
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        if open == 0 {
            return Err(MechError::new(
                MechFailure::Other,
                "imported Kerberos context is not established",
            ));
        }
        mech.flags = flags;
        mech.initiator = local != 0;
        Ok(mech)
    }

    /// Whether this side initiated the context.
    pub fn is_initiator(&self) -> bool {
        self.initiator
    }

    fn established(&self) -> Result<(), MechError> {
        if self.complete && !self.ctx.is_null() {
            Ok(())
        } else {
            Err(MechError::new(
                MechFailure::Other,
                "Kerberos context not established",
            ))
        }
    }

    fn init_step(&mut self, g: &Mechglue, token: Option<&[u8]>) -> Result<MechStep, MechError> {
        let (mut minor, mut out, mut mech) = (0, empty(), oid(&KRB5_OID));
        let mut inp = input(token.unwrap_or_default());
        let inp_ptr: gss_buffer_t = if token.is_some() {
            &mut inp
        } else {
            std::ptr::null_mut()
        };
        let req = GSS_C_MUTUAL_FLAG
            | GSS_C_INTEG_FLAG
            | GSS_C_CONF_FLAG
            | GSS_C_SEQUENCE_FLAG
            | GSS_C_REPLAY_FLAG;
        // SAFETY: every pointer is a live local or this context's own handles; output is released by take.
        let major = unsafe {
            (g.init_sec_context)(
                &mut minor,
                std::ptr::null_mut(),
                &mut self.ctx,
                self.target,
                &mut mech,
                req,
                0,
                std::ptr::null_mut(),
                inp_ptr,
                std::ptr::null_mut(),
                &mut out,
                &mut self.flags,
                std::ptr::null_mut(),
            )
        };
        let output = take(g, &mut out);
        match major {
            GSS_S_COMPLETE => self.complete = true,
            GSS_S_CONTINUE_NEEDED => {}
            _ => return Err(classify(g, major, minor)),
        }
        Ok(MechStep {
            output,
            complete: self.complete,
        })
    }

    fn accept_step(&mut self, g: &Mechglue, token: &[u8]) -> Result<MechStep, MechError> {
        let (mut minor, mut out) = (0, empty());
        let mut inp = input(token);
        let mut src: gss_name_t = std::ptr::null_mut();
        // SAFETY: as in init_step; src receives a name released below.
        let major = unsafe {
            (g.accept_sec_context)(
                &mut minor,
                &mut self.ctx,
                std::ptr::null_mut(),
                &mut inp,
                std::ptr::null_mut(),
                &mut src,
                std::ptr::null_mut(),
                &mut out,
                &mut self.flags,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        let output = take(g, &mut out);
        if !src.is_null() {
            let (mut m, mut buf) = (0, empty());
            // SAFETY: src is the name the mechglue just returned; buf is released by take.
            if unsafe { (g.display_name)(&mut m, src, &mut buf, std::ptr::null_mut()) } == 0 {
                self.peer = Some(String::from_utf8_lossy(&take(g, &mut buf)).into_owned());
            }
            // SAFETY: src is ours to release.
            unsafe { (g.release_name)(&mut m, &mut src) };
        }
        match major {
            GSS_S_COMPLETE => self.complete = true,
            GSS_S_CONTINUE_NEEDED => {}
            _ => return Err(classify(g, major, minor)),
        }
        Ok(MechStep {
            output,
            complete: self.complete,
        })
    }
}

impl Drop for KerberosMech {
    fn drop(&mut self) {
        let Ok(g) = mechglue() else { return };
        let mut minor = 0;
        if !self.ctx.is_null() {
            // SAFETY: ctx is this value's own context handle.
            unsafe { (g.delete_sec_context)(&mut minor, &mut self.ctx, std::ptr::null_mut()) };
        }
        if !self.target.is_null() {
            // SAFETY: target is this value's own name handle.
            unsafe { (g.release_name)(&mut minor, &mut self.target) };
        }
    }
}

impl Mechanism for KerberosMech {
    fn step(&mut self, token: Option<&[u8]>) -> Result<MechStep, MechError> {
        let g = mechglue()?;
        if self.initiator {
            self.init_step(g, token)
        } else {
            let token = token.ok_or_else(|| {
                MechError::new(MechFailure::Defective, "Kerberos acceptor needs a token")
            })?;
            self.accept_step(g, token)
        }
    }

    fn get_mic(&mut self, msg: &[u8]) -> Result<Vec<u8>, MechError> {
        let g = mechglue()?;
        let (mut minor, mut inp, mut out) = (0, input(msg), empty());
        // SAFETY: ctx is this value's established context; buffers are live locals.
        let major = unsafe { (g.get_mic)(&mut minor, self.ctx, 0, &mut inp, &mut out) };
        let mic = take(g, &mut out);
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        Ok(mic)
    }

    fn verify_mic(&mut self, msg: &[u8], mic: &[u8]) -> Result<(), MechError> {
        let g = mechglue()?;
        let (mut minor, mut m, mut t, mut qop) = (0, input(msg), input(mic), 0);
        // SAFETY: as in get_mic; both buffers are only read.
        let major = unsafe { (g.verify_mic)(&mut minor, self.ctx, &mut m, &mut t, &mut qop) };
        if major != GSS_S_COMPLETE {
            return Err(classify(g, major, minor));
        }
        Ok(())
    }

    fn integrity(&self) -> bool {
        self.flags & GSS_C_INTEG_FLAG != 0
    }

    fn peer_name(&self) -> Option<String> {
        self.peer.clone()
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}
