//! `syslog(3)` for the audit records ([`crate::audit`]): the one libc call, facility `LOG_AUTHPRIV`.

use std::ffi::CString;

/// Sends `message` to syslog at facility `authpriv`, priority `warning` (refusals) or `notice`. Bytes that
/// C strings cannot carry (NUL) are dropped; the caller has escaped peer text already.
pub(crate) fn authpriv(warning: bool, message: &str) {
    let bytes: Vec<u8> = message.bytes().filter(|b| *b != 0).collect();
    let Ok(text) = CString::new(bytes) else {
        return;
    };
    let priority = libc::LOG_AUTHPRIV
        | if warning {
            libc::LOG_WARNING
        } else {
            libc::LOG_NOTICE
        };
    // SAFETY: the format is a NUL-terminated literal with one `%s`, matched by `text`, a NUL-terminated string
    // that outlives the call; syslog(3) is thread-safe in glibc.
    unsafe { libc::syslog(priority, c"%s".as_ptr(), text.as_ptr()) };
}
