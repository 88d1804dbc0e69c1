//! Winbind's cached credentials for the initiator (`wbcCtxCredentialCache`, NTLMSSP level): winbind builds the
//! AUTHENTICATE from our NEGOTIATE and the server's CHALLENGE with the password it cached at the user's logon.

use core::ffi::CStr;
use std::ffi::CString;
use std::sync::atomic::Ordering;

use zeroize::{Zeroize, Zeroizing};

use super::abi::*;
use super::{auth_failure, opt_string, NamedOutput, WbcFailure, WbcResult, Winbind};

impl Winbind {
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
        let mut info = WbcResult::<CredentialCacheInfo>::new(self);
        let mut err = WbcResult::<AuthErrorInfo>::new(self);
        self.calls.fetch_add(1, Ordering::Relaxed);
        // SAFETY: ctx is a live wbcContext used only here; params, its strings and blobs outlive the call;
        // info and err give valid out-pointers of the right types.
        let rc =
            unsafe { (self.api.ctx_credential_cache)(ctx.0, &mut params, info.out(), err.out()) };
        self.checkin(ctx, rc != WBC_ERR_WINBIND_NOT_AVAILABLE);
        if rc == WBC_ERR_SUCCESS {
            let mut v = Vec::new();
            if let Some(i) = info.get() {
                // SAFETY: i is libwbclient's result for this call; its blobs array has num_blobs entries
                // (bounded), each with a NUL-terminated name and `length` readable bytes.
                unsafe {
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
        } else if let (WBC_ERR_AUTH_ERROR, Some(e)) = (rc, err.get()) {
            Err(auth_failure(e))
        } else {
            Err(self.failure(rc))
        }
    }
}
