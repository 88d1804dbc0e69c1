//! Fuzz target for the SPNEGO codec (RFC 4178 §4.2, MS-SPNG §2.2.1) and its strict DER reader: decoding must
//! never panic, and whatever decodes must re-encode to a token that decodes to the same value.
#![no_main]

use gss_negotiate::spnego::{Framing, Oid, SpnegoToken};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((token, framing)) = SpnegoToken::decode_framed(data) {
        let wire = token.encode();
        assert_eq!(SpnegoToken::decode(&wire).as_ref(), Ok(&token));
        if framing == Framing::Bare {
            let bare = token.encode_negotiation_token();
            assert_eq!(SpnegoToken::decode(&bare).as_ref(), Ok(&token));
        }
    }
    if let Ok(oid) = Oid::from_der_content(data) {
        assert_eq!(oid.as_der_content(), data);
        assert_eq!(Oid::from_dotted(&oid.to_dotted()).as_ref(), Ok(&oid));
    }
});
