//! Fuzzes the NTLMv2 response split and NTLMv2_CLIENT_CHALLENGE decoder (MS-NLMP §2.2.2.7, §2.2.2.8): the
//! input is a whole NtChallengeResponse (NTProofStr || blob). No panic, and anything accepted round-trips.
#![no_main]

use gss_negotiate::ntlm::wire::{split_ntlmv2_response, NtlmV2ClientChallenge};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let blob = match split_ntlmv2_response(data) {
        Ok((_, blob)) => blob,
        Err(_) => data,
    };
    if let Ok(cc) = NtlmV2ClientChallenge::decode(blob) {
        assert_eq!(NtlmV2ClientChallenge::decode(&cc.encode()), Ok(cc));
    }
});
