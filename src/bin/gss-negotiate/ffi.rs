//! The only module of the command with `unsafe`: calls into C (libc's `signal`, and MIT's mechglue
//! `libgssapi_krb5.so.2` opened at run time for `selftest`). Each block says why it is sound.
#![allow(unsafe_code)]

/// Restores the default SIGPIPE action (Rust ignores it), so `gss-negotiate decode … | head` ends quietly
/// like other Unix tools instead of failing on a closed pipe.
pub fn default_sigpipe() {
    // SAFETY: signal(2) with a valid signal number and SIG_DFL has no memory-safety preconditions; it runs
    // at the start of main, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

use libloading::Library;
use std::ffi::c_void;
use std::ptr::null_mut;

type Major = u32;
type Minor = u32;
type Handle = *mut c_void;

#[repr(C)]
struct BufferDesc {
    length: usize,
    value: *mut c_void,
}

#[repr(C)]
struct OidDesc {
    length: u32,
    elements: *mut c_void,
}

#[repr(C)]
struct OidSetDesc {
    count: usize,
    elements: *mut OidDesc,
}

const GSS_C_GSS_CODE: i32 = 1;
const GSS_C_MECH_CODE: i32 = 2;
const GSS_S_CONTINUE_NEEDED: u32 = 1;
/// `GSS_C_INITIATE`, `GSS_C_ACCEPT`.
pub const INITIATE: i32 = 1;
pub const ACCEPT: i32 = 2;
/// GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG.
const REQ_FLAGS: u32 = 2 | 4 | 8 | 16 | 32;

/// DER contents of GSS_C_NT_USER_NAME (1.2.840.113554.1.2.1.1) and GSS_C_NT_HOSTBASED_SERVICE (…1.2.1.4).
pub const NT_USER_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x01];
pub const NT_HOSTBASED_SERVICE: &[u8] =
    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x04];
/// DER contents of the NTLMSSP (1.3.6.1.4.1.311.2.2.10) and SPNEGO (1.3.6.1.5.5.2) OIDs.
pub const NTLMSSP: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];
pub const SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];

type ImportName =
    unsafe extern "C" fn(*mut Minor, *mut BufferDesc, *mut OidDesc, *mut Handle) -> Major;
type ReleaseHandle = unsafe extern "C" fn(*mut Minor, *mut Handle) -> Major;
type AcquireCred = unsafe extern "C" fn(
    *mut Minor,
    Handle,
    u32,
    *mut OidSetDesc,
    i32,
    *mut Handle,
    *mut *mut OidSetDesc,
    *mut u32,
) -> Major;
type SetNegMechs = unsafe extern "C" fn(*mut Minor, Handle, *mut OidSetDesc) -> Major;
type InitSecContext = unsafe extern "C" fn(
    *mut Minor,
    Handle,
    *mut Handle,
    Handle,
    *mut OidDesc,
    u32,
    u32,
    *mut c_void,
    *mut BufferDesc,
    *mut *mut OidDesc,
    *mut BufferDesc,
    *mut u32,
    *mut u32,
) -> Major;
type AcceptSecContext = unsafe extern "C" fn(
    *mut Minor,
    *mut Handle,
    Handle,
    *mut BufferDesc,
    *mut c_void,
    *mut Handle,
    *mut *mut OidDesc,
    *mut BufferDesc,
    *mut u32,
    *mut u32,
    *mut Handle,
) -> Major;
type DeleteSecContext = unsafe extern "C" fn(*mut Minor, *mut Handle, *mut BufferDesc) -> Major;
type ReleaseBuffer = unsafe extern "C" fn(*mut Minor, *mut BufferDesc) -> Major;
type DisplayStatus =
    unsafe extern "C" fn(*mut Minor, u32, i32, *mut OidDesc, *mut u32, *mut BufferDesc) -> Major;
type DisplayName =
    unsafe extern "C" fn(*mut Minor, Handle, *mut BufferDesc, *mut *mut OidDesc) -> Major;
type Wrap = unsafe extern "C" fn(
    *mut Minor,
    Handle,
    i32,
    u32,
    *mut BufferDesc,
    *mut i32,
    *mut BufferDesc,
) -> Major;
type Unwrap = unsafe extern "C" fn(
    *mut Minor,
    Handle,
    *mut BufferDesc,
    *mut BufferDesc,
    *mut i32,
    *mut u32,
) -> Major;

