//! Fuzzes the NEGOTIATE_MESSAGE decoder (MS-NLMP §2.2.1.1): no panic, and anything accepted re-encodes to
//! a message that decodes to the same value.
#![no_main]

use gss_negotiate::ntlm::wire::Negotiate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = Negotiate::decode(data) {
        assert_eq!(Negotiate::decode(&n.encode()), Ok(n));
    }
});
