//! The interposer's entry points called directly (no mechglue in front): the OID set and attributes MIT's
//! mechglue relies on, handle checks (NULL, garbage, an NTLM handle where an interposer one is expected), and a
//! whole NTLM negotiation with per-message calls and export/import through the `gssi_*` functions.

use super::context::*;
use super::creds::*;
use super::export::*;
use super::ext::*;
use super::inquire::*;
use super::iov::*;
use super::messages::*;
use super::names::*;
use super::*;
use core::ffi::c_void;

fn buf(data: &[u8]) -> gss_buffer_desc {
    gss_buffer_desc {
        length: data.len(),
        value: data.as_ptr() as *mut c_void,
    }
}

fn empty() -> gss_buffer_desc {
    gss_buffer_desc {
        length: 0,
        value: core::ptr::null_mut(),
    }
}

/// Copies and frees an output buffer.
fn take(b: &mut gss_buffer_desc) -> Vec<u8> {
    // SAFETY: b came from write_buffer (malloc'd, `length` bytes) or is empty.
    let v = unsafe { crate::ffi::util::buffer_bytes(b) }.to_vec();
    // SAFETY: as above; free(NULL) is a no-op.
    unsafe { libc::free(b.value) };
    *b = empty();
    v
}

#[test]
fn the_interposer_names_spnego_and_says_it_negotiates() {
    let own = b"\x69\x83\x01";
    let mut o = gss_OID_desc {
        length: 3,
        elements: own.as_ptr() as *mut c_void,
    };
    // SAFETY: o is a valid OID; the set is released below.
    let set = unsafe { gss_mech_interposer(&mut o) };
    assert!(!set.is_null());
    // SAFETY: set was just made by make_oid_set.
    unsafe {
        assert_eq!((*set).count, 1);
        assert_eq!(crate::ffi::util::oid_bytes((*set).elements), Some(SPNEGO));
        crate::ffi::util::free_oid_set(set);
    }
    assert_eq!(concatenated_oid(), Some([own.as_slice(), SPNEGO].concat()));
    let (mut minor, mut attrs) = (0, core::ptr::null_mut());
    // SAFETY: outputs are live locals.
    let major = unsafe {
        gssi_inquire_attrs_for_mech(
            &mut minor,
            SPNEGO_OID.as_oid(),
            &mut attrs,
            core::ptr::null_mut(),
        )
    };
    assert_eq!(major, GSS_S_COMPLETE);
    // SAFETY: attrs was made by put_oid_set.
    unsafe {
        assert!(crate::ffi::util::set_is_null_or_contains(
            attrs,
            &crate::oids::mech_attr(4)
        ));
        crate::ffi::util::free_oid_set(attrs);
    }
}

#[test]
fn null_garbage_and_foreign_handles_are_errors_not_crashes() {
    let mut minor = 0;
    let garbage = 0x1000 as gss_name_t;
    let mut out = empty();
    // SAFETY: every pointer is NULL, a live local or a garbage handle the registry rejects unread.
    unsafe {
        assert_eq!(
            gssi_release_name(&mut minor, core::ptr::null_mut()),
            GSS_S_CALL_INACCESSIBLE_READ
        );
        let major = gssi_display_name(&mut minor, garbage, &mut out, core::ptr::null_mut());
        assert_eq!(major, GSS_S_BAD_NAME);
        // An NTLM mechanism name is not an interposer name.
        let ntlm = crate::ffi::name::name_handle(crate::names::Name::Anonymous);
        let major = gssi_display_name(&mut minor, ntlm, &mut out, core::ptr::null_mut());
        assert_eq!(major, GSS_S_BAD_NAME);
        let mut n = ntlm;
        crate::ffi::name::release_name_impl(&mut minor, &mut n);
        let mut msg = buf(b"x");
        let major = gssi_wrap(
            &mut minor,
            0x2000 as gss_ctx_id_t,
            1,
            0,
            &mut msg,
            core::ptr::null_mut(),
            &mut out,
        );
        assert_eq!(major, GSS_S_NO_CONTEXT);
        let mut ctx = core::ptr::null_mut();
        let mut tok = buf(b"\x00\x00\x00\x06\x2b\x06\x01\x05\x05\x02\x00\x00\x00\x63");
        let major =
            gssi_import_sec_context_by_mech(&mut minor, core::ptr::null_mut(), &mut tok, &mut ctx);
        assert_eq!(major, GSS_S_DEFECTIVE_TOKEN);
        assert!(ctx.is_null());
    }
}

