//! proptest strategies for SPNEGO tokens (RFC 4178 §4.2, MS-SPNG §2.2.1) and their damage, shared by
//! tests/spnego_proptest.rs and tests/spnego_picky.rs; and the SPNEGO tokens of tests/data/tokens.
#![allow(dead_code)]

use std::path::PathBuf;

use gss_negotiate::spnego::{BitString, NegHints, NegState, NegTokenInit, NegTokenResp, Oid};
use proptest::prelude::*;

pub const ALL_STATES: [NegState; 4] = [
    NegState::AcceptCompleted,
    NegState::AcceptIncomplete,
    NegState::Reject,
    NegState::RequestMic,
];

/// The SPNEGO tokens of tests/data/tokens (with `ber`: also the BER one, which never decodes), sorted.
pub fn captured_tokens(ber: bool) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tokens");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("token dir") {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.ends_with(".bin") && name.contains("spnego") && (ber || !name.contains("_ber_")) {
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

/// A change to an encoded token: the kinds of damage that reach length, tag and content decoding.
#[derive(Debug, Clone)]
pub enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
    Append(Vec<u8>),
}

pub fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len().max(1);
    match m {
        Mutation::Flip(i, mask) => {
            if let Some(b) = bytes.get_mut(i % len) {
                *b ^= (*mask).max(1);
            }
        }
        Mutation::Set(i, v) => {
            if let Some(b) = bytes.get_mut(i % len) {
                *b = *v;
            }
        }
        Mutation::Insert(i, v) => bytes.insert(i % (bytes.len() + 1), *v),
        Mutation::Remove(i) => {
            if !bytes.is_empty() {
                bytes.remove(i % len);
            }
        }
        Mutation::Truncate(i) => bytes.truncate(i % len),
        Mutation::Append(tail) => bytes.extend_from_slice(tail),
    }
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    let special = prop::sample::select(vec![
        0x00u8, 0x01, 0x02, 0x03, 0x04, 0x06, 0x0A, 0x30, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xA0, 0xA1,
        0xA2, 0xA3, 0xA4, 0xFF,
    ]);
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, m)| Mutation::Flip(i, m)),
        (any::<usize>(), special).prop_map(|(i, v)| Mutation::Set(i, v)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Mutation::Insert(i, v)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
        bytes(4).prop_map(Mutation::Append),
    ]
}

/// Any OID: first arcs 0/1 with a second arc below 40, or 2 with any second arc; up to five more, small or
/// up to 128 bits.
pub fn oid() -> impl Strategy<Value = Oid> {
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

pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

pub fn bit_string() -> impl Strategy<Value = BitString> {
    (0u8..8, prop::collection::vec(any::<u8>(), 1..5)).prop_map(|(unused, mut b)| {
        if let Some(last) = b.last_mut() {
            *last &= !((1u8 << unused) - 1);
        }
        BitString::new(unused, b).expect("padding cleared")
    })
}

/// NegTokenInit with mechanisms from `oids`; with `hints`, sometimes a NegTokenInit2 (negHints).
pub fn neg_token_init_of(
    oids: BoxedStrategy<Oid>,
    hints: bool,
) -> impl Strategy<Value = NegTokenInit> {
    let neg_hints = if hints {
        prop::option::of((prop::option::of(bytes(64)), prop::option::of(bytes(20))))
            .prop_map(|h| {
                h.map(|(hint_name, hint_address)| NegHints {
                    hint_name,
                    hint_address,
                })
            })
            .boxed()
    } else {
        Just(None).boxed()
    };
    (
        prop::collection::vec(oids, 1..5),
        prop::option::of(bit_string()),
        prop::option::of(bytes(300)),
        prop::option::of(bytes(40)),
        neg_hints,
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

pub fn neg_token_init() -> impl Strategy<Value = NegTokenInit> {
    neg_token_init_of(oid().boxed(), true)
}

/// NegTokenResp with a supportedMech from `oids`.
pub fn neg_token_resp_of(oids: BoxedStrategy<Oid>) -> impl Strategy<Value = NegTokenResp> {
    (
        prop::option::of(prop::sample::select(ALL_STATES.to_vec())),
        prop::option::of(oids),
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

pub fn neg_token_resp() -> impl Strategy<Value = NegTokenResp> {
    neg_token_resp_of(oid().boxed())
}
