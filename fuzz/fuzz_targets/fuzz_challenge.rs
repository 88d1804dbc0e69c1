//! Fuzzes the CHALLENGE_MESSAGE decoder (MS-NLMP §2.2.1.2), AV pairs included: no panic, and anything
//! accepted re-encodes to a message that decodes to the same value.
#![no_main]

use gss_negotiate::ntlm::wire::Challenge;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Challenge::decode(data) {
        assert_eq!(Challenge::decode(&c.encode()), Ok(c));
    }
});