/// MIT's mechglue, opened at run time, with the functions `selftest` calls.
pub struct Mechglue {
    import_name: ImportName,
    release_name: ReleaseHandle,
    acquire_cred: AcquireCred,
    release_cred: ReleaseHandle,
    set_neg_mechs: SetNegMechs,
    init_sec_context: InitSecContext,
    accept_sec_context: AcceptSecContext,
    delete_sec_context: DeleteSecContext,
    release_buffer: ReleaseBuffer,
    display_status: DisplayStatus,
    display_name: DisplayName,
    wrap: Wrap,
    unwrap: Unwrap,
    // Declared last: dropped after the function pointers are gone.
    _lib: Library,
}

/// Borrows `bytes` as a `gss_OID_desc` for one call (the mechglue copies OIDs it keeps).
fn oid_desc(bytes: &'static [u8]) -> OidDesc {
    OidDesc {
        length: bytes.len() as u32,
        elements: bytes.as_ptr() as *mut c_void,
    }
}

impl Mechglue {
    /// Opens `libgssapi_krb5.so.2` and resolves the functions.
    pub fn open() -> Result<Mechglue, String> {
        // SAFETY: loading MIT's GSSAPI library runs its ELF constructors, which only initialise its own state.
        let lib = unsafe { Library::new("libgssapi_krb5.so.2") }.map_err(|e| {
            format!("cannot load MIT's libgssapi_krb5.so.2: {e} (apt-get install libgssapi-krb5-2)")
        })?;
        macro_rules! sym {
            ($name:literal, $ty:ty) => {
                // SAFETY: the symbol is one of MIT's public GSSAPI functions, and `$ty` is its C prototype
                // from <gssapi/gssapi.h> / <gssapi/gssapi_ext.h> (LP64: OM_uint32 = u32, size_t = usize).
                *unsafe { lib.get::<$ty>($name) }.map_err(|e| format!("libgssapi_krb5 lacks {}: {e}", String::from_utf8_lossy($name)))?
            };
        }
        Ok(Mechglue {
            import_name: sym!(b"gss_import_name\0", ImportName),
            release_name: sym!(b"gss_release_name\0", ReleaseHandle),
            acquire_cred: sym!(b"gss_acquire_cred\0", AcquireCred),
            release_cred: sym!(b"gss_release_cred\0", ReleaseHandle),
            set_neg_mechs: sym!(b"gss_set_neg_mechs\0", SetNegMechs),
            init_sec_context: sym!(b"gss_init_sec_context\0", InitSecContext),
            accept_sec_context: sym!(b"gss_accept_sec_context\0", AcceptSecContext),
            delete_sec_context: sym!(b"gss_delete_sec_context\0", DeleteSecContext),
            release_buffer: sym!(b"gss_release_buffer\0", ReleaseBuffer),
            display_status: sym!(b"gss_display_status\0", DisplayStatus),
            display_name: sym!(b"gss_display_name\0", DisplayName),
            wrap: sym!(b"gss_wrap\0", Wrap),
            unwrap: sym!(b"gss_unwrap\0", Unwrap),
            _lib: lib,
        })
    }

    /// Copies a mechglue-allocated buffer and releases it.
    fn take_buffer(&self, buf: &mut BufferDesc) -> Vec<u8> {
        let out = if buf.value.is_null() || buf.length == 0 {
            Vec::new()
        } else {
            // SAFETY: the mechglue returned `value` pointing to `length` initialised bytes it owns until
            // gss_release_buffer, which is called right after this copy.
            unsafe { std::slice::from_raw_parts(buf.value as *const u8, buf.length) }.to_vec()
        };
        let mut minor = 0;
        // SAFETY: `buf` came from the mechglue (or is empty), and is released once.
        unsafe { (self.release_buffer)(&mut minor, buf) };
        out
    }

    /// The texts of a major/minor status, as gss_display_status gives them.
    fn status_text(&self, major: u32, minor: u32, what: &str) -> String {
        let mut parts = Vec::new();
        for (code, kind) in [(major, GSS_C_GSS_CODE), (minor, GSS_C_MECH_CODE)] {
            if kind == GSS_C_MECH_CODE && code == 0 {
                continue;
            }
            let mut ctx = 0u32;
            for _ in 0..8 {
                let mut m = 0;
                let mut buf = BufferDesc {
                    length: 0,
                    value: null_mut(),
                };
                // SAFETY: all pointers are to live locals; a NULL mech OID asks for the default mechanism.
                let r = unsafe {
                    (self.display_status)(&mut m, code, kind, null_mut(), &mut ctx, &mut buf)
                };
                if r != 0 {
                    break;
                }
                parts.push(String::from_utf8_lossy(&self.take_buffer(&mut buf)).into_owned());
                if ctx == 0 {
                    break;
                }
            }
        }
        format!(
            "{what}: {} (major 0x{major:08x}, minor {minor})",
            parts.join("; ")
        )
    }