#[test]
fn the_extensions_refuse_null_and_garbage_handles() {
    let mut minor = 0;
    let garbage = 0x3000 as gss_ctx_id_t;
    let oid = SPNEGO_OID.as_oid();
    let mut out = empty();
    let mut set: gss_buffer_set_t = core::ptr::null_mut();
    let mut iov = [gss_iov_buffer_desc {
        type_: 2,
        buffer: empty(),
    }];
    let iovp = iov.as_mut_ptr();
    // SAFETY: every pointer is NULL, a live local or a garbage handle the registry rejects unread.
    unsafe {
        assert_eq!(
            gssi_inquire_sec_context_by_oid(&mut minor, garbage, oid, &mut set),
            GSS_S_NO_CONTEXT
        );
        assert!(set.is_null());
        assert_eq!(
            gssi_inquire_sec_context_by_oid(&mut minor, garbage, oid, core::ptr::null_mut()),
            GSS_S_CALL_INACCESSIBLE_WRITE
        );
        let mut h = garbage;
        let mut v = buf(b"\0\0\0\0");
        assert_eq!(
            gssi_set_sec_context_option(&mut minor, &mut h, oid, &mut v),
            GSS_S_NO_CONTEXT
        );
        assert_eq!(
            gssi_set_sec_context_option(&mut minor, core::ptr::null_mut(), oid, &mut v),
            GSS_S_CALL_INACCESSIBLE_READ
        );
        let mut inp = buf(b"in");
        assert_eq!(
            gssi_pseudo_random(&mut minor, garbage, 0, &mut inp, 16, &mut out),
            GSS_S_NO_CONTEXT
        );
        assert_eq!(
            gssi_process_context_token(&mut minor, garbage, &mut inp),
            GSS_S_NO_CONTEXT
        );
        let n: *mut core::ffi::c_int = core::ptr::null_mut();
        let q: *mut gss_qop_t = core::ptr::null_mut();
        assert_eq!(
            gssi_wrap_iov(&mut minor, garbage, 1, 0, n, iovp, 1),
            GSS_S_NO_CONTEXT
        );
        assert_eq!(
            gssi_unwrap_iov(&mut minor, garbage, n, q, iovp, 1),
            GSS_S_NO_CONTEXT
        );
        assert_eq!(
            gssi_wrap_iov_length(&mut minor, garbage, 1, 0, n, iovp, 1),
            GSS_S_NO_CONTEXT
        );
        // A NULL array with a count, or a negative count, is refused before anything is read.
        assert_ne!(
            gssi_wrap_iov(&mut minor, garbage, 1, 0, n, core::ptr::null_mut(), 2),
            0
        );
        assert_ne!(gssi_unwrap_iov(&mut minor, garbage, n, q, iovp, -1), 0);
        assert_eq!(
            gssi_get_mic_iov(&mut minor, garbage, 0, iovp, 1),
            GSS_S_NO_CONTEXT
        );
        assert_eq!(
            gssi_verify_mic_iov(&mut minor, garbage, q, iovp, 1),
            GSS_S_NO_CONTEXT
        );
        assert_eq!(
            gssi_get_mic_iov_length(&mut minor, garbage, 0, iovp, 1),
            GSS_S_NO_CONTEXT
        );
        let mut equal = 7;
        let bad_name = 0x4000 as gss_name_t;
        assert_eq!(
            gssi_compare_name(&mut minor, bad_name, bad_name, &mut equal),
            GSS_S_BAD_NAME
        );
        assert_eq!(equal, 0);
        let mut types: gss_OID_set = core::ptr::null_mut();
        assert_eq!(gssi_inquire_names_for_mech(&mut minor, oid, &mut types), 0);
        assert_eq!((*types).count, 4);
        crate::ffi::util::free_oid_set(types);
        assert_eq!(
            gssi_inquire_names_for_mech(&mut minor, oid, core::ptr::null_mut()),
            GSS_S_CALL_INACCESSIBLE_WRITE
        );
    }
}

