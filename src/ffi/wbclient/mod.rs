//! Samba's libwbclient, loaded at run time (`dlopen("libwbclient.so.0")`), so the plugin loads on a machine
//! without Samba and says that winbind is absent only when a logon needs it.
//!
//! One call per logon: `wbcCtxAuthenticateUserEx` at `WBC_AUTH_USER_LEVEL_RESPONSE` (the server challenge and
//! the client's NT/LM responses; winbindd passes them to the domain controller's NetLogon). Each
//! `wbcContext` keeps its connection to winbindd open, and contexts are pooled: a logon borrows one and
//! returns it, so a busy acceptor makes one round trip per logon over connections opened once.
//!
//! Parts: the C layouts of `wbclient.h` ([`abi`]), SIDs and their requests ([`sids`]), winbind's cached
//! credentials for the initiator ([`ccache`]); here the loader, the pool of contexts, the logon itself and the
//! machine's domain.

use super::dl::Library;
use core::ffi::{c_char, c_int, c_void, CStr};
use std::ffi::CString;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use zeroize::{Zeroize, Zeroizing};

/// The library's name (its soname; Debian package libwbclient0).
pub const LIBWBCLIENT: &str = "libwbclient.so.0";

mod abi;
mod ccache;
mod sids;

use abi::*;
use sids::sid_string;

/// A result libwbclient allocates for one call (`T` is its type in `wbclient.h`), released with `wbcFreeMemory`
/// exactly once, when this is dropped. Invariant: the pointer is NULL or what a libwbclient call stored
/// through [`WbcResult::out`], not yet freed.
struct WbcResult<T> {
    ptr: *mut T,
    free: FreeMemory,
}

impl<T> WbcResult<T> {
    fn new(wb: &Winbind) -> Self {
        WbcResult {
            ptr: std::ptr::null_mut(),
            free: wb.api.free_memory,
        }
    }

    /// The out-pointer to pass to the libwbclient function that returns a `T` there (and nowhere else).
    fn out(&mut self) -> *mut *mut T {
        &mut self.ptr
    }

    fn get(&self) -> Option<&T> {
        // SAFETY: by the invariant, a non-NULL pointer is a live `T` allocated by libwbclient.
        unsafe { self.ptr.as_ref() }
    }

    fn get_mut(&mut self) -> Option<&mut T> {
        // SAFETY: as in `get`; this value is its only owner.
        unsafe { self.ptr.as_mut() }
    }
}

impl<T> Drop for WbcResult<T> {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: by the invariant, allocated by libwbclient and not yet freed; freed once, here.
            unsafe { (self.free)(self.ptr.cast()) };
        }
    }
}

