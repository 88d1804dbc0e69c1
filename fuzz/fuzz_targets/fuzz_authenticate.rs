//! Fuzzes the AUTHENTICATE_MESSAGE decoder (MS-NLMP §2.2.1.3) and, behind it, the NTLMv2 response split and
//! client-challenge decoder: no panic, and anything accepted round-trips.
#![no_main]

use gss_negotiate::ntlm::wire::{split_ntlmv2_response, Authenticate, NtlmV2ClientChallenge};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = Authenticate::decode(data) {
        assert_eq!(Authenticate::decode(&a.encode()).as_ref(), Ok(&a));
        if let Ok((_, blob)) = split_ntlmv2_response(&a.nt_response) {
            if let Ok(cc) = NtlmV2ClientChallenge::decode(blob) {
                assert_eq!(NtlmV2ClientChallenge::decode(&cc.encode()), Ok(cc));
            }
        }
        let _ = Authenticate::with_zeroed_mic(data);
    }
});
