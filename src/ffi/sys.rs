//! Host facts through libc: host name, passwd lookups.

use crate::names::NameSystem;
use core::ffi::{c_char, CStr};
use std::ffi::CString;

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
