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
