//! Host facts through libc: host name, passwd lookups, and the plugin configuration read from the environment.

use crate::creds::config::{Config, ENV_VARS};
use crate::names::NameSystem;
use core::ffi::{c_char, CStr};
use std::ffi::CString;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

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

/// How long a host name read with `gethostname(2)` is used before it is read again. Every context needs it (the
/// configuration's cache key, the acceptor's DNS names) and the system call cost ~0.7 µs on the project's
/// virtual machines, three times per handshake; a host renamed under a running process is seen within this time.
const HOSTNAME_TTL: Duration = Duration::from_secs(1);

/// The host name as `gethostname(2)` last gave it, and when it was read.
struct HostName {
    read_at: Option<Instant>,
    /// `None`: gethostname failed.
    len: Option<usize>,
    buf: [u8; 256],
}

impl HostName {
    const UNREAD: HostName = HostName {
        read_at: None,
        len: None,
        buf: [0; 256],
    };

    fn read(&mut self, now: Instant) {
        let mut buf = [0u8; 256];
        // SAFETY: buf is writable for buf.len() bytes; gethostname writes at most that many.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast::<c_char>(), buf.len()) };
        self.len = (rc == 0).then(|| buf.iter().position(|&b| b == 0).unwrap_or(buf.len()));
        self.buf = buf;
        self.read_at = Some(now);
    }
}

/// Calls `f` with the host name's bytes (`None` when `gethostname(2)` fails), read again only when this
/// thread's last reading is older than [`HOSTNAME_TTL`]. Kept per thread: threads share no lock or cache line
/// for it.
fn with_hostname<R>(f: impl FnOnce(Option<&[u8]>) -> R) -> R {
    use std::cell::RefCell;
    thread_local! {
        static HOST: RefCell<HostName> = const { RefCell::new(HostName::UNREAD) };
    }
    let now = Instant::now();
    let kept = HOST.try_with(|cell| {
        let mut h = cell.try_borrow_mut().ok()?;
        if !h
            .read_at
            .is_some_and(|at| now.duration_since(at) < HOSTNAME_TTL)
        {
            h.read(now);
        }
        Some((h.buf, h.len))
    });
    // Without the thread's copy (a call from a thread-local destructor at thread exit): read, not kept.
    let (buf, len) = kept.ok().flatten().unwrap_or_else(|| {
        let mut h = HostName::UNREAD;
        h.read(now);
        (h.buf, h.len)
    });
    f(len.and_then(|n| buf.get(..n)))
}

/// `gethostname(2)`, read at most once per [`HOSTNAME_TTL`] by each thread.
pub(crate) fn hostname() -> Option<String> {
    with_hostname(|h| String::from_utf8(h?.to_vec()).ok())
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
    with_hostname(|h| push(h.unwrap_or_default(), h.is_some()))?;
    with_env_values(&ENV_VARS, |values| {
        for v in values {
            push(v.unwrap_or_default(), v.is_some())?;
        }
        Some(())
    })
}

/// Calls `f` with the values of the variables `names` in the C environment (`None` for one that is not set),
/// found in one pass over `environ` — what `getenv(3)` would return for each (the first entry of a name), where
/// one `getenv` per name would scan the whole environment once per name.
fn with_env_values<const N: usize, R>(
    names: &[&str; N],
    f: impl FnOnce(&[Option<&[u8]>; N]) -> R,
) -> R {
    extern "C" {
        static environ: *const *const c_char;
    }
    let mut found: [Option<&[u8]>; N] = [None; N];
    // SAFETY: `environ` is NULL or a NULL-terminated array of NUL-terminated strings, which stay valid until
    // the environment is changed; they are used before this function returns. (Like every reader of the C
    // environment, this races with a concurrent setenv in another thread.)
    unsafe {
        let mut entry = environ;
        while !entry.is_null() && !(*entry).is_null() {
            let e = (*entry).cast::<u8>();
            for (slot, name) in found.iter_mut().zip(names) {
                if slot.is_none() && env_entry_is(e, name.as_bytes()) {
                    // The value starts after `name=`.
                    let value = e.add(name.len() + 1).cast::<c_char>();
                    *slot = Some(CStr::from_ptr(value).to_bytes());
                    break;
                }
            }
            entry = entry.add(1);
        }
    }
    f(&found)
}

/// True when the environment entry at `e` is `name=...`. Reads no further than the first byte that differs
/// (at the latest the entry's NUL).
///
/// # Safety
/// `e` points to a NUL-terminated string.
unsafe fn env_entry_is(e: *const u8, name: &[u8]) -> bool {
    for (i, &c) in name.iter().enumerate() {
        // SAFETY: the bytes before index i matched `name`, which holds no NUL, so the string goes on to i.
        if unsafe { *e.add(i) } != c {
            return false;
        }
    }
    // SAFETY: as above: all of `name` matched, so the string goes on to index name.len().
    unsafe { *e.add(name.len()) == b'=' }
}

#[cfg(test)]
mod config_cache_tests {
    use super::*;

    #[test]
    fn one_pass_over_environ_finds_what_getenv_finds() {
        std::env::set_var("GSSNEG_T_ONEPASS_A", "one");
        std::env::set_var("GSSNEG_T_ONEPASS_AB", "two=2");
        std::env::set_var("GSSNEG_T_ONEPASS_EMPTY", "");
        let names = [
            "GSSNEG_T_ONEPASS_A",
            "GSSNEG_T_ONEPASS_AB",
            "GSSNEG_T_ONEPASS_EMPTY",
            "GSSNEG_T_ONEPASS",
            "GSSNEG_T_ONEPASS_UNSET",
            "PATH",
        ];
        let got: Vec<Option<Vec<u8>>> = with_env_values(&names, |v| {
            v.iter().map(|x| x.map(<[u8]>::to_vec)).collect()
        });
        for (name, got) in names.iter().zip(&got) {
            let c = std::ffi::CString::new(*name).unwrap();
            let want = with_env(&c, |v| v.map(<[u8]>::to_vec));
            assert_eq!(got, &want, "{name}");
        }
        assert_eq!(got[0].as_deref(), Some(&b"one"[..]));
        assert_eq!(got[1].as_deref(), Some(&b"two=2"[..]));
        assert_eq!(got[2].as_deref(), Some(&b""[..]));
        assert_eq!(got[3], None, "a prefix of a set name is not that name");
        assert_eq!(got[4], None);
    }

    #[test]
    fn hostname_is_gethostnames() {
        let mut buf = [0u8; 256];
        // SAFETY: buf is writable for its length.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        assert_eq!(rc, 0);
        let end = buf.iter().position(|&b| b == 0).unwrap();
        let want = String::from_utf8(buf[..end].to_vec()).ok();
        assert_eq!(hostname(), want);
        assert_eq!(hostname(), want, "the reading kept for HOSTNAME_TTL");
    }

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