#[test]
fn ntlm_negotiates_through_the_gssi_functions_and_survives_export() {
    let dir = std::env::temp_dir().join(format!("gssneg-ipose-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let users = dir.join("users");
    std::fs::write(&users, "TESTDOM:testuser:Passw0rd!\n").unwrap();
    let host = crate::ffi::sys::hostname().unwrap_or_else(|| "localhost".into());
    let mut minor = 0;
    // SAFETY: every pointer is a live local or a handle made by the functions under test.
    unsafe {
        // Initiator credential: user and password.
        let (mut user, mut target) = (core::ptr::null_mut(), core::ptr::null_mut());
        let mut t = buf(b"TESTDOM\\testuser");
        assert_eq!(
            gssi_import_name(&mut minor, &mut t, core::ptr::null_mut(), &mut user),
            0
        );
        let svc = format!("host@{host}");
        let mut t = buf(svc.as_bytes());
        let mut ty = gss_OID_desc {
            length: crate::oids::NT_HOSTBASED_SERVICE.len() as u32,
            elements: crate::oids::NT_HOSTBASED_SERVICE.as_ptr() as *mut c_void,
        };
        assert_eq!(
            gssi_import_name(&mut minor, &mut t, &mut ty, &mut target),
            0
        );
        let (mut icred, mut acred) = (core::ptr::null_mut(), core::ptr::null_mut());
        let mut pw = buf(b"Passw0rd!");
        let major = gssi_acquire_cred_with_password(
            &mut minor,
            user,
            &mut pw,
            0,
            core::ptr::null_mut(),
            1,
            &mut icred,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        );
        assert_eq!(major, 0, "{}", minor_message(minor));
        // Acceptor credential: the user file from the cred store.
        let key = c"ntlmssp_keyfile";
        let val = std::ffi::CString::new(users.to_str().unwrap()).unwrap();
        let mut el = gss_key_value_element_desc {
            key: key.as_ptr(),
            value: val.as_ptr(),
        };
        let store = gss_key_value_set_desc {
            count: 1,
            elements: &mut el,
        };
        let major = gssi_acquire_cred_from(
            &mut minor,
            core::ptr::null_mut(),
            0,
            core::ptr::null_mut(),
            2,
            &store,
            &mut acred,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        );
        assert_eq!(major, 0, "{}", minor_message(minor));

        let (mut ictx, mut actx) = (core::ptr::null_mut(), core::ptr::null_mut());
        let (mut imajor, mut amajor) = (GSS_S_CONTINUE_NEEDED, GSS_S_CONTINUE_NEEDED);
        let mut token: Vec<u8> = Vec::new();
        let mut src = core::ptr::null_mut();
        let mut mech: gss_OID = core::ptr::null_mut();
        for _ in 0..4 {
            if imajor == GSS_S_CONTINUE_NEEDED {
                let (mut inp, mut out) = (buf(&token), empty());
                imajor = gssi_init_sec_context(
                    &mut minor,
                    icred,
                    &mut ictx,
                    target,
                    core::ptr::null_mut(),
                    2 | 16 | 32,
                    0,
                    core::ptr::null_mut(),
                    &mut inp,
                    core::ptr::null_mut(),
                    &mut out,
                    core::ptr::null_mut(),
                    core::ptr::null_mut(),
                );
                assert!(imajor <= 1, "init: {imajor:#x} {}", minor_message(minor));
                token = take(&mut out);
            }
            if token.is_empty() {
                break;
            }
            let (mut inp, mut out) = (buf(&token), empty());
            amajor = gssi_accept_sec_context(
                &mut minor,
                &mut actx,
                acred,
                &mut inp,
                core::ptr::null_mut(),
                &mut src,
                &mut mech,
                &mut out,
                core::ptr::null_mut(),
                core::ptr::null_mut(),
                core::ptr::null_mut(),
            );
            assert!(amajor <= 1, "accept: {amajor:#x} {}", minor_message(minor));
            token = take(&mut out);
            if token.is_empty() {
                break;
            }
        }
        assert_eq!((imajor, amajor), (0, 0));
        assert_eq!(
            crate::ffi::util::oid_bytes(mech),
            Some(crate::oids::NTLMSSP)
        );
        let mut name = empty();
        assert_eq!(
            gssi_display_name(&mut minor, src, &mut name, core::ptr::null_mut()),
            0
        );
        assert_eq!(take(&mut name), b"TESTDOM\\testuser");

        // Export the acceptor (stamped with the public SPNEGO OID), import it, and carry on with messages.
        let mut exported = empty();
        assert_eq!(
            gssi_export_sec_context(&mut minor, &mut actx, &mut exported),
            0
        );
        assert!(actx.is_null());
        let exported = take(&mut exported);
        assert_eq!(
            crate::spnego::export::unstamp(&exported).map(|s| s.0),
            Some(SPNEGO)
        );
        let mut tok = buf(&exported);
        assert_eq!(
            gssi_import_sec_context_by_mech(&mut minor, SPNEGO_OID.as_oid(), &mut tok, &mut actx),
            0
        );
        let (mut msg, mut wrapped, mut plain) = (buf(b"sealed message"), empty(), empty());
        let mut conf = 0;
        assert_eq!(
            gssi_wrap(&mut minor, ictx, 1, 0, &mut msg, &mut conf, &mut wrapped),
            0
        );
        assert_eq!(conf, 1);
        assert_eq!(
            gssi_unwrap(
                &mut minor,
                actx,
                &mut wrapped,
                &mut plain,
                &mut conf,
                core::ptr::null_mut()
            ),
            0
        );
        assert_eq!(take(&mut plain), b"sealed message");
        // A tampered MIC is refused.
        let mut mic = empty();
        let mut m = buf(b"signed");
        assert_eq!(gssi_get_mic(&mut minor, actx, 0, &mut m, &mut mic), 0);
        let mut bad = take(&mut mic);
        bad[15] ^= 1;
        let mut badb = buf(&bad);
        assert_ne!(
            gssi_verify_mic(&mut minor, ictx, &mut m, &mut badb, core::ptr::null_mut()),
            0
        );
        take(&mut wrapped);

        for c in [&mut ictx, &mut actx] {
            assert_eq!(
                gssi_delete_sec_context(&mut minor, c, core::ptr::null_mut()),
                0
            );
        }
        for n in [&mut user, &mut target, &mut src] {
            assert_eq!(gssi_release_name(&mut minor, n), 0);
        }
        for c in [&mut icred, &mut acred] {
            assert_eq!(gssi_release_cred(&mut minor, c), 0);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
