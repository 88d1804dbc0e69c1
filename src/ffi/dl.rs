//! Libraries the plugin opens at run time (`dlopen`) and keeps for the life of the process: MIT's mechglue
//! ([`super::mechglue`]) and Samba's libwbclient ([`super::wbclient`]). A [`Library`] is never closed, so
//! the function pointers taken from it stay valid.

use core::ffi::{c_int, c_void, CStr};

/// An open library (never `dlclose`d).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Library(*mut c_void);

impl Library {
    /// `dlopen(name, flags)`; `Err` holds `dlerror()`'s text.
    pub(crate) fn open(name: &CStr, flags: c_int) -> Result<Library, String> {
        // SAFETY: name is NUL-terminated; the handle is never closed.
        let handle = unsafe { libc::dlopen(name.as_ptr(), flags) };
        if handle.is_null() {
            Err(dlerror_text())
        } else {
            Ok(Library(handle))
        }
    }

    /// The address of `symbol`, if the library (or one it depends on) defines it.
    pub(crate) fn symbol(self, symbol: &CStr) -> Option<*mut c_void> {
        // SAFETY: self.0 is a live dlopen handle (never closed); symbol is NUL-terminated.
        let p = unsafe { libc::dlsym(self.0, symbol.as_ptr()) };
        (!p.is_null()).then_some(p)
    }

    /// `symbol` as the function pointer type `F`.
    ///
    /// # Safety
    /// `F` must be the `unsafe extern "C" fn` type of `symbol`'s C prototype.
    pub(crate) unsafe fn function<F: Copy>(self, symbol: &CStr) -> Option<F> {
        const { assert!(size_of::<F>() == size_of::<*mut c_void>()) };
        let p = self.symbol(symbol)?;
        // SAFETY: F is a function pointer type of the same size (checked above) matching the symbol's
        // prototype (caller's contract); the library stays loaded.
        Some(unsafe { std::mem::transmute_copy::<*mut c_void, F>(&p) })
    }
}

/// `dlerror()`'s text (or a fixed one when it has none).
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
