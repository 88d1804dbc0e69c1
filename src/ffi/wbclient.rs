//! Samba's libwbclient, loaded at run time (`dlopen("libwbclient.so.0")`), so the plugin loads on a machine
//! without Samba and says that winbind is absent only when a logon needs it.
//!
//! One call per logon: `wbcCtxAuthenticateUserEx` at `WBC_AUTH_USER_LEVEL_RESPONSE` (the server challenge and
//! the client's NT/LM responses; winbindd passes them to the domain controller's NetLogon). Each
//! `wbcContext` keeps its connection to winbindd open, and contexts are pooled: a logon borrows one and
//! returns it, so a busy acceptor makes one round trip per logon over connections opened once.
//!
//! The struct layouts below are those of Samba 4.x's `wbclient.h` (interface 0.15, x86-64: checked with
//! `offsetof` when written, and by the size assertions in the tests).

use core::ffi::{c_char, c_int, c_void, CStr};
use std::ffi::CString;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use zeroize::{Zeroize, Zeroizing};

/// The library's name (its soname; Debian package libwbclient0).
pub const LIBWBCLIENT: &str = "libwbclient.so.0";

const WBC_ERR_SUCCESS: c_int = 0;
const WBC_ERR_WINBIND_NOT_AVAILABLE: c_int = 6;
const WBC_ERR_AUTH_ERROR: c_int = 10;
const WBC_AUTH_USER_LEVEL_RESPONSE: c_int = 3;
/// MSV1_0_ALLOW_WORKSTATION_TRUST_ACCOUNT | MSV1_0_ALLOW_SERVER_TRUST_ACCOUNT, as Samba's ntlm_auth passes them.
const PARAMETER_CONTROL: u32 = 0x0000_0800 | 0x0000_0020;

#[repr(C)]
struct Response {
    challenge: [u8; 8],
    nt_length: u32,
    nt_data: *const u8,
    lm_length: u32,
    lm_data: *const u8,
}

/// A response's data pointer as libwbclient wants it: NULL for an empty response (an NTLMv1 logon with
/// extended session security has no LM response). `wbcAuthenticateUserEx` refuses a zero length with a
/// non-NULL pointer (`WBC_ERR_INVALID_PARAM`), and an empty slice's pointer is never NULL.
fn data_ptr(b: &[u8]) -> *const u8 {
    if b.is_empty() {
        std::ptr::null()
    } else {
        b.as_ptr()
    }
}

/// `struct wbcAuthUserParams` with its `password` union as the `response` member (the union's largest).
#[repr(C)]
struct AuthUserParams {
    account_name: *const c_char,
    domain_name: *const c_char,
    workstation_name: *const c_char,
    flags: u32,
    parameter_control: u32,
    level: c_int,
    response: Response,
}

#[repr(C)]
struct DomainSid {
    sid_rev_num: u8,
    num_auths: u8,
    id_auth: [u8; 6],
    sub_auths: [u32; 15],
}

#[repr(C)]
struct SidWithAttr {
    sid: DomainSid,
    attributes: u32,
}

#[repr(C)]
struct AuthUserInfo {
    user_flags: u32,
    account_name: *mut c_char,
    user_principal: *mut c_char,
    full_name: *mut c_char,
    domain_name: *mut c_char,
    dns_domain_name: *mut c_char,
    acct_flags: u32,
    user_session_key: [u8; 16],
    lm_session_key: [u8; 8],
    logon_count: u16,
    bad_password_count: u16,
    times: [u64; 6],
    strings: [*mut c_char; 5],
    num_sids: u32,
    sids: *mut SidWithAttr,
}

#[repr(C)]
struct AuthErrorInfo {
    nt_status: u32,
    nt_string: *mut c_char,
    pam_error: i32,
    display_string: *mut c_char,
    authoritative: u8,
}

/// `struct wbcDomainInfo`.
#[repr(C)]
struct DomainInfo {
    short_name: *mut c_char,
    dns_name: *mut c_char,
    sid: DomainSid,
    domain_flags: u32,
    trust_flags: u32,
    trust_type: u32,
    trust_routing: *mut c_char,
}

/// `struct wbcTranslatedName`.
#[repr(C)]
struct TranslatedName {
    sid_type: c_int,
    name: *mut c_char,
    domain_index: c_int,
}

/// `struct wbcBlob`.
#[repr(C)]
struct Blob {
    data: *mut u8,
    length: usize,
}

/// `struct wbcNamedBlob`.
#[repr(C)]
struct NamedBlob {
    name: *const c_char,
    flags: u32,
    blob: Blob,
}

