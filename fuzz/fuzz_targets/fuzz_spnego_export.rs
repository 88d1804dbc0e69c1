//! Fuzzes the stamp parser of exported SPNEGO contexts (`spnego::export::unstamp`, the mechglue's
//! `[len][OID][token]` form that the interposer's `gssi_import_sec_context*` reads, nested as the interposer
//! writes it): no panic, the OID is bounded, and anything accepted re-stamps to the same bytes.
#![no_main]

use gss_negotiate::spnego::export::{stamp, unstamp, MAX_OID_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut token = data;
    for _ in 0..4 {
        let Some((oid, body)) = unstamp(token) else {
            return;
        };
        assert!(!oid.is_empty() && oid.len() <= MAX_OID_LEN);
        assert_eq!(stamp(oid, body), token);
        token = body;
    }
});
