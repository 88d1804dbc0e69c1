//! `#[repr(C)]` mirrors of MIT krb5's GSSAPI types (`<gssapi/gssapi.h>`, `<gssapi/gssapi_ext.h>`, RFC 2744 §3).
//! The type names are MIT's own, so the test-only generated header (tests/c) lets gcc compare our exported
//! signatures with MIT's declarations.
#![allow(non_camel_case_types)]
// Some mirrors (channel bindings, IOV, contexts) are for the context entry points wired later.
#![allow(dead_code)]

use core::ffi::{c_char, c_int, c_void};

/// `OM_uint32`.
pub type OM_uint32 = u32;
/// `gss_qop_t`.
pub type gss_qop_t = OM_uint32;
/// `gss_cred_usage_t` (an `int` in MIT's header).
pub type gss_cred_usage_t = c_int;

/// `gss_buffer_desc`.
#[repr(C)]
#[derive(Debug)]
pub struct gss_buffer_desc {
    /// Length in bytes.
    pub length: usize,
    /// The bytes (malloc'd when we return them).
    pub value: *mut c_void,
}
/// `gss_buffer_t`.
pub type gss_buffer_t = *mut gss_buffer_desc;

/// `gss_OID_desc`.
#[repr(C)]
#[derive(Debug)]
pub struct gss_OID_desc {
    /// Length of the DER content.
    pub length: OM_uint32,
    /// The DER content bytes.
    pub elements: *mut c_void,
}
/// `gss_OID`.
pub type gss_OID = *mut gss_OID_desc;
/// `gss_const_OID`.
pub type gss_const_OID = *const gss_OID_desc;

/// `gss_OID_set_desc`.
#[repr(C)]
#[derive(Debug)]
pub struct gss_OID_set_desc {
    /// Number of OIDs.
    pub count: usize,
    /// Array of `count` OIDs.
    pub elements: gss_OID,
}
/// `gss_OID_set`.
pub type gss_OID_set = *mut gss_OID_set_desc;

/// `struct gss_channel_bindings_struct`.
#[repr(C)]
#[derive(Debug)]
pub struct gss_channel_bindings_struct {
    /// Initiator address type.
    pub initiator_addrtype: OM_uint32,
    /// Initiator address.
    pub initiator_address: gss_buffer_desc,
    /// Acceptor address type.
    pub acceptor_addrtype: OM_uint32,
    /// Acceptor address.
    pub acceptor_address: gss_buffer_desc,
    /// Application data (e.g. `tls-server-end-point:` + hash).
    pub application_data: gss_buffer_desc,
}
/// `gss_channel_bindings_t`.
pub type gss_channel_bindings_t = *mut gss_channel_bindings_struct;

/// `gss_buffer_set_desc`.
#[repr(C)]
#[derive(Debug)]
pub struct gss_buffer_set_desc {
    /// Number of buffers.
    pub count: usize,
    /// Array of `count` buffers.
    pub elements: *mut gss_buffer_desc,
}
/// `gss_buffer_set_t`.
pub type gss_buffer_set_t = *mut gss_buffer_set_desc;

/// `gss_key_value_element_desc` (cred store entry).
#[repr(C)]
#[derive(Debug)]
pub struct gss_key_value_element_desc {
    /// NUL-terminated key.
    pub key: *const c_char,
    /// NUL-terminated value.
    pub value: *const c_char,
}

/// `gss_key_value_set_desc` (cred store).
#[repr(C)]
#[derive(Debug)]
pub struct gss_key_value_set_desc {
    /// Number of elements.
    pub count: OM_uint32,
    /// The elements.
    pub elements: *mut gss_key_value_element_desc,
}
/// `gss_const_key_value_set_t`.
pub type gss_const_key_value_set_t = *const gss_key_value_set_desc;

/// `gss_iov_buffer_desc`.
#[repr(C)]
#[derive(Debug)]
pub struct gss_iov_buffer_desc {
    /// `GSS_IOV_BUFFER_TYPE_*` plus flags.
    pub type_: OM_uint32,
    /// The buffer.
    pub buffer: gss_buffer_desc,
}
/// `gss_iov_buffer_t`.
pub type gss_iov_buffer_t = *mut gss_iov_buffer_desc;

/// Opaque `struct gss_name_struct`.
#[repr(C)]
pub struct gss_name_struct {
    _private: [u8; 0],
}
/// `gss_name_t`.
pub type gss_name_t = *mut gss_name_struct;
/// `gss_const_name_t`.
pub type gss_const_name_t = *const gss_name_struct;

/// Opaque `struct gss_cred_id_struct`.
#[repr(C)]
pub struct gss_cred_id_struct {
    _private: [u8; 0],
}
/// `gss_cred_id_t`.
pub type gss_cred_id_t = *mut gss_cred_id_struct;

/// Opaque `struct gss_ctx_id_struct`.
#[repr(C)]
pub struct gss_ctx_id_struct {
    _private: [u8; 0],
}
/// `gss_ctx_id_t`.
pub type gss_ctx_id_t = *mut gss_ctx_id_struct;

/// `GSS_C_INDEFINITE`.
pub const GSS_C_INDEFINITE: OM_uint32 = 0xffff_ffff;

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, offset_of, size_of};

    #[test]
    fn layouts_match_mit_gssapi_h_on_lp64() {
        // Values from <gssapi/gssapi.h> on x86_64/aarch64 (LP64); tests/c/abi_check.c checks them with gcc too.
        assert_eq!(size_of::<gss_buffer_desc>(), 16);
        assert_eq!(offset_of!(gss_buffer_desc, value), 8);
        assert_eq!(size_of::<gss_OID_desc>(), 16);
        assert_eq!(offset_of!(gss_OID_desc, elements), 8);
        assert_eq!(size_of::<gss_OID_set_desc>(), 16);
        assert_eq!(size_of::<gss_channel_bindings_struct>(), 64);
        assert_eq!(
            offset_of!(gss_channel_bindings_struct, acceptor_addrtype),
            24
        );
        assert_eq!(
            offset_of!(gss_channel_bindings_struct, application_data),
            48
        );
        assert_eq!(size_of::<gss_buffer_set_desc>(), 16);
        assert_eq!(size_of::<gss_key_value_element_desc>(), 16);
        assert_eq!(size_of::<gss_key_value_set_desc>(), 16);
        assert_eq!(offset_of!(gss_key_value_set_desc, elements), 8);
        assert_eq!(size_of::<gss_iov_buffer_desc>(), 24);
        assert_eq!(align_of::<gss_iov_buffer_desc>(), 8);
    }
}