/// `struct wbcCredentialCacheParams`.
#[repr(C)]
struct CredentialCacheParams {
    account_name: *const c_char,
    domain_name: *const c_char,
    level: c_int,
    num_blobs: usize,
    blobs: *mut NamedBlob,
}

/// `struct wbcCredentialCacheInfo`.
#[repr(C)]
struct CredentialCacheInfo {
    num_blobs: usize,
    blobs: *mut NamedBlob,
}

/// `WBC_CREDENTIAL_CACHE_LEVEL_NTLMSSP`.
const CREDENTIAL_CACHE_LEVEL_NTLMSSP: c_int = 1;

/// `WBC_SID_NAME_UNKNOWN`.
const SID_NAME_UNKNOWN: c_int = 8;
/// Most SIDs resolved in one request (a token has at most 1015 group SIDs on Windows).
const MAX_LOOKUP_SIDS: usize = 1024;

#[repr(C)]
struct InterfaceDetails {
    interface_version: u32,
    winbind_version: *mut c_char,
    winbind_separator: c_char,
    netbios_name: *mut c_char,
    netbios_domain: *mut c_char,
    dns_domain: *mut c_char,
}

type CtxCreate = unsafe extern "C" fn() -> *mut c_void;
type CtxFree = unsafe extern "C" fn(*mut c_void);
type CtxAuth = unsafe extern "C" fn(
    *mut c_void,
    *const AuthUserParams,
    *mut *mut AuthUserInfo,
    *mut *mut AuthErrorInfo,
) -> c_int;
type CtxDetails = unsafe extern "C" fn(*mut c_void, *mut *mut InterfaceDetails) -> c_int;
type CtxLookupSids = unsafe extern "C" fn(
    *mut c_void,
    *const DomainSid,
    c_int,
    *mut *mut DomainInfo,
    *mut c_int,
    *mut *mut TranslatedName,
) -> c_int;
type CtxGetpwsid =
    unsafe extern "C" fn(*mut c_void, *const DomainSid, *mut *mut libc::passwd) -> c_int;
type CtxCredentialCache = unsafe extern "C" fn(
    *mut c_void,
    *mut CredentialCacheParams,
    *mut *mut CredentialCacheInfo,
    *mut *mut AuthErrorInfo,
) -> c_int;
type FreeMemory = unsafe extern "C" fn(*mut c_void);
type ErrorString = unsafe extern "C" fn(c_int) -> *const c_char;

struct Api {
    ctx_create: CtxCreate,
    ctx_free: CtxFree,
    ctx_auth: CtxAuth,
    ctx_details: CtxDetails,
    ctx_lookup_sids: CtxLookupSids,
    ctx_getpwsid: CtxGetpwsid,
    ctx_credential_cache: CtxCredentialCache,
    free_memory: FreeMemory,
    error_string: ErrorString,
}

/// A `wbcContext*` owned by the pool.
struct Ctx(*mut c_void);
// SAFETY: a wbcContext is used by one thread at a time (the pool hands it out under its mutex and takes it
// back after the call); libwbclient keeps no thread affinity in it.
unsafe impl Send for Ctx {}

/// The loaded library and its pool of contexts.
pub struct Winbind {
    api: Api,
    pool: Mutex<Vec<Ctx>>,
    created: AtomicUsize,
    calls: AtomicUsize,
}

/// One logon at the response level. Strings are as the client sent them.
#[derive(Debug)]
pub struct WbcLogon<'a> {
    pub account: &'a str,
    pub domain: &'a str,
    pub workstation: &'a str,
    pub challenge: [u8; 8],
    pub nt_response: &'a [u8],
    pub lm_response: &'a [u8],
}

/// What winbind says about a successful logon.
#[derive(Debug)]
pub struct WbcUser {
    /// The account name as the directory spells it.
    pub account: String,
    /// The account's NetBIOS domain.
    pub domain: String,
    /// The user session key (NTLM SessionBaseKey).
    pub user_session_key: Zeroizing<[u8; 16]>,
    /// The LM session key (the first 8 bytes of LMOWFv1).
    pub lm_session_key: Zeroizing<[u8; 8]>,
    /// The user's SID, its primary group's, then the other groups' (`S-1-5-21-…`).
    pub sids: Vec<String>,
    /// `user_flags` of the NetLogon validation info.
    pub user_flags: u32,
}