    fn check(&self, major: u32, minor: u32, what: &str) -> Result<(), String> {
        if major & 0xffff_0000 != 0 {
            Err(self.status_text(major, minor, what))
        } else {
            Ok(())
        }
    }

    /// `gss_import_name` with the name type `ntype` (one of the constants above).
    pub fn import_name(&self, text: &str, ntype: &'static [u8]) -> Result<GssName<'_>, String> {
        let mut minor = 0;
        let mut buf = BufferDesc {
            length: text.len(),
            value: text.as_ptr() as *mut c_void,
        };
        let mut oid = oid_desc(ntype);
        let mut h: Handle = null_mut();
        // SAFETY: `buf` points to `text` for the call (the mechglue copies it); `oid` and `h` are live locals.
        let major = unsafe { (self.import_name)(&mut minor, &mut buf, &mut oid, &mut h) };
        self.check(major, minor, "gss_import_name")?;
        Ok(GssName { g: self, h })
    }

    /// `gss_acquire_cred` for `mech`; for SPNEGO the negotiable mechanisms are limited to NTLMSSP.
    pub fn acquire_cred(
        &self,
        name: Option<&GssName<'_>>,
        mech: &'static [u8],
        usage: i32,
    ) -> Result<GssCred<'_>, String> {
        let mut minor = 0;
        let mut oid = oid_desc(mech);
        let mut set = OidSetDesc {
            count: 1,
            elements: &mut oid,
        };
        let mut h: Handle = null_mut();
        let name_h = name.map_or(null_mut(), |n| n.h);
        // SAFETY: `set` and `oid` live for the call; the name handle is live or GSS_C_NO_NAME; the optional
        // outputs are NULL.
        let major = unsafe {
            (self.acquire_cred)(
                &mut minor,
                name_h,
                0,
                &mut set,
                usage,
                &mut h,
                null_mut(),
                null_mut(),
            )
        };
        self.check(major, minor, "gss_acquire_cred")?;
        let cred = GssCred { g: self, h };
        if mech == SPNEGO {
            let mut ntlm = oid_desc(NTLMSSP);
            let mut only = OidSetDesc {
                count: 1,
                elements: &mut ntlm,
            };
            // SAFETY: `cred.h` is the credential just acquired; `only` lives for the call.
            let major = unsafe { (self.set_neg_mechs)(&mut minor, cred.h, &mut only) };
            self.check(major, minor, "gss_set_neg_mechs")?;
        }
        Ok(cred)
    }

    /// One `gss_init_sec_context` step: the output token and whether the context is complete.
    pub fn init_step(
        &self,
        cred: &GssCred<'_>,
        ctx: &mut GssCtx<'_>,
        target: &GssName<'_>,
        mech: &'static [u8],
        input: Option<&[u8]>,
    ) -> Result<(Vec<u8>, bool), String> {
        let mut minor = 0;
        let mut oid = oid_desc(mech);
        let mut inbuf = BufferDesc {
            length: input.map_or(0, <[u8]>::len),
            value: input.map_or(null_mut(), |i| i.as_ptr() as *mut c_void),
        };
        let mut out = BufferDesc {
            length: 0,
            value: null_mut(),
        };
        let mut flags = 0u32;
        // SAFETY: every pointer is a live local or a handle this program holds; no channel bindings (NULL);
        // the input buffer points to `input` for the call only.
        let major = unsafe {
            (self.init_sec_context)(
                &mut minor,
                cred.h,
                &mut ctx.h,
                target.h,
                &mut oid,
                REQ_FLAGS,
                0,
                null_mut(),
                &mut inbuf,
                null_mut(),
                &mut out,
                &mut flags,
                null_mut(),
            )
        };
        let token = self.take_buffer(&mut out);
        self.check(major, minor, "gss_init_sec_context")?;
        Ok((token, major & 0xffff != GSS_S_CONTINUE_NEEDED))
    }

