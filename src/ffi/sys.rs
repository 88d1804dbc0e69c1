//! Host facts through libc: host name, passwd lookups, and the plugin configuration read from the environment.

use crate::creds::config::{Config, ENV_VARS};
use crate::names::NameSystem;
use core::ffi::{c_char, CStr};
use std::ffi::CString;
use std::sync::{Arc, RwLock};

/// The libc-backed [`NameSystem`].
pub(crate) struct LibcSystem;

impl NameSystem for LibcSystem {
    fn hostname(&self) -> Option<String> {
        hostname()
    }
    fn user_of_uid(&self, uid: u32) -> Option<String> {
        passwd_name(|pwd, buf, len, res| {
            // SAFETY: pwd, buf (of len bytes) and res point to live locals of passwd_name.
            unsafe { libc::getpwuid_r(uid, pwd, buf, len, res) }
        })
    }
}

/// `gethostname(2)`.
pub(crate) fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for buf.len() bytes; gethostname writes at most that many.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast::<c_char>(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8(buf.get(..end)?.to_vec()).ok()
}

/// `getpwnam_r(3)`: the canonical account name for `name`, if the account exists.
pub(crate) fn local_account(name: &str) -> Option<String> {
    let cname = CString::new(name).ok()?;
    passwd_name(|pwd, buf, len, res| {
        // SAFETY: cname is NUL-terminated and outlives the call; the other pointers are passwd_name's locals.
        unsafe { libc::getpwnam_r(cname.as_ptr(), pwd, buf, len, res) }
    })
}

fn passwd_name(
    mut call: impl FnMut(*mut libc::passwd, *mut c_char, usize, *mut *mut libc::passwd) -> i32,
) -> Option<String> {
    let mut len = 1024usize;
    while len <= 1 << 20 {
        let mut buf = vec![0 as c_char; len];
        // SAFETY: an all-zero passwd is a valid value (pointers NULL, integers 0).
        let mut pwd: libc::passwd = unsafe { core::mem::zeroed() };
        let mut res: *mut libc::passwd = core::ptr::null_mut();
        let rc = call(&mut pwd, buf.as_mut_ptr(), len, &mut res);
        if rc == libc::ERANGE {
            len *= 4;
            continue;
        }
        if rc != 0 || res.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        // SAFETY: on success pw_name points to a NUL-terminated string inside buf, alive here.
        let name = unsafe { CStr::from_ptr(pwd.pw_name) };
        return name.to_str().ok().map(String::from);
    }
    None
}

/// Calls `f` with the value of the environment variable `name` as bytes (`None` when unset), without copying
/// or allocating: for checks on every negotiation (`GSS_NEGOTIATE_POLICY`, `GSS_NEGOTIATE_AUDIT`).
pub(crate) fn with_env<R>(name: &CStr, f: impl FnOnce(Option<&[u8]>) -> R) -> R {
    // SAFETY: `name` is NUL-terminated. getenv returns NULL or a NUL-terminated string that stays valid until
    // the environment is changed; it is used before this function returns. (Like every reader of the C
    // environment, this races with a concurrent setenv in another thread.)
    let v = unsafe { libc::getenv(name.as_ptr()) };
    if v.is_null() {
        f(None)
    } else {
        // SAFETY: as above.
        f(Some(unsafe { CStr::from_ptr(v) }.to_bytes()))
    }
}

/// The plugin configuration (for new contexts and credentials): [`Config::from_env`], rebuilt only when one of its variables
/// ([`ENV_VARS`]) or the host name changed since the last call. Comparing them reads the environment and the
/// host name into a per-thread buffer that is reused (no allocation, nothing to clear after the first call);
/// values longer than [`MAX_CONFIG_KEY`] in all skip the cache.
pub(crate) fn config() -> Arc<Config> {
    use std::cell::RefCell;
    static CACHE: RwLock<Option<(Vec<u8>, Arc<Config>)>> = RwLock::new(None);
    thread_local! {
        static KEY: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    // try_with: a call from a thread-local destructor (thread exit) gets the uncached path, not a panic.
    let cached = KEY.try_with(|key| {
        let mut key = key.try_borrow_mut().ok()?;
        config_key(&mut key)?;
        if let Ok(guard) = CACHE.read() {
            if let Some((k, c)) = guard.as_ref() {
                if *k == *key {
                    return Some(c.clone());
                }
            }
        }
        let cfg = Arc::new(Config::from_env(hostname()));
        if let Ok(mut guard) = CACHE.write() {
            *guard = Some((key.clone(), cfg.clone()));
        }
        Some(cfg)
    });
    cached
        .ok()
        .flatten()
        .unwrap_or_else(|| Arc::new(Config::from_env(hostname())))
}

/// The longest configuration key cached (host name and variables).
const MAX_CONFIG_KEY: usize = 16 * 1024;

/// Writes `host NUL (flag value NUL)*` for the host name and each of [`ENV_VARS`] into `out` (cleared first);
/// `None` when it would exceed [`MAX_CONFIG_KEY`].
fn config_key(out: &mut Vec<u8>) -> Option<()> {
    out.clear();
    let mut push = |bytes: &[u8], present: bool| -> Option<()> {
        if out.len() + bytes.len() + 2 > MAX_CONFIG_KEY {
            return None;
        }
        out.push(u8::from(present));
        out.extend_from_slice(bytes);
        out.push(0);
        Some(())
    };
    let mut host = [0u8; 256];
    // SAFETY: host is writable for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(host.as_mut_ptr().cast(), host.len()) };
    let hlen = host.iter().position(|&b| b == 0).unwrap_or(host.len());
    push(host.get(..hlen).unwrap_or_default(), rc == 0)?;
    for name in ENV_VARS {
        let mut cname = [0u8; 64];
        cname
            .get_mut(..name.len())?
            .copy_from_slice(name.as_bytes());
        // SAFETY: cname is NUL-terminated (names are shorter than the buffer). getenv returns NULL or a
        // NUL-terminated string that stays valid until the environment is changed; it is copied at once.
        // (Like every reader of the C environment, this races with a concurrent setenv in another thread.)
        let v = unsafe { libc::getenv(cname.as_ptr().cast()) };
        if v.is_null() {
            push(&[], false)?;
        } else {
            // SAFETY: as above.
            push(unsafe { core::ffi::CStr::from_ptr(v) }.to_bytes(), true)?;
        }
    }
    Some(())
}

#[cfg(test)]
mod config_cache_tests {
    use super::*;

    #[test]
    fn config_is_cached_and_rebuilt_when_a_variable_changes() {
        let a = config();
        let b = config();
        assert!(Arc::ptr_eq(&a, &b), "same environment: the cached config");
        // LM_COMPAT_LEVEL=3 is the default level: other tests in this process see no difference.
        let before = std::env::var_os("LM_COMPAT_LEVEL");
        let other = if before.as_deref() == Some(std::ffi::OsStr::new("3")) {
            "03"
        } else {
            "3"
        };
        std::env::set_var("LM_COMPAT_LEVEL", other);
        let c = config();
        assert!(
            !Arc::ptr_eq(&a, &c),
            "a changed variable rebuilds the config"
        );
        assert_eq!(c.lm_compat_level, 3);
        assert!(Arc::ptr_eq(&c, &config()));
        match before {
            Some(v) => std::env::set_var("LM_COMPAT_LEVEL", v),
            None => std::env::remove_var("LM_COMPAT_LEVEL"),
        }
        let mut long = Vec::new();
        assert!(config_key(&mut long).is_some());
        assert!(long.len() < MAX_CONFIG_KEY);
    }
}
