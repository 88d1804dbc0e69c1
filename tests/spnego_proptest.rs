//! Property tests for the SPNEGO codec (RFC 4178 §4.2, MS-SPNG §2.2.1) and its strict DER (X.690 §10):
//! decoding never panics on arbitrary or mutated bytes, whatever decodes re-encodes to the same bytes (DER is
//! canonical), and generated tokens survive encode → decode unchanged.

use gss_negotiate::spnego::{Framing, Oid, SpnegoToken};
use proptest::prelude::*;

mod spnego_strategies;
use spnego_strategies::*;

/// Decoding must not panic; anything that decodes must re-encode canonically.
fn check_decode(bytes: &[u8]) {
    let Ok((token, framing)) = SpnegoToken::decode_framed(bytes) else {
        return;
    };
    assert_eq!(SpnegoToken::decode(&token.encode()), Ok(token.clone()));
    let canonical = match &token {
        // The only non-canonical layout accepted: NegTokenInit2's [4] mechListMIC without negHints.
        SpnegoToken::Init(init) => init.neg_hints.is_some() || init.mech_list_mic.is_none(),
        SpnegoToken::Resp(_) => true,
    };
    if canonical {
        let again = match framing {
            Framing::GssInitialContextToken => token.encode(),
            Framing::Bare => token.encode_negotiation_token(),
        };
        assert_eq!(
            again, bytes,
            "accepted bytes are not the canonical DER of what they decode to"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(b in bytes(600)) {
        check_decode(&b);
    }

    #[test]
    fn decode_never_panics_on_bytes_behind_a_spnego_tag(
        first in prop::sample::select(vec![0x60u8, 0xA0, 0xA1]),
        len in any::<u8>(),
        rest in bytes(300),
    ) {
        let mut b = vec![first, len];
        b.extend(rest);
        check_decode(&b);
    }

    #[test]
    fn decode_never_panics_on_mutated_captured_tokens(
        pick in any::<prop::sample::Index>(),
        muts in prop::collection::vec(mutation(), 1..6),
    ) {
        let tokens = captured_tokens(false);
        let mut b = pick.get(&tokens).clone();
        for m in &muts {
            apply(&mut b, m);
        }
        check_decode(&b);
    }

    #[test]
    fn generated_negtokeninit_round_trips(init in neg_token_init()) {
        let token = SpnegoToken::Init(init);
        let wire = token.encode();
        prop_assert_eq!(SpnegoToken::decode_framed(&wire), Ok((token.clone(), Framing::GssInitialContextToken)));
        let bare = token.encode_negotiation_token();
        prop_assert_eq!(SpnegoToken::decode_framed(&bare), Ok((token, Framing::Bare)));
    }

    #[test]
    fn generated_negtokenresp_round_trips(resp in neg_token_resp()) {
        let token = SpnegoToken::Resp(resp);
        let wire = token.encode();
        prop_assert_eq!(SpnegoToken::decode(&wire), Ok(token));
    }

    #[test]
    fn oid_round_trips_through_dotted_and_der(o in oid()) {
        prop_assert_eq!(Oid::from_dotted(&o.to_dotted()), Ok(o.clone()));
        prop_assert_eq!(Oid::from_der_content(o.as_der_content()), Ok(o.clone()));
        prop_assert_eq!(Oid::from_arcs(&o.arcs()), Ok(o));
    }

    #[test]
    fn oid_der_decoding_never_panics(b in bytes(64)) {
        if let Ok(o) = Oid::from_der_content(&b) {
            prop_assert_eq!(o.as_der_content(), &b[..]);
            prop_assert_eq!(Oid::from_dotted(&o.to_dotted()), Ok(o));
        }
    }
}
