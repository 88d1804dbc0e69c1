//! The C side of libwbclient as Samba 4.x's `wbclient.h` declares it (interface 0.15, x86-64): the structs
//! this binding passes or reads, their constants, and the function pointer types the loader resolves. The
//! layouts were checked with `offsetof` when written; the test below pins them.

use core::ffi::{c_char, c_int, c_void};

pub(super) const WBC_ERR_SUCCESS: c_int = 0;
pub(super) const WBC_ERR_WINBIND_NOT_AVAILABLE: c_int = 6;
pub(super) const WBC_ERR_AUTH_ERROR: c_int = 10;
pub(super) const WBC_AUTH_USER_LEVEL_RESPONSE: c_int = 3;
/// MSV1_0_ALLOW_WORKSTATION_TRUST_ACCOUNT | MSV1_0_ALLOW_SERVER_TRUST_ACCOUNT, as Samba's ntlm_auth passes them.
pub(super) const PARAMETER_CONTROL: u32 = 0x0000_0800 | 0x0000_0020;

#[repr(C)]
pub(super) struct Response {
    pub(super) challenge: [u8; 8],
    pub(super) nt_length: u32,
    pub(super) nt_data: *const u8,
    pub(super) lm_length: u32,
    pub(super) lm_data: *const u8,
}

/// `struct wbcAuthUserParams` with its `password` union as the `response` member (the union's largest).
#[repr(C)]
pub(super) struct AuthUserParams {
    pub(super) account_name: *const c_char,
    pub(super) domain_name: *const c_char,
    pub(super) workstation_name: *const c_char,
    pub(super) flags: u32,
    pub(super) parameter_control: u32,
    pub(super) level: c_int,
    pub(super) response: Response,
}

#[repr(C)]
pub(super) struct DomainSid {
    pub(super) sid_rev_num: u8,
    pub(super) num_auths: u8,
    pub(super) id_auth: [u8; 6],
    pub(super) sub_auths: [u32; 15],
}

#[repr(C)]
pub(super) struct SidWithAttr {
    pub(super) sid: DomainSid,
    pub(super) attributes: u32,
}

#[repr(C)]
pub(super) struct AuthUserInfo {
    pub(super) user_flags: u32,
    pub(super) account_name: *mut c_char,
    pub(super) user_principal: *mut c_char,
    pub(super) full_name: *mut c_char,
    pub(super) domain_name: *mut c_char,
    pub(super) dns_domain_name: *mut c_char,
    pub(super) acct_flags: u32,
    pub(super) user_session_key: [u8; 16],
    pub(super) lm_session_key: [u8; 8],
    pub(super) logon_count: u16,
    pub(super) bad_password_count: u16,
    pub(super) times: [u64; 6],
    pub(super) strings: [*mut c_char; 5],
    pub(super) num_sids: u32,
    pub(super) sids: *mut SidWithAttr,
}

#[repr(C)]
pub(super) struct AuthErrorInfo {
    pub(super) nt_status: u32,
    pub(super) nt_string: *mut c_char,
    pub(super) pam_error: i32,
    pub(super) display_string: *mut c_char,
    pub(super) authoritative: u8,
}

/// `struct wbcDomainInfo`.
#[repr(C)]
pub(super) struct DomainInfo {
    pub(super) short_name: *mut c_char,
    pub(super) dns_name: *mut c_char,
    pub(super) sid: DomainSid,
    pub(super) domain_flags: u32,
    pub(super) trust_flags: u32,
    pub(super) trust_type: u32,
    pub(super) trust_routing: *mut c_char,
}

/// `struct wbcTranslatedName`.
#[repr(C)]
pub(super) struct TranslatedName {
    pub(super) sid_type: c_int,
    pub(super) name: *mut c_char,
    pub(super) domain_index: c_int,
}

/// `struct wbcBlob`.
#[repr(C)]
pub(super) struct Blob {
    pub(super) data: *mut u8,
    pub(super) length: usize,
}

/// `struct wbcNamedBlob`.
#[repr(C)]
pub(super) struct NamedBlob {
    pub(super) name: *const c_char,
    pub(super) flags: u32,
    pub(super) blob: Blob,
}

/// `struct wbcCredentialCacheParams`.
#[repr(C)]
pub(super) struct CredentialCacheParams {
    pub(super) account_name: *const c_char,
    pub(super) domain_name: *const c_char,
    pub(super) level: c_int,
    pub(super) num_blobs: usize,
    pub(super) blobs: *mut NamedBlob,
}

/// `struct wbcCredentialCacheInfo`.
#[repr(C)]
pub(super) struct CredentialCacheInfo {
    pub(super) num_blobs: usize,
    pub(super) blobs: *mut NamedBlob,
}

/// `WBC_CREDENTIAL_CACHE_LEVEL_NTLMSSP`.
pub(super) const CREDENTIAL_CACHE_LEVEL_NTLMSSP: c_int = 1;

/// `WBC_SID_NAME_UNKNOWN`.
pub(super) const SID_NAME_UNKNOWN: c_int = 8;
/// Most SIDs resolved in one request (a token has at most 1015 group SIDs on Windows).
pub(super) const MAX_LOOKUP_SIDS: usize = 1024;

#[repr(C)]
pub(super) struct InterfaceDetails {
    pub(super) interface_version: u32,
    pub(super) winbind_version: *mut c_char,
    pub(super) winbind_separator: c_char,
    pub(super) netbios_name: *mut c_char,
    pub(super) netbios_domain: *mut c_char,
    pub(super) dns_domain: *mut c_char,
}

pub(super) type CtxCreate = unsafe extern "C" fn() -> *mut c_void;
pub(super) type CtxFree = unsafe extern "C" fn(*mut c_void);
pub(super) type CtxAuth = unsafe extern "C" fn(
    *mut c_void,
    *const AuthUserParams,
    *mut *mut AuthUserInfo,
    *mut *mut AuthErrorInfo,
) -> c_int;
pub(super) type CtxDetails = unsafe extern "C" fn(*mut c_void, *mut *mut InterfaceDetails) -> c_int;
pub(super) type CtxLookupSids = unsafe extern "C" fn(
    *mut c_void,
    *const DomainSid,
    c_int,
    *mut *mut DomainInfo,
    *mut c_int,
    *mut *mut TranslatedName,
) -> c_int;
pub(super) type CtxGetpwsid =
    unsafe extern "C" fn(*mut c_void, *const DomainSid, *mut *mut libc::passwd) -> c_int;
pub(super) type CtxCredentialCache = unsafe extern "C" fn(
    *mut c_void,
    *mut CredentialCacheParams,
    *mut *mut CredentialCacheInfo,
    *mut *mut AuthErrorInfo,
) -> c_int;
pub(super) type FreeMemory = unsafe extern "C" fn(*mut c_void);
pub(super) type ErrorString = unsafe extern "C" fn(c_int) -> *const c_char;

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
}