/// The domain controller's refusal as libwbclient reports it.
fn auth_failure(e: &AuthErrorInfo) -> WbcFailure {
    WbcFailure::Auth {
        nt_status: e.nt_status,
        nt_string: opt_string(e.nt_string).unwrap_or_default(),
        display: opt_string(e.display_string).unwrap_or_default(),
    }
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

fn load(name: &str) -> Result<Winbind, String> {
    let cname = CString::new(name).map_err(|_| "library name contains NUL".to_string())?;
    let lib = Library::open(&cname, libc::RTLD_NOW | libc::RTLD_LOCAL).map_err(|e| {
        format!(
            "winbind is absent: cannot load {name} ({e}); install Samba's winbind and libwbclient0"
        )
    })?;
    let missing = |s: &CStr| {
        format!(
            "winbind is unusable: {name} has no {} (libwbclient older than 0.12?)",
            s.to_string_lossy()
        )
    };
    // Each use is inside the `unsafe` block below, whose SAFETY comment covers `Library::function`'s contract.
    macro_rules! f {
        ($s:literal) => {
            lib.function($s).ok_or_else(|| missing($s))?
        };
    }
    // SAFETY: each field's type is the C prototype (wbclient.h) of the libwbclient function of that name,
    // as `Library::function` requires; the library is never closed.
    let api = unsafe {
        Api {
            ctx_create: f!(c"wbcCtxCreate"),
            ctx_free: f!(c"wbcCtxFree"),
            ctx_auth: f!(c"wbcCtxAuthenticateUserEx"),
            ctx_details: f!(c"wbcCtxInterfaceDetails"),
            ctx_lookup_sids: f!(c"wbcCtxLookupSids"),
            ctx_getpwsid: f!(c"wbcCtxGetpwsid"),
            ctx_credential_cache: f!(c"wbcCtxCredentialCache"),
            free_memory: f!(c"wbcFreeMemory"),
            error_string: f!(c"wbcErrorString"),
        }
    };
    set_client_name(lib);
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
fn set_client_name(lib: Library) {
    type SetClientProcessName = unsafe extern "C" fn(*const c_char);
    // SAFETY: the type is `void wbcSetClientProcessName(const char *name)` (wbclient.h, WBCLIENT_0.15).
    let set = unsafe { lib.function::<SetClientProcessName>(c"wbcSetClientProcessName") };
    // SAFETY: glibc initialises program_invocation_short_name before any code runs and never frees it.
    let name = unsafe { program_invocation_short_name };
    if let (Some(set), false) = (set, name.is_null()) {
        // SAFETY: libwbclient copies the NUL-terminated name into its own buffer.
        unsafe { set(name) };
    }
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
        let mut info = WbcResult::<AuthUserInfo>::new(self);
        let mut err = WbcResult::<AuthErrorInfo>::new(self);
        self.calls.fetch_add(1, Ordering::Relaxed);
        // SAFETY: ctx is a live wbcContext used only here; params and the strings/slices it points to outlive
        // the call (libwbclient only reads them); info and err give valid out-pointers of the right types.
        let rc = unsafe { (self.api.ctx_auth)(ctx.0, &params, info.out(), err.out()) };
        self.checkin(ctx, rc != WBC_ERR_WINBIND_NOT_AVAILABLE);
        self.take_result(rc, &mut info, &err)
    }

    fn take_result(
        &self,
        rc: c_int,
        info: &mut WbcResult<AuthUserInfo>,
        err: &WbcResult<AuthErrorInfo>,
    ) -> Result<WbcUser, WbcFailure> {
        match (rc, info.get_mut(), err.get()) {
            (WBC_ERR_SUCCESS, Some(i), _) => {
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
            }
            (WBC_ERR_AUTH_ERROR, _, Some(e)) => Err(auth_failure(e)),
            (WBC_ERR_SUCCESS, None, _) => Err(WbcFailure::Error {
                code: rc,
                text: "winbind reported success without logon information".into(),
            }),
            _ => Err(self.failure(rc)),
        }
    }

    /// winbind's view of this machine: (NetBIOS name, NetBIOS domain, DNS domain).
    pub fn interface_details(&self) -> Result<(String, String, String), WbcFailure> {
        let ctx = self.checkout()?;
        let mut d = WbcResult::<InterfaceDetails>::new(self);
        self.calls.fetch_add(1, Ordering::Relaxed);
        // SAFETY: ctx is a live wbcContext used only here; d gives a valid out-pointer of the right type.
        let rc = unsafe { (self.api.ctx_details)(ctx.0, d.out()) };
        self.checkin(ctx, rc != WBC_ERR_WINBIND_NOT_AVAILABLE);
        match (rc, d.get()) {
            (WBC_ERR_SUCCESS, Some(r)) => Ok((
                opt_string(r.netbios_name).unwrap_or_default(),
                opt_string(r.netbios_domain).unwrap_or_default(),
                opt_string(r.dns_domain).unwrap_or_default(),
            )),
            _ => Err(self.failure(rc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_is_a_clear_error() {
        let err = load("libwbclient-does-not-exist.so.0")
            .err()
            .expect("cannot load");
        assert!(err.starts_with("winbind is absent: cannot load libwbclient-does-not-exist.so.0"));
    }
}
