//! Property tests for the SPNEGO codec (RFC 4178 §4.2, MS-SPNG §2.2.1) and its strict DER (X.690 §10):
//! decoding never panics on arbitrary or mutated bytes, whatever decodes re-encodes to the same bytes (DER is
//! canonical), and generated tokens survive encode → decode unchanged.

use std::path::PathBuf;

use gss_negotiate::spnego::{
    BitString, Framing, NegHints, NegState, NegTokenInit, NegTokenResp, Oid, SpnegoToken,
};
use proptest::prelude::*;

/// The DER SPNEGO tokens of the public set (the BER one is left out: it never decodes).
fn captured_tokens() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tokens");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("token dir") {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.ends_with(".bin") && name.contains("spnego") && !name.contains("_ber_") {
            out.push(std::fs::read(&path).expect("token readable"));
        }
    }
    out.sort();
    assert!(
        out.len() >= 11,
        "expected the SPNEGO tokens of tests/data/tokens"
    );
    out
}

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

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len().max(1);
    match *m {
        Mutation::Flip(i, mask) => {
            if let Some(b) = bytes.get_mut(i % len) {
                *b ^= mask.max(1);
            }
        }
        Mutation::Set(i, v) => {
            if let Some(b) = bytes.get_mut(i % len) {
                *b = v;
            }
        }
        Mutation::Insert(i, v) => bytes.insert(i % (bytes.len() + 1), v),
        Mutation::Remove(i) => {
            if !bytes.is_empty() {
                bytes.remove(i % len);
            }
        }
        Mutation::Truncate(i) => bytes.truncate(i % len),
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, m)| Mutation::Flip(i, m)),
        (
            any::<usize>(),
            prop::sample::select(vec![
                0x00, 0x30, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xA0, 0xA3, 0xFF
            ])
        )
            .prop_map(|(i, v)| Mutation::Set(i, v)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Mutation::Insert(i, v)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn oid() -> impl Strategy<Value = Oid> {
    let head = prop_oneof![
        (0u128..2, 0u128..40),
        (Just(2u128), any::<u64>().prop_map(u128::from))
    ];
    let tail = prop::collection::vec(prop_oneof![0u128..300, any::<u128>()], 0..6);
    (head, tail).prop_map(|((a, b), rest)| {
        let mut arcs = vec![a, b];
        arcs.extend(rest);
        Oid::from_arcs(&arcs).expect("generated arcs are valid")
    })
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

fn bit_string() -> impl Strategy<Value = BitString> {
    (0u8..8, prop::collection::vec(any::<u8>(), 1..5)).prop_map(|(unused, mut b)| {
        if let Some(last) = b.last_mut() {
            *last &= !((1u8 << unused) - 1);
        }
        BitString::new(unused, b).expect("padding cleared")
    })
}

fn neg_token_init() -> impl Strategy<Value = NegTokenInit> {
    let hints = prop::option::of((prop::option::of(bytes(64)), prop::option::of(bytes(20))))
        .prop_map(|h| {
            h.map(|(hint_name, hint_address)| NegHints {
                hint_name,
                hint_address,
            })
        });
    (
        prop::collection::vec(oid(), 1..5),
        prop::option::of(bit_string()),
        prop::option::of(bytes(300)),
        prop::option::of(bytes(40)),
        hints,
    )
        .prop_map(
            |(mech_types, req_flags, mech_token, mech_list_mic, neg_hints)| NegTokenInit {
                mech_types,
                req_flags,
                mech_token,
                mech_list_mic,
                neg_hints,
            },
        )
}

fn neg_token_resp() -> impl Strategy<Value = NegTokenResp> {
    let state = prop::sample::select(vec![
        NegState::AcceptCompleted,
        NegState::AcceptIncomplete,
        NegState::Reject,
        NegState::RequestMic,
    ]);
    (
        prop::option::of(state),
        prop::option::of(oid()),
        prop::option::of(bytes(300)),
        prop::option::of(bytes(40)),
    )
        .prop_map(
            |(neg_state, supported_mech, response_token, mech_list_mic)| NegTokenResp {
                neg_state,
                supported_mech,
                response_token,
                mech_list_mic,
            },
        )
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
        let tokens = captured_tokens();
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
