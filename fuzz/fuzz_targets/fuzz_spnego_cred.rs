//! Fuzzes the reader of exported interposer credentials (`spnego::export::decode_cred`, what
//! `gssi_import_cred` parses before handing the parts to the mechglue and the NTLM credential reader): no panic,
//! every part bounded, and anything accepted re-encodes to the same bytes.
#![no_main]

use gss_negotiate::spnego::export::{decode_cred, encode_cred, MAX_CRED_PART};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(parts) = decode_cred(data) else {
        return;
    };
    assert!(parts.krb5.is_some() || parts.ntlm.is_some());
    for p in [parts.krb5, parts.ntlm].into_iter().flatten() {
        assert!(p.len() <= MAX_CRED_PART);
    }
    assert_eq!(&encode_cred(&parts)[..], data);
});