    /// One `gss_accept_sec_context` step: the output token, whether complete, and the initiator's name
    /// once complete.
    pub fn accept_step(
        &self,
        ctx: &mut GssCtx<'_>,
        cred: Option<&GssCred<'_>>,
        input: &[u8],
    ) -> Result<(Vec<u8>, bool, Option<String>), String> {
        let mut minor = 0;
        let mut inbuf = BufferDesc {
            length: input.len(),
            value: input.as_ptr() as *mut c_void,
        };
        let mut out = BufferDesc {
            length: 0,
            value: null_mut(),
        };
        let mut src: Handle = null_mut();
        // SAFETY: as for init_step; `src` receives a name this function releases below.
        let major = unsafe {
            (self.accept_sec_context)(
                &mut minor,
                &mut ctx.h,
                cred.map_or(null_mut(), |c| c.h),
                &mut inbuf,
                null_mut(),
                &mut src,
                null_mut(),
                &mut out,
                null_mut(),
                null_mut(),
                null_mut(),
            )
        };
        let token = self.take_buffer(&mut out);
        let name = (!src.is_null()).then(|| GssName { g: self, h: src });
        self.check(major, minor, "gss_accept_sec_context")?;
        let complete = major & 0xffff != GSS_S_CONTINUE_NEEDED;
        let shown = match (&name, complete) {
            (Some(n), true) => Some(self.display_name(n)?),
            _ => None,
        };
        Ok((token, complete, shown))
    }

    /// `gss_display_name`.
    pub fn display_name(&self, name: &GssName<'_>) -> Result<String, String> {
        let mut minor = 0;
        let mut buf = BufferDesc {
            length: 0,
            value: null_mut(),
        };
        // SAFETY: `name.h` is a live name; the output type pointer may be NULL.
        let major = unsafe { (self.display_name)(&mut minor, name.h, &mut buf, null_mut()) };
        let text = self.take_buffer(&mut buf);
        self.check(major, minor, "gss_display_name")?;
        Ok(String::from_utf8_lossy(&text).into_owned())
    }

    /// `gss_wrap` (sealed) on one side, `gss_unwrap` on the other: returns the unwrapped bytes.
    pub fn wrap_unwrap(
        &self,
        from: &GssCtx<'_>,
        to: &GssCtx<'_>,
        msg: &[u8],
    ) -> Result<Vec<u8>, String> {
        let mut minor = 0;
        let mut inbuf = BufferDesc {
            length: msg.len(),
            value: msg.as_ptr() as *mut c_void,
        };
        let mut wrapped = BufferDesc {
            length: 0,
            value: null_mut(),
        };
        let mut conf = 0i32;
        // SAFETY: live context handles and locals; `msg` is only read.
        let major = unsafe {
            (self.wrap)(
                &mut minor,
                from.h,
                1,
                0,
                &mut inbuf,
                &mut conf,
                &mut wrapped,
            )
        };
        let token = self.take_buffer(&mut wrapped);
        self.check(major, minor, "gss_wrap")?;
        let mut tbuf = BufferDesc {
            length: token.len(),
            value: token.as_ptr() as *mut c_void,
        };
        let mut plain = BufferDesc {
            length: 0,
            value: null_mut(),
        };
        // SAFETY: as above; `token` outlives the call.
        let major = unsafe {
            (self.unwrap)(
                &mut minor,
                to.h,
                &mut tbuf,
                &mut plain,
                &mut conf,
                null_mut(),
            )
        };
        let out = self.take_buffer(&mut plain);
        self.check(major, minor, "gss_unwrap")?;
        Ok(out)
    }

    /// An empty context handle (GSS_C_NO_CONTEXT).
    pub fn new_context(&self) -> GssCtx<'_> {
        GssCtx {
            g: self,
            h: null_mut(),
        }
    }
}

/// A `gss_name_t`, released on drop.
pub struct GssName<'a> {
    g: &'a Mechglue,
    h: Handle,
}

impl Drop for GssName<'_> {
    fn drop(&mut self) {
        let mut minor = 0;
        // SAFETY: `h` was returned by the mechglue and is released once.
        unsafe { (self.g.release_name)(&mut minor, &mut self.h) };
    }
}

/// A `gss_cred_id_t`, released on drop.
pub struct GssCred<'a> {
    g: &'a Mechglue,
    h: Handle,
}

impl Drop for GssCred<'_> {
    fn drop(&mut self) {
        let mut minor = 0;
        // SAFETY: `h` was returned by the mechglue and is released once.
        unsafe { (self.g.release_cred)(&mut minor, &mut self.h) };
    }
}

/// A `gss_ctx_id_t`, deleted on drop.
pub struct GssCtx<'a> {
    g: &'a Mechglue,
    h: Handle,
}

impl Drop for GssCtx<'_> {
    fn drop(&mut self) {
        if self.h.is_null() {
            return;
        }
        let mut minor = 0;
        // SAFETY: `h` is a context the mechglue created; deleted once, no output token requested.
        unsafe { (self.g.delete_sec_context)(&mut minor, &mut self.h, null_mut()) };
    }
}