/// Why winbind could not confirm a logon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WbcFailure {
    /// libwbclient is not installed, or winbindd does not answer.
    Unavailable(String),
    /// The domain controller refused: its NT status and texts.
    Auth {
        nt_status: u32,
        nt_string: String,
        display: String,
    },
    /// Any other wbcErr.
    Error { code: i32, text: String },
}

/// One named output blob of `wbcCtxCredentialCache` (wiped when dropped).
pub type NamedOutput = (String, Zeroizing<Vec<u8>>);

/// The process's winbind binding, loaded on first use; `Err` says why winbind cannot be used.
pub fn winbind() -> Result<&'static Winbind, String> {
    static LIB: OnceLock<Result<Winbind, String>> = OnceLock::new();
    LIB.get_or_init(|| load(LIBWBCLIENT))
        .as_ref()
        .map_err(Clone::clone)
}

fn dlerror_text() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string valid until the next dl* call on this thread.
    let p = unsafe { libc::dlerror() };
    if p.is_null() {
        "unknown dlopen error".into()
    } else {
        // SAFETY: non-NULL, NUL-terminated (see above); copied at once.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

fn load(name: &str) -> Result<Winbind, String> {
    let cname = CString::new(name).map_err(|_| "library name contains NUL".to_string())?;
    // SAFETY: cname is NUL-terminated; the handle is never closed (the functions stay valid for the process).
    let handle = unsafe { libc::dlopen(cname.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(format!(
            "winbind is absent: cannot load {name} ({}); install Samba's winbind and libwbclient0",
            dlerror_text()
        ));
    }
    let sym = |s: &CStr| -> Result<*mut c_void, String> {
        // SAFETY: handle is a live dlopen handle; s is NUL-terminated.
        let p = unsafe { libc::dlsym(handle, s.as_ptr()) };
        if p.is_null() {
            Err(format!(
                "winbind is unusable: {name} has no {} (libwbclient older than 0.12?)",
                s.to_string_lossy()
            ))
        } else {
            Ok(p)
        }
    };
    // SAFETY: each transmuted symbol is the libwbclient function of that name, whose C prototype
    // (wbclient.h) the target type spells out.
    let api = unsafe {
        Api {
            ctx_create: std::mem::transmute::<*mut c_void, CtxCreate>(sym(c"wbcCtxCreate")?),
            ctx_free: std::mem::transmute::<*mut c_void, CtxFree>(sym(c"wbcCtxFree")?),
            ctx_auth: std::mem::transmute::<*mut c_void, CtxAuth>(sym(
                c"wbcCtxAuthenticateUserEx",
            )?),
            ctx_details: std::mem::transmute::<*mut c_void, CtxDetails>(sym(
                c"wbcCtxInterfaceDetails",
            )?),
            ctx_lookup_sids: std::mem::transmute::<*mut c_void, CtxLookupSids>(sym(
                c"wbcCtxLookupSids",
            )?),
            ctx_getpwsid: std::mem::transmute::<*mut c_void, CtxGetpwsid>(sym(c"wbcCtxGetpwsid")?),
            ctx_credential_cache: std::mem::transmute::<*mut c_void, CtxCredentialCache>(sym(
                c"wbcCtxCredentialCache",
            )?),
            free_memory: std::mem::transmute::<*mut c_void, FreeMemory>(sym(c"wbcFreeMemory")?),
            error_string: std::mem::transmute::<*mut c_void, ErrorString>(sym(c"wbcErrorString")?),
        }
    };
    set_client_name(handle);
    Ok(Winbind {
        api,
        pool: Mutex::new(Vec::new()),
        created: AtomicUsize::new(0),
        calls: AtomicUsize::new(0),
    })
}

extern "C" {
    /// glibc's short program name: what `getprogname()` returns.
    static program_invocation_short_name: *const c_char;
}

/// Sets libwbclient's process-wide client name once, before this process's first request. Left empty,
/// libwbclient (Samba 4.17 `wb_common.c`, `winbind_get_client_name`) fills it lazily inside every request
/// without a lock, so two threads' first concurrent requests race on that buffer (ThreadSanitizer reported
/// it: SECURITY.md). The name is the same one libwbclient would pick (`getprogname()`), so winbindd's logs
/// do not change. Runs under the loader's `OnceLock`; a libwbclient without the function is left alone.
fn set_client_name(handle: *mut c_void) {
    type SetClientProcessName = unsafe extern "C" fn(*const c_char);
    // SAFETY: handle is a live dlopen handle; the name is NUL-terminated.
    let p = unsafe { libc::dlsym(handle, c"wbcSetClientProcessName".as_ptr()) };
    // SAFETY: glibc initialises program_invocation_short_name before any code runs and never frees it.
    let name = unsafe { program_invocation_short_name };
    if p.is_null() || name.is_null() {
        return;
    }
    // SAFETY: p is libwbclient's `void wbcSetClientProcessName(const char *name)` (wbclient.h, WBCLIENT_0.15),
    // which copies the NUL-terminated name into its own buffer.
    unsafe { std::mem::transmute::<*mut c_void, SetClientProcessName>(p)(name) };
}

/// Copies a C string owned by libwbclient (NULL → None).
fn opt_string(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: non-NULL strings in libwbclient's results are NUL-terminated and live until wbcFreeMemory.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// `S-1-5-21-…` (MS-DTYP §2.4.2.1: the authority in decimal below 2^32, else in hex).
fn sid_string(sid: &DomainSid) -> String {
    let auth = sid
        .id_auth
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let mut s = if auth < (1 << 32) {
        format!("S-{}-{auth}", sid.sid_rev_num)
    } else {
        format!("S-{}-{auth:#014X}", sid.sid_rev_num)
    };
    let n = usize::from(sid.num_auths).min(sid.sub_auths.len());
    for a in sid.sub_auths.iter().take(n) {
        s.push_str(&format!("-{a}"));
    }
    s
}

/// Parses `S-1-5-21-…` (the form [`sid_string`] writes; a hex authority `0x…` too). `None` for anything else.
fn parse_sid(text: &str) -> Option<DomainSid> {
    let mut parts = text.strip_prefix("S-")?.split('-');
    let rev: u8 = parts.next()?.parse().ok()?;
    let auth_text = parts.next()?;
    let auth = match auth_text
        .strip_prefix("0x")
        .or_else(|| auth_text.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => auth_text.parse().ok()?,
    };
    if auth >= 1 << 48 {
        return None;
    }
    let mut sid = DomainSid {
        sid_rev_num: rev,
        num_auths: 0,
        id_auth: [0; 6],
        sub_auths: [0; 15],
    };
    sid.id_auth.copy_from_slice(&auth.to_be_bytes()[2..]);
    for p in parts {
        let slot = sid.sub_auths.get_mut(usize::from(sid.num_auths))?;
        *slot = p.parse().ok()?;
        sid.num_auths += 1;
    }
    Some(sid)
}

impl Winbind {
    fn checkout(&self) -> Result<Ctx, WbcFailure> {
        let pooled = match self.pool.lock() {
            Ok(mut p) => p.pop(),
            Err(poisoned) => poisoned.into_inner().pop(),
        };
        if let Some(c) = pooled {
            return Ok(c);
        }
        // SAFETY: wbcCtxCreate has no preconditions; NULL means out of memory.
        let p = unsafe { (self.api.ctx_create)() };
        if p.is_null() {
            return Err(WbcFailure::Error {
                code: 3,
                text: "wbcCtxCreate failed (out of memory)".into(),
            });
        }
        self.created.fetch_add(1, Ordering::Relaxed);
        Ok(Ctx(p))
    }

    fn checkin(&self, ctx: Ctx, keep: bool) {
        if keep {
            match self.pool.lock() {
                Ok(mut p) => p.push(ctx),
                Err(poisoned) => poisoned.into_inner().push(ctx),
            }
        } else {
            // SAFETY: ctx came from wbcCtxCreate and is no longer used by anyone.
            unsafe { (self.api.ctx_free)(ctx.0) };
        }
    }

    fn error_text(&self, code: c_int) -> String {
        // SAFETY: wbcErrorString returns a static NUL-terminated string for any code.
        opt_string(unsafe { (self.api.error_string)(code) }).unwrap_or_default()
    }

    fn failure(&self, code: c_int) -> WbcFailure {
        let text = self.error_text(code);
        if code == WBC_ERR_WINBIND_NOT_AVAILABLE {
            WbcFailure::Unavailable(format!(
                "winbindd does not answer on /run/samba/winbindd ({text})"
            ))
        } else {
            WbcFailure::Error { code, text }
        }
    }

    /// Connections (wbcContexts) opened so far in this process.
    pub fn contexts_created(&self) -> usize {
        self.created.load(Ordering::Relaxed)
    }

    /// Calls made to winbindd so far in this process.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    /// Validates one logon with the domain controller (one winbindd request).
    pub fn authenticate(&self, l: &WbcLogon<'_>) -> Result<WbcUser, WbcFailure> {
        let bad = |what: &str| WbcFailure::Error {
            code: 5,
            text: format!("{what} contains a NUL character"),
        };
        let account = CString::new(l.account).map_err(|_| bad("the user name"))?;
        let domain = CString::new(l.domain).map_err(|_| bad("the domain name"))?;
        let workstation = CString::new(l.workstation).map_err(|_| bad("the workstation name"))?;
        let len = |b: &[u8]| u32::try_from(b.len()).map_err(|_| bad("a response"));
        let params = AuthUserParams {
            account_name: account.as_ptr(),
            domain_name: domain.as_ptr(),
            workstation_name: workstation.as_ptr(),
            flags: 0,
            parameter_control: PARAMETER_CONTROL,
            level: WBC_AUTH_USER_LEVEL_RESPONSE,
            response: Response {
                challenge: l.challenge,
                nt_length: len(l.nt_response)?,
                nt_data: data_ptr(l.nt_response),
                lm_length: len(l.lm_response)?,
                lm_data: data_ptr(l.lm_response),
            },
        };
        let ctx = self.checkout()?;
        let mut info: *mut AuthUserInfo = std::ptr::null_mut();
        let mut err: *mut AuthErrorInfo = std::ptr::null_mut();
        self.calls.fetch_add(1, Ordering::Relaxed);
        // SAFETY: ctx is a live wbcContext used only here; params and the strings/slices it points to outlive
        // the call (libwbclient only reads them); info and err are valid out-pointers.
        let rc = unsafe { (self.api.ctx_auth)(ctx.0, &params, &mut info, &mut err) };
        self.checkin(ctx, rc != WBC_ERR_WINBIND_NOT_AVAILABLE);
        // SAFETY: when set, info and err point to libwbclient results that stay valid until wbcFreeMemory,
        // which is called on each exactly once below.
        unsafe { self.take_result(rc, info, err) }
    }

    /// # Safety
    /// `info` / `err` are NULL or results of the call that returned `rc`, not yet freed.
    unsafe fn take_result(
        &self,
        rc: c_int,
        info: *mut AuthUserInfo,
        err: *mut AuthErrorInfo,
    ) -> Result<WbcUser, WbcFailure> {
        let out = if rc == WBC_ERR_SUCCESS && !info.is_null() {
            // SAFETY: info is a live AuthUserInfo (caller's contract).
            let i = unsafe { &mut *info };
            let mut sids = Vec::new();
            if !i.sids.is_null() {
                let n = usize::try_from(i.num_sids).unwrap_or(0).min(4096);
                // SAFETY: sids points to num_sids entries (libwbclient's contract), bounded above.
                let all = unsafe { std::slice::from_raw_parts(i.sids, n) };
                sids = all.iter().map(|s| sid_string(&s.sid)).collect();
            }
            let user = WbcUser {
                account: opt_string(i.account_name).unwrap_or_default(),
                domain: opt_string(i.domain_name).unwrap_or_default(),
                user_session_key: Zeroizing::new(i.user_session_key),
                lm_session_key: Zeroizing::new(i.lm_session_key),
                sids,
                user_flags: i.user_flags,
            };
            i.user_session_key.zeroize();
            i.lm_session_key.zeroize();
            Ok(user)
        } else if rc == WBC_ERR_AUTH_ERROR && !err.is_null() {
            // SAFETY: err is a live AuthErrorInfo (caller's contract).
            let e = unsafe { &*err };
            Err(WbcFailure::Auth {
                nt_status: e.nt_status,
                nt_string: opt_string(e.nt_string).unwrap_or_default(),
                display: opt_string(e.display_string).unwrap_or_default(),
            })
        } else if rc == WBC_ERR_SUCCESS {
            Err(WbcFailure::Error {
                code: rc,
                text: "winbind reported success without logon information".into(),
            })
        } else {
            Err(self.failure(rc))
        };
        if !info.is_null() {
            // SAFETY: allocated by libwbclient for this call, freed once.
            unsafe { (self.api.free_memory)(info.cast()) };
        }
        if !err.is_null() {
            // SAFETY: as above.
            unsafe { (self.api.free_memory)(err.cast()) };
        }
        out
    }

    /// Resolves SIDs to (domain, name) with one winbindd request (`wbcCtxLookupSids`); `None` for a SID winbind
    /// does not know (or that does not parse). The domain is "" when winbind gives none (a Samba 4.17 DC names
    /// no domain in this answer).
    pub fn lookup_sids(
        &self,
        sids: &[String],
    ) -> Result<Vec<Option<(String, String)>>, WbcFailure> {
        let parsed: Vec<Option<DomainSid>> = sids.iter().map(|s| parse_sid(s)).collect();
        let valid: Vec<&DomainSid> = parsed.iter().flatten().take(MAX_LOOKUP_SIDS).collect();
        if valid.is_empty() {
            return Ok(vec![None; sids.len()]);
        }
        let raw: Vec<DomainSid> = valid
            .iter()
            .map(|s| DomainSid {
                sid_rev_num: s.sid_rev_num,
                num_auths: s.num_auths,
                id_auth: s.id_auth,
                sub_auths: s.sub_auths,
            })
            .collect();
        let n = c_int::try_from(raw.len()).unwrap_or(0);
        let ctx = self.checkout()?;
        let mut domains: *mut DomainInfo = std::ptr::null_mut();
        let mut num_domains: c_int = 0;
        let mut names: *mut TranslatedName = std::ptr::null_mut();
        self.calls.fetch_add(1, Ordering::Relaxed);
        // SAFETY: ctx is a live wbcContext used only here; raw holds n SIDs that outlive the call; the
        // out-pointers are valid.
        let rc = unsafe {
            (self.api.ctx_lookup_sids)(
                ctx.0,
                raw.as_ptr(),
                n,
                &mut domains,
                &mut num_domains,
                &mut names,
            )
        };
        self.checkin(ctx, rc != WBC_ERR_WINBIND_NOT_AVAILABLE);
        let result = if rc == WBC_ERR_SUCCESS && !names.is_null() {
            let nd = usize::try_from(num_domains)
                .unwrap_or(0)
                .min(MAX_LOOKUP_SIDS);
            // SAFETY: on success libwbclient returns n translated names and num_domains domains (bounded).
            let (tn, dom) = unsafe {
                (
                    std::slice::from_raw_parts(names, raw.len()),
                    if domains.is_null() {
                        &[][..]
                    } else {
                        std::slice::from_raw_parts(domains, nd)
                    },
                )
            };
            let mut resolved = tn.iter().map(|t| {
                if t.sid_type == SID_NAME_UNKNOWN {
                    return None;
                }
                let name = opt_string(t.name)?;
                let domain = usize::try_from(t.domain_index)
                    .ok()
                    .and_then(|i| dom.get(i))
                    .and_then(|d| opt_string(d.short_name))
                    .unwrap_or_default();
                Some((domain, name))
            });
            Ok(parsed
                .iter()
                .map(|p| p.as_ref().and_then(|_| resolved.next().flatten()))
                .collect())
        } else {
            Err(self.failure(rc))
        };
        // SAFETY: allocated by libwbclient for this call (with their strings), freed once each.
        unsafe {
            if !names.is_null() {
                (self.api.free_memory)(names.cast());
            }
            if !domains.is_null() {
                (self.api.free_memory)(domains.cast());
            }
        }
        result
    }

    /// The Unix account winbind maps a SID to (`wbcCtxGetpwsid`: its `pw_name`), one winbindd request.
    pub fn account_of_sid(&self, sid: &str) -> Result<String, WbcFailure> {
        let raw = parse_sid(sid).ok_or_else(|| WbcFailure::Error {
            code: 5,
            text: format!("not a SID: {sid}"),
        })?;
        let ctx = self.checkout()?;
        let mut pwd: *mut libc::passwd = std::ptr::null_mut();
        self.calls.fetch_add(1, Ordering::Relaxed);
        // SAFETY: ctx is a live wbcContext used only here; raw outlives the call; pwd is a valid out-pointer.
        let rc = unsafe { (self.api.ctx_getpwsid)(ctx.0, &raw, &mut pwd) };
        self.checkin(ctx, rc != WBC_ERR_WINBIND_NOT_AVAILABLE);
        if rc != WBC_ERR_SUCCESS || pwd.is_null() {
            return Err(self.failure(rc));
        }
        // SAFETY: pwd is libwbclient's result for this call; its pw_name is NUL-terminated; freed right after.
        let name = opt_string(unsafe { (*pwd).pw_name });
        // SAFETY: allocated by libwbclient for this call, freed once.
        unsafe { (self.api.free_memory)(pwd.cast()) };
        name.filter(|n| !n.is_empty())
            .ok_or_else(|| WbcFailure::Error {
                code: 0,
                text: "winbind returned an account without a name".into(),
            })
    }

    /// `wbcCtxCredentialCache` at the NTLMSSP level: winbind answers with the user's cached password (saved
    /// with `wbinfo --ccache-save` or at a winbind PAM logon). `blobs` are named inputs (`challenge_blob`,
    /// `negotiate_blob`; none = only ask whether credentials are cached); the result is winbind's named outputs
    /// (`auth_blob`, `session_key`, `new_spnego`), copied into wiped buffers. One winbindd request.
    pub fn credential_cache(
        &self,
        account: &str,
        domain: &str,
        blobs: &[(&CStr, &[u8])],
    ) -> Result<Vec<NamedOutput>, WbcFailure> {
        let bad = |what: &str| WbcFailure::Error {
            code: 5,
            text: format!("{what} contains a NUL character"),
        };
        let account = CString::new(account).map_err(|_| bad("the user name"))?;
        let domain = CString::new(domain).map_err(|_| bad("the domain name"))?;
        let mut named: Vec<NamedBlob> = blobs
            .iter()
            .map(|(name, data)| NamedBlob {
                name: name.as_ptr(),
                flags: 0,
                // libwbclient only reads the input blobs (the pointer is `uint8_t *` in its struct).
                blob: Blob {
                    data: data.as_ptr().cast_mut(),
                    length: data.len(),
                },
            })
            .collect();
        let mut params = CredentialCacheParams {
            account_name: account.as_ptr(),
            domain_name: domain.as_ptr(),
            level: CREDENTIAL_CACHE_LEVEL_NTLMSSP,
            num_blobs: named.len(),
            blobs: if named.is_empty() {
                std::ptr::null_mut()
            } else {
                named.as_mut_ptr()
            },
        };
        let ctx = self.checkout()?;
        let mut info: *mut CredentialCacheInfo = std::ptr::null_mut();
        let mut err: *mut AuthErrorInfo = std::ptr::null_mut();
        self.calls.fetch_add(1, Ordering::Relaxed);
        // SAFETY: ctx is a live wbcContext used only here; params, its strings and blobs outlive the call;
        // info and err are valid out-pointers.
        let rc =
            unsafe { (self.api.ctx_credential_cache)(ctx.0, &mut params, &mut info, &mut err) };
        self.checkin(ctx, rc != WBC_ERR_WINBIND_NOT_AVAILABLE);
        let out = if rc == WBC_ERR_SUCCESS {
            let mut v = Vec::new();
            if !info.is_null() {
                // SAFETY: info is libwbclient's result for this call; its blobs array has num_blobs entries
                // (bounded), each with a NUL-terminated name and `length` readable bytes.
                unsafe {
                    let i = &*info;
                    if !i.blobs.is_null() {
                        let all = std::slice::from_raw_parts(i.blobs, i.num_blobs.min(16));
                        for b in all {
                            let name = opt_string(b.name).unwrap_or_default();
                            let data = if b.blob.data.is_null() {
                                Vec::new()
                            } else {
                                std::slice::from_raw_parts(b.blob.data, b.blob.length.min(1 << 16))
                                    .to_vec()
                            };
                            v.push((name, Zeroizing::new(data)));
                            if !b.blob.data.is_null() {
                                std::slice::from_raw_parts_mut(
                                    b.blob.data,
                                    b.blob.length.min(1 << 16),
                                )
                                .zeroize();
                            }
                        }
                    }
                }
            }
            Ok(v)
        } else if rc == WBC_ERR_AUTH_ERROR && !err.is_null() {
            // SAFETY: err is a live AuthErrorInfo from this call.
            let e = unsafe { &*err };
            Err(WbcFailure::Auth {
                nt_status: e.nt_status,
                nt_string: opt_string(e.nt_string).unwrap_or_default(),
                display: opt_string(e.display_string).unwrap_or_default(),
            })
        } else {
            Err(self.failure(rc))
        };
        // SAFETY: allocated by libwbclient for this call, freed once each.
        unsafe {
            if !info.is_null() {
                (self.api.free_memory)(info.cast());
            }
            if !err.is_null() {
                (self.api.free_memory)(err.cast());
            }
        }
        out
    }

    /// winbind's view of this machine: (NetBIOS name, NetBIOS domain, DNS domain).
    pub fn interface_details(&self) -> Result<(String, String, String), WbcFailure> {
        let ctx = self.checkout()?;
        let mut d: *mut InterfaceDetails = std::ptr::null_mut();
        self.calls.fetch_add(1, Ordering::Relaxed);
        // SAFETY: ctx is a live wbcContext used only here; d is a valid out-pointer.
        let rc = unsafe { (self.api.ctx_details)(ctx.0, &mut d) };
        self.checkin(ctx, rc != WBC_ERR_WINBIND_NOT_AVAILABLE);
        if rc != WBC_ERR_SUCCESS || d.is_null() {
            return Err(self.failure(rc));
        }
        // SAFETY: d is libwbclient's result for this call, freed right after the copy.
        let out = unsafe {
            let r = &*d;
            (
                opt_string(r.netbios_name).unwrap_or_default(),
                opt_string(r.netbios_domain).unwrap_or_default(),
                opt_string(r.dns_domain).unwrap_or_default(),
            )
        };
        // SAFETY: allocated by libwbclient for this call, freed once.
        unsafe { (self.api.free_memory)(d.cast()) };
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_wbclient_h() {
        // offsetof/sizeof from Samba 4.17's wbclient.h on x86-64.
        assert_eq!(std::mem::size_of::<AuthUserParams>(), 80);
        assert_eq!(std::mem::offset_of!(AuthUserParams, level), 32);
        assert_eq!(std::mem::offset_of!(AuthUserParams, response), 40);
        assert_eq!(std::mem::size_of::<AuthUserInfo>(), 184);
        assert_eq!(std::mem::offset_of!(AuthUserInfo, acct_flags), 48);
        assert_eq!(std::mem::offset_of!(AuthUserInfo, user_session_key), 52);
        assert_eq!(std::mem::offset_of!(AuthUserInfo, lm_session_key), 68);
        assert_eq!(std::mem::offset_of!(AuthUserInfo, num_sids), 168);
        assert_eq!(std::mem::offset_of!(AuthUserInfo, sids), 176);
        assert_eq!(std::mem::size_of::<SidWithAttr>(), 72);
        assert_eq!(std::mem::size_of::<AuthErrorInfo>(), 40);
        assert_eq!(std::mem::offset_of!(AuthErrorInfo, authoritative), 32);
        assert_eq!(std::mem::size_of::<InterfaceDetails>(), 48);
        assert_eq!(std::mem::offset_of!(InterfaceDetails, netbios_name), 24);
    }

    #[test]
    fn sids_print_in_ms_dtyp_form() {
        let mut sid = DomainSid {
            sid_rev_num: 1,
            num_auths: 5,
            id_auth: [0, 0, 0, 0, 0, 5],
            sub_auths: [0; 15],
        };
        sid.sub_auths[..5].copy_from_slice(&[21, 1, 2, 3, 1103]);
        assert_eq!(sid_string(&sid), "S-1-5-21-1-2-3-1103");
        sid.num_auths = 200; // bounded by the array
        assert_eq!(sid_string(&sid).matches('-').count(), 2 + 15);
        sid.id_auth = [1, 0, 0, 0, 0, 0];
        sid.num_auths = 0;
        assert_eq!(sid_string(&sid), "S-1-0x010000000000");
    }

    #[test]
    fn sids_parse_back() {
        for text in [
            "S-1-5-21-1-2-3-1103",
            "S-1-5-32-545",
            "S-1-1-0",
            "S-1-0x010000000000",
        ] {
            let sid = parse_sid(text).expect(text);
            assert_eq!(sid_string(&sid), text);
        }
        for bad in [
            "",
            "S-1",
            "S-x-5",
            "X-1-5-1",
            "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",
            "S-1-5-1-",
        ] {
            assert!(parse_sid(bad).is_none(), "{bad}");
        }
        assert_eq!(std::mem::size_of::<TranslatedName>(), 24);
        assert_eq!(std::mem::offset_of!(TranslatedName, domain_index), 16);
        assert_eq!(std::mem::size_of::<DomainInfo>(), 104);
        assert_eq!(std::mem::size_of::<NamedBlob>(), 32);
        assert_eq!(std::mem::offset_of!(NamedBlob, blob), 16);
        assert_eq!(std::mem::size_of::<CredentialCacheParams>(), 40);
        assert_eq!(std::mem::offset_of!(CredentialCacheParams, blobs), 32);
        assert_eq!(std::mem::size_of::<CredentialCacheInfo>(), 16);
        assert_eq!(std::mem::offset_of!(DomainInfo, trust_routing), 96);
    }

    #[test]
    fn a_missing_library_is_a_clear_error() {
        let err = load("libwbclient-does-not-exist.so.0")
            .err()
            .expect("cannot load");
        assert!(err.starts_with("winbind is absent: cannot load libwbclient-does-not-exist.so.0"));
    }
}
